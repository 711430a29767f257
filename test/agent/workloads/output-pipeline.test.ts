import assert from 'node:assert/strict';
import { OutputPipeline } from '../../../agent/workloads/output-pipeline.js';

/** A send that resolves or rejects when the test says. */
interface Held {
  readonly id: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

function harness(window: number, commitFails = new Set<number>()) {
  const held: Held[] = [];
  const log: string[] = [];
  const failures: Error[] = [];
  const pipeline = new OutputPipeline<{ id: number; partitions: number[] }>(window, {
    send: (item) =>
      new Promise<void>((resolve, reject) => {
        log.push(`send ${item.id}`);
        held.push({ id: item.id, resolve, reject });
      }),
    acknowledged: (item) => {
      log.push(`ack ${item.id}`);
      return item.partitions;
    },
    commit: async (item, p) => {
      await new Promise((r) => setImmediate(r));
      if (commitFails.has(item.id)) throw new Error(`refused ${item.id}`);
      log.push(`commit ${item.id}/${p}`);
    },
    refused: (p, err) => log.push(`refused ${p}: ${err.message}`),
    failed: (err) => failures.push(err),
  });
  return { pipeline, held, log, failures };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('agent/workloads/output-pipeline', () => {
  it('commits in the order of acknowledgement, one partition commit at a time', async () => {
    const { pipeline, held, log } = harness(4);
    await pipeline.push({ id: 1, partitions: [0, 1, 0] });
    await pipeline.push({ id: 2, partitions: [1] });
    assert.equal(pipeline.pending, 2);
    held[1]!.resolve();
    held[0]!.resolve();
    await pipeline.settle();
    assert.deepEqual(log, ['send 1', 'send 2', 'ack 2', 'ack 1', 'commit 2/1', 'commit 1/0', 'commit 1/1']);
    assert.equal(pipeline.pending, 0);
  });

  it('holds the next push while `window` deliveries are unacknowledged (backpressure)', async () => {
    const { pipeline, held, log } = harness(2);
    await pipeline.push({ id: 1, partitions: [0] });
    await pipeline.push({ id: 2, partitions: [0] });
    let third = false;
    const p3 = pipeline.push({ id: 3, partitions: [0] }).then(() => (third = true));
    await tick();
    assert.equal(third, false, 'the third waits for a free slot');
    assert.equal(log.includes('send 3'), false);
    held[0]!.resolve();
    await p3;
    assert.equal(third, true);
    held[1]!.resolve();
    held[2]!.resolve();
    await pipeline.settle();
    assert.deepEqual(
      log.filter((l) => l.startsWith('commit')),
      ['commit 1/0', 'commit 3/0'],
      'acknowledged while the first commit ran, 2 and 3 fold into one commit of the latest',
    );
  });

  it('folds the commits waiting for a partition into its latest: a slow commit holds one item per partition, not one per delivery', async () => {
    const { pipeline, held, log } = harness(1000);
    for (let id = 0; id < 500; id++) await pipeline.push({ id, partitions: [id % 2] });
    // All acknowledged at once, while the first commit runs.
    for (const h of held) h.resolve();
    await tick();
    assert.ok(pipeline.commitsWaiting <= 2, `${pipeline.commitsWaiting} partitions wait, one item each`);
    await pipeline.settle();
    const commits = log.filter((l) => l.startsWith('commit'));
    assert.ok(commits.length <= 4, commits.join(', '));
    assert.deepEqual(
      commits.slice(-2).sort(),
      ['commit 498/0', 'commit 499/1'],
      'the latest of each is committed',
    );
    assert.equal(pipeline.commitsWaiting, 0);
  });

  it('after a failed delivery tells the owner once, commits nothing more and refuses further pushes', async () => {
    const { pipeline, held, log, failures } = harness(4);
    await pipeline.push({ id: 1, partitions: [0] });
    await pipeline.push({ id: 2, partitions: [0] });
    held[0]!.reject(new Error('broker away'));
    await tick();
    held[1]!.resolve();
    await pipeline.settle();
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.message, 'broker away');
    assert.deepEqual(log, ['send 1', 'send 2'], 'the later delivery is not acknowledged into a commit');
    await assert.rejects(pipeline.push({ id: 3, partitions: [0] }), /broker away/);
  });

  it('hands a refused commit to `refused` and goes on with the next', async () => {
    const { pipeline, held, log, failures } = harness(4, new Set([1]));
    await pipeline.push({ id: 1, partitions: [7] });
    await pipeline.push({ id: 2, partitions: [7] });
    held[0]!.resolve();
    held[1]!.resolve();
    await pipeline.settle();
    assert.deepEqual(failures, []);
    assert.deepEqual(log.slice(-2), ['refused 7: refused 1', 'commit 2/7']);
  });

  it('refuses a window that sizes nothing', () => {
    assert.throws(() => harness(0), /window must be ≥ 1/);
  });
});
