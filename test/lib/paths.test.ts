import assert from 'node:assert/strict';
import { processMemoryEnv } from '../../lib/paths.js';

describe('lib/paths', () => {
  it("starts processes with malloc's arenas limited to 2 unless the operator set them", () => {
    assert.equal(processMemoryEnv({ PATH: '/bin' })['MALLOC_ARENA_MAX'], '2');
    assert.equal(processMemoryEnv({ PATH: '/bin' })['PATH'], '/bin');
    assert.equal(processMemoryEnv({ MALLOC_ARENA_MAX: '8' })['MALLOC_ARENA_MAX'], '8');
  });
});
