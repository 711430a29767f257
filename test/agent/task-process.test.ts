import assert from 'node:assert/strict';
import { workloadHeapFlags } from '../../agent/task-process.js';
import { processMemoryEnv } from '../../lib/paths.js';

describe('agent/task-process', () => {
  it("holds a workload's heap to half the memory it was placed with, never below what Node needs", () => {
    assert.deepEqual(workloadHeapFlags(512), ['--max-old-space-size=256']);
    assert.deepEqual(workloadHeapFlags(100), ['--max-old-space-size=64']);
    assert.deepEqual(workloadHeapFlags(0), [], 'placed without memory: no bound of ours');
    assert.deepEqual(workloadHeapFlags(undefined), []);
  });

  it("limits malloc's arenas to 2 unless the operator set them", () => {
    assert.equal(processMemoryEnv({ PATH: '/bin' })['MALLOC_ARENA_MAX'], '2');
    assert.equal(processMemoryEnv({ PATH: '/bin' })['PATH'], '/bin');
    assert.equal(processMemoryEnv({ MALLOC_ARENA_MAX: '8' })['MALLOC_ARENA_MAX'], '8');
  });
});
