import assert from 'node:assert/strict';
import { DaqError, topicKinds, topicNames, validateNamespace } from '../../protocol/index.js';

describe('protocol/topics', () => {
  it('derives one topic per kind under the namespace', () => {
    const t = topicNames('env-1');
    assert.deepEqual(t, {
      rawHits: 'env-1.raw-hits',
      events: 'env-1.events',
      monitoring: 'env-1.monitoring',
      deadletter: 'env-1.deadletter',
      control: 'env-1.control',
      ers: 'env-1.ers',
    });
    assert.equal(Object.keys(t).length, topicKinds.length);
  });

  it('rejects namespaces Kafka or our parsing cannot take', () => {
    for (const bad of ['', 'a.b', 'a b', 'x'.repeat(101), 'é']) {
      assert.throws(
        () => validateNamespace(bad),
        (e: unknown) => e instanceof DaqError && e.field === 'namespace',
      );
    }
  });
});
