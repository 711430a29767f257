import assert from 'node:assert/strict';
import type { SubTimeframeHeader } from '../../../../protocol/index.js';
import {
  RECENT_INCOMPLETE,
  OffsetTracker,
  TimeframeAssembler,
  decodeHandled,
  encodeHandled,
  type Fragment,
} from '../../../../agent/workloads/processor/assembler.js';

let offset = 0;
function frag(link: number, timeframe: number, part = 0, parts = 1, partition = 0, words = 0): Fragment {
  const header: SubTimeframeHeader = {
    run: 1,
    link,
    timeframe,
    sequence: 0,
    words: 0,
    hits: 0,
    part,
    parts,
    lead: 0,
    trail: 0,
    overlapNs: 0,
  };
  return { header, words: new Uint32Array(words), partition, offset: offset++, timestampMs: 0 };
}

describe('agent/workloads/processor/assembler', () => {
  let now = 0;
  const clock = (): number => now;
  beforeEach(() => {
    now = 1000;
  });

  it('completes a timeframe when every link delivered every part, once', () => {
    const a = new TimeframeAssembler([0, 1], 2000, clock);
    assert.equal(a.add(frag(0, 5, 0, 2)), undefined);
    assert.equal(a.add(frag(0, 5, 0, 2)), undefined, 'a redelivered part is kept once');
    assert.equal(a.add(frag(1, 5)), undefined);
    const done = a.add(frag(0, 5, 1, 2));
    assert.ok(done !== undefined && done !== 'late' && done !== 'duplicate');
    assert.equal(done.complete, true);
    assert.equal(done.fragments.length, 3);
    assert.equal(
      a.add(frag(1, 5)),
      'duplicate',
      'a part handed out already, re-read after a consumer restart, is a duplicate',
    );
    // With a link it does not expect among its parts, it remembers exactly which parts went out.
    a.add(frag(2, 6, 0, 2));
    a.add(frag(0, 6));
    assert.ok(typeof a.add(frag(1, 6)) === 'object', 'complete for the links it expects');
    assert.equal(a.add(frag(2, 6, 0, 2)), 'duplicate');
    assert.equal(a.add(frag(2, 6, 1, 2)), 'late', 'the part of the unexpected link it went out without');
  });

  it('calls a part late only when its timeframe went out without it', () => {
    const a = new TimeframeAssembler([0, 1], 2000, clock);
    a.add(frag(0, 7));
    now += 2500; // link 1 silent for the whole timeout: timeframe 7 goes out incomplete
    const [tf] = a.expire();
    assert.deepEqual(tf?.missingLinks, [1]);
    assert.equal(a.add(frag(1, 7)), 'late', 'the missing part arrives after all');
    assert.equal(a.add(frag(0, 7)), 'duplicate', 'the part it went out with comes again');
  });

  it('waits for a link that is behind, but gives up on one that moved past or fell silent', () => {
    const a = new TimeframeAssembler([0, 1], 2000, clock);
    a.add(frag(1, 1)); // link 1 is alive but behind at timeframe 1
    a.add(frag(0, 7));
    now += 2500;
    a.add(frag(1, 2)); // still behind, still talking
    // Timeframe 1 lacks link 0, which is at 7 already: given up. Timeframe 7 lacks link 1, which is behind.
    assert.deepEqual(
      a.expire().map((t) => [t.timeframe, t.missingLinks]),
      [[1, [0]]],
    );
    a.add(frag(1, 8)); // link 1 moved past 7 without sending it
    const gone = a.expire();
    // Timeframe 2 (link 1 only) arrived just now: not yet old enough to give up on.
    assert.deepEqual(
      gone.map((t) => [t.timeframe, t.complete, t.missingLinks]),
      [[7, false, [1]]],
    );

    const c = new TimeframeAssembler([0, 1], 2000, clock);
    c.add(frag(0, 20, 0, 1, 2));
    now += 2500;
    c.add(frag(1, 25, 0, 1, 3)); // link 1 is past 20 on partition 3 — partition 2 may just be read late
    assert.deepEqual(c.expire(), [], 'progress on another partition proves nothing');
    c.add(frag(1, 24, 0, 1, 2)); // past 20 on its own partition: the part for 20 is not coming
    assert.deepEqual(
      c.expire().map((t) => t.timeframe),
      [20],
    );

    const b = new TimeframeAssembler([0, 1], 2000, clock);
    b.add(frag(0, 3));
    now += 1999;
    assert.deepEqual(b.expire(), []);
    now += 1;
    assert.deepEqual(
      b.expire().map((t) => t.missingLinks),
      [[1]],
      'link 1 never spoke: silent',
    );
  });

  it('says how many timeframes wait and the bytes they hold, back to 0 once handed out or dropped', () => {
    const a = new TimeframeAssembler([0, 1], 2000, clock);
    a.add(frag(0, 1, 0, 1, 0, 100));
    a.add(frag(0, 2, 0, 1, 0, 50));
    a.add(frag(0, 2, 0, 1, 0, 50)); // a redelivered part is held once
    assert.deepEqual([a.pendingCount, a.pendingBytes], [2, 600]);
    assert.ok(typeof a.add(frag(1, 1, 0, 1, 0, 10)) === 'object');
    assert.deepEqual([a.pendingCount, a.pendingBytes], [1, 200], 'timeframe 1 went out');
    a.add(frag(1, 3, 0, 1, 1, 25));
    assert.equal(a.dropPartitions(new Set([0])), 1);
    assert.deepEqual([a.pendingCount, a.pendingBytes], [1, 200], 'partition 1 revoked');
    now += 5000;
    assert.equal(a.expire().length, 1);
    assert.deepEqual([a.pendingCount, a.pendingBytes], [0, 0], 'given up on: nothing held');
  });

  it('skips parts of timeframes an earlier member handled, and drops those of revoked partitions', () => {
    const a = new TimeframeAssembler([0, 1], 2000, clock);
    a.markHandled(1, 9);
    assert.equal(a.add(frag(0, 9)), 'duplicate');
    a.add(frag(0, 10, 0, 1, 3));
    assert.equal(a.pendingCount, 1);
    assert.equal(a.dropPartitions(new Set([0, 1])), 1);
    assert.equal(a.pendingCount, 0);
  });

  it('commits below the oldest record not handled, and lists handled timeframes beyond it', () => {
    const t = new OffsetTracker();
    for (const o of [10, 11, 12, 13]) t.add(0, o);
    assert.equal(t.committable(0), 10);
    t.done(0, 11);
    t.done(0, 13);
    t.handledTimeframe(0, '1/4', 11);
    t.handledTimeframe(0, '1/6', 13);
    assert.equal(t.committable(0), 10, 'offset 10 still pending');
    assert.deepEqual(
      t.handledAhead(0, 10).map((h) => h.key),
      ['1/4', '1/6'],
    );
    t.done(0, 10);
    t.done(0, 12);
    assert.equal(t.committable(0), 14);
    assert.deepEqual(t.handledAhead(0, 14), []);
    assert.equal(t.committable(5), undefined);
  });

  it('round-trips the handled list through commit metadata, with the links a timeframe went out without', () => {
    const meta = encodeHandled(['1/4', { key: '1/6', missing: [0, 2] }, '2/1']);
    assert.equal(meta, 'v2:1:4,6-0.2;2:1');
    assert.deepEqual(decodeHandled(meta), [
      { run: 1, timeframe: 4, missing: [] },
      { run: 1, timeframe: 6, missing: [0, 2] },
      { run: 2, timeframe: 1, missing: [] },
    ]);
    assert.deepEqual(decodeHandled('v1:3:7'), [{ run: 3, timeframe: 7, missing: [] }], 'the old form');
    assert.deepEqual(decodeHandled(null), []);
    assert.deepEqual(decodeHandled('something else'), []);
  });

  it('after a rebalance calls the part of a link its timeframe went out without late, not new or duplicate', () => {
    // Member A hands timeframe 9 out without link 0, commits past its records, and loses the partition.
    const t = new OffsetTracker();
    t.add(0, 20);
    t.done(0, 20);
    t.handledTimeframe(0, '1/9', 20, [0]);
    const meta = encodeHandled(t.handledAhead(0, 21));
    assert.equal(meta, 'v2:1:9-0', 'listed although the commit is past its records');
    // Member B takes the partition over and reads link 0's part of timeframe 9 after the commit.
    const b = new TimeframeAssembler([0, 1], 2000, clock);
    for (const h of decodeHandled(meta)) b.markHandled(h.run, h.timeframe, h.missing);
    assert.equal(b.add(frag(0, 9)), 'late', 'dead-lettered and counted, never lost');
    assert.equal(b.add(frag(1, 9)), 'duplicate', 'link 1 went out with it');
    assert.equal(b.pendingCount, 0);
  });

  it('keeps only the latest RECENT_INCOMPLETE incomplete timeframes in the metadata', () => {
    const t = new OffsetTracker();
    for (let tf = 0; tf < RECENT_INCOMPLETE + 10; tf++) {
      t.add(0, tf);
      t.done(0, tf);
      t.handledTimeframe(0, `1/${tf}`, tf, [1]);
    }
    const listed = t.handledAhead(0, RECENT_INCOMPLETE + 10).map((h) => h.key);
    assert.equal(listed.length, RECENT_INCOMPLETE);
    assert.equal(listed[0], '1/10');
  });
});
