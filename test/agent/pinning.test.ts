import assert from 'node:assert/strict';
import { pinnedArgv } from '../../agent/pinning.js';

describe('agent/pinning', () => {
  const argv = ['node', 'w.js'];

  it('binds CPUs and memory with numactl when it works', () => {
    const r = pinnedArgv(argv, { cpus: [0, 1, 2, 5], memoryNode: 1 }, { numactl: true, taskset: true });
    assert.deepEqual(r.argv, ['numactl', '--physcpubind=0-2,5', '--membind=1', '--', 'node', 'w.js']);
    assert.equal(r.memoryBound, true);
    assert.equal(r.warning, undefined);
  });

  it('falls back to taskset for the CPUs and says memory is not bound', () => {
    const r = pinnedArgv(argv, { cpus: [3], memoryNode: 0 }, { numactl: false, taskset: true });
    assert.deepEqual(r.argv, ['taskset', '-c', '3', 'node', 'w.js']);
    assert.equal(r.memoryBound, false);
    assert.match(r.warning ?? '', /memory node 0 not bound/);
  });

  it('says so when it cannot pin at all, and leaves unplaced tasks alone', () => {
    assert.match(
      pinnedArgv(argv, { cpus: [0] }, { numactl: false, taskset: false }).warning ?? '',
      /not pinned/,
    );
    assert.deepEqual(pinnedArgv(argv, { cpus: [] }, { numactl: true, taskset: true }).argv, argv);
  });

  it('runs a shared task (no cores of its own) anywhere on its NUMA node, memory bound there', () => {
    const r = pinnedArgv(argv, { cpus: [], memoryNode: 1 }, { numactl: true, taskset: true });
    assert.deepEqual(r.argv, ['numactl', '--cpunodebind=1', '--membind=1', '--', 'node', 'w.js']);
    assert.equal(r.memoryBound, true);
    const weak = pinnedArgv(argv, { cpus: [], memoryNode: 1 }, { numactl: false, taskset: true });
    assert.deepEqual(weak.argv, argv);
    assert.match(weak.warning ?? '', /not bound to NUMA node 1/);
  });
});
