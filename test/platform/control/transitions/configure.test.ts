import assert from 'node:assert/strict';
import { configure } from '../../../../platform/control/transitions/configure.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/configure', () => {
  it('CONFIGURE sends each task its configuration, the namespace and Kafka, and the masks to readouts and processors', async () => {
    const env = new FakeTransitionContext(undefined, {
      placedIn: 'STANDBY',
      masks: [{ chamber: 1, layer: 2, cell: 3 }],
    });
    await configure(env);
    const sent = Object.fromEntries(
      env.payloads.map((p) => [p.task, p.payload['config'] as Record<string, unknown>]),
    );
    assert.equal(sent['ro-0']!['link'], 0);
    assert.equal(sent['writer']!['namespace'], 'ns-1');
    assert.deepEqual(sent['proc-0']!['brokers'], ['127.0.0.1:9092']);
    assert.deepEqual(sent['ro-0']!['maskedCells'], [{ chamber: 1, layer: 2, cell: 3 }]);
    assert.equal(sent['writer']!['maskedCells'], undefined, 'the writer reads no cells');
    assert.equal(
      sent['writer']!['generation'],
      1,
      'each copy its placement generation (the writer fences with it)',
    );
  });
});
