import assert from 'node:assert/strict';
import { isDaqError } from '../../protocol/errors.js';
import { heapGrowingPercent, processMemoryEnv } from '../../lib/paths.js';

describe('lib/paths', () => {
  it("starts processes with malloc's arenas limited to 2 unless the operator set them", () => {
    assert.equal(processMemoryEnv({ PATH: '/bin' })['MALLOC_ARENA_MAX'], '2');
    assert.equal(processMemoryEnv({ PATH: '/bin' })['PATH'], '/bin');
    assert.equal(processMemoryEnv({ MALLOC_ARENA_MAX: '8' })['MALLOC_ARENA_MAX'], '8');
  });

  it('grows the heap by 20 % past what stayed live unless DAQOPS_HEAP_GROWING_PERCENT says otherwise', () => {
    assert.equal(heapGrowingPercent({}), 20);
    assert.equal(heapGrowingPercent({ DAQOPS_HEAP_GROWING_PERCENT: '0' }), 0, "0: V8's own choice");
    assert.equal(heapGrowingPercent({ DAQOPS_HEAP_GROWING_PERCENT: '50' }), 50);
    for (const bad of ['-1', '401', '1.5', 'lots'])
      assert.throws(
        () => heapGrowingPercent({ DAQOPS_HEAP_GROWING_PERCENT: bad }),
        (err: unknown) =>
          isDaqError(err, 'INVALID_CONFIG') && err.message.includes('DAQOPS_HEAP_GROWING_PERCENT'),
        bad,
      );
  });
});
