import assert from 'node:assert/strict';
import { ConsumerWatch, type ConsumerStall } from '../../lib/consumer-watch.js';
import { DaqError } from '../../protocol/errors.js';

function watch(
  o: { high?: Record<number, number>; committed?: Record<number, number>; away?: boolean } = {},
) {
  let now = 0;
  const told: ConsumerStall[] = [];
  const state = { high: o.high ?? {}, committed: o.committed ?? {}, away: o.away ?? false };
  const w = new ConsumerWatch({
    stallAfterMs: 30_000,
    now: () => now,
    ends: () =>
      state.away
        ? Promise.reject(new DaqError('KAFKA_UNAVAILABLE', 'no broker'))
        : Promise.resolve(
            new Map(Object.entries(state.high).map(([p, h]) => [Number(p), { low: 0, high: h }])),
          ),
    committed: (_t, ps) => Promise.resolve(new Map(ps.map((p) => [p, state.committed[p] ?? -1001]))),
    onStalled: (s) => told.push(s),
  });
  return { w, told, state, advance: (ms: number) => (now += ms) };
}

describe('lib/consumer-watch', () => {
  it('tells of a member that hands nothing over while its partitions have records beyond where it got to', async () => {
    const { w, told, advance } = watch({ high: { 0: 500, 1: 300 } });
    w.assigned({ 'ns.events': [0, 1] });
    w.batchStarted();
    w.batchDone('ns.events', 0, 200);
    w.batchStarted();
    w.batchDone('ns.events', 1, 300);
    advance(29_999);
    assert.equal(await w.check(), undefined, 'not yet 30 s idle');
    advance(1);
    const stall = await w.check();
    assert.deepEqual(stall, {
      topic: 'ns.events',
      partitions: [{ partition: 0, at: 200, end: 500 }],
      idleMs: 30_000,
    });
    assert.equal(told.length, 1);
    advance(1000);
    assert.equal(await w.check(), undefined, 'told once per stall');
  });

  it('is quiet while a batch is being handled (backpressure), when caught up, and when Kafka is away', async () => {
    const busy = watch({ high: { 0: 500 } });
    busy.w.assigned({ t: [0] });
    busy.w.batchStarted();
    busy.advance(60_000);
    assert.equal(await busy.w.check(), undefined, 'a batch waiting on its output is not a stall');

    const caughtUp = watch({ high: { 0: 500 } });
    caughtUp.w.assigned({ t: [0] });
    caughtUp.w.batchStarted();
    caughtUp.w.batchDone('t', 0, 500);
    caughtUp.advance(60_000);
    assert.equal(await caughtUp.w.check(), undefined, 'nothing to read');

    const away = watch({ high: { 0: 500 }, away: true });
    away.w.assigned({ t: [0] });
    away.advance(60_000);
    assert.equal(await away.w.check(), undefined, 'Kafka away is an outage, not a stall');
    assert.equal(busy.told.length + caughtUp.told.length + away.told.length, 0);
  });

  it('starts a member that handed nothing over at the commit, or at the oldest record without one', async () => {
    const { w, advance, state } = watch({ high: { 0: 100, 1: 0 }, committed: { 0: 100 } });
    w.assigned({ t: [0, 1] });
    advance(60_000);
    assert.equal(await w.check(), undefined, 'committed at the end, and an empty partition');
    state.high = { 0: 120, 1: 0 };
    assert.deepEqual((await w.check())?.partitions, [{ partition: 0, at: 100, end: 120 }]);
  });

  it('a rebalance is progress, and a partition that moved away is not judged', async () => {
    const { w, advance } = watch({ high: { 0: 500, 1: 500 } });
    w.assigned({ t: [0, 1] });
    w.batchStarted();
    w.batchDone('t', 0, 100);
    advance(25_000);
    w.assigned({ t: [1] });
    advance(25_000);
    assert.equal(await w.check(), undefined, '25 s since the rebalance');
    w.batchStarted();
    w.batchDone('t', 1, 500);
    advance(30_000);
    assert.equal(await w.check(), undefined, 'partition 0 is another member’s now');
  });

  it('asks once at a time: a check waiting on a slow broker is not doubled by the next tick', async () => {
    let asked = 0;
    let answer: (m: Map<number, { low: number; high: number }>) => void = () => undefined;
    let now = 0;
    const told: ConsumerStall[] = [];
    const w = new ConsumerWatch({
      stallAfterMs: 1000,
      now: () => now,
      ends: () => {
        asked++;
        return new Promise((r) => (answer = r));
      },
      committed: () => Promise.resolve(new Map([[0, 5]])),
      onStalled: (s) => told.push(s),
    });
    w.assigned({ t: [0] });
    now = 5000;
    const first = w.check();
    assert.equal(await w.check(), undefined);
    assert.equal(asked, 1, 'the second tick did not ask again');
    answer(new Map([[0, { low: 0, high: 9 }]]));
    assert.deepEqual((await first)?.partitions, [{ partition: 0, at: 5, end: 9 }]);
    assert.equal(told.length, 1);
  });
});
