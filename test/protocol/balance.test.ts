import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AccountingRecord } from '../../protocol/accounting.js';
import { IntervalSet, RunBalance, reconcile } from '../../protocol/balance.js';
import { formatReconciliation } from '../../lib/reconcile.js';

const processed = (timeframe: number, words: number, missing: number[] = []): AccountingRecord => ({
  stage: 'processor',
  run: 3,
  timeframe,
  links: { '0': { words, hits: words - 1, segments: 1, corrupt: 0 } },
  missingLinks: missing,
  events: 2,
  hitsInEvents: 5,
});
const readout = (words: number, final: boolean, incarnation = 'a', link = 0): AccountingRecord => ({
  stage: 'readout',
  run: 3,
  link,
  incarnation,
  words,
  hits: words,
  segments: 0,
  messages: 1,
  bytes: words * 8,
  timeframes: 1,
  lastSequence: 0,
  final,
});

describe('protocol/balance', () => {
  it('IntervalSet holds exactly the numbers added, in as few ranges as they allow', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 200 }), { maxLength: 300 }), (ns) => {
        const s = new IntervalSet();
        const ref = new Set<number>();
        for (const n of ns) assert.equal(s.add(n), !ref.has(n) && ref.add(n) !== undefined);
        for (let n = -52; n <= 202; n++) assert.equal(s.has(n), ref.has(n), `has(${n})`);
        assert.equal(s.size(), ref.size);
        const sorted = [...ref].sort((a, b) => a - b);
        const gaps = sorted.filter((n, i) => i > 0 && n !== sorted[i - 1]! + 1).length;
        assert.equal(s.rangeCount, sorted.length === 0 ? 0 : gaps + 1);
        assert.deepEqual(IntervalSet.fromJSON(s.toJSON()).toJSON(), s.toJSON());
      }),
    );
  });

  it('keeps one range for a run processed without gaps, however long', () => {
    const b = new RunBalance(3);
    // Two processors interleaving their timeframes, and a replay of some after a crash.
    for (let tf = 0; tf < 100_000; tf += 2) {
      b.add(processed(tf, 10));
      b.add(processed(tf + 1, 10));
      if (tf % 1000 === 0 && tf > 0) b.add(processed(tf - 7, 10));
    }
    const r = b.reconciliation();
    assert.equal(r.timeframes, 100_000);
    assert.equal(r.processed.words, 1_000_000, 'replayed timeframes counted once');
    assert.equal(b.state().timeframes.length, 1, 'state bounded by gaps, not by timeframes');
  });

  it('folds to the whole-list reconciliation, also when resumed halfway from its stored state', () => {
    const late: AccountingRecord = {
      stage: 'deadletter',
      run: 3,
      link: 0,
      timeframe: 2,
      sequence: 2,
      part: 0,
      words: 10,
      reason: 'late',
    };
    const records: AccountingRecord[] = [
      readout(50, false),
      processed(0, 20),
      processed(1, 20, [1]),
      processed(0, 20),
      late,
      late, // the same dead-letter record again (a replay)
      readout(50, true),
      { stage: 'writer', run: 3, task: 'writer', events: 2, hits: 5, duplicates: 0 },
      { stage: 'writer', run: 3, task: 'writer', events: 4, hits: 10, duplicates: 0 },
    ];
    const b = new RunBalance(3);
    for (const r of records.slice(0, 5)) b.add(r);
    const resumed = new RunBalance(
      3,
      JSON.parse(JSON.stringify(b.state())) as ReturnType<RunBalance['state']>,
    );
    for (const r of records.slice(5)) resumed.add(r);
    const r = resumed.reconciliation();
    assert.deepEqual(r, reconcile(3, records));
    assert.equal(r.produced.words, 50);
    assert.equal(r.processed.words, 40);
    assert.equal(r.deadletteredWords, 10, 'a dead-letter record replayed is counted once');
    assert.equal(r.lost, 0);
    assert.equal(r.incompleteTimeframes, 1);
    assert.equal(r.events.stored, 4, 'the writer’s latest word');
    assert.equal(r.readoutFinal, true);
    assert.deepEqual(r.perLink, {
      '0': { produced: 50, processed: 40, deadlettered: 10, lost: 0, final: true, beyondReport: 0 },
    });
    assert.equal(resumed.records, records.length);
  });

  it('sums a readout’s incarnations and ignores other runs’ records', () => {
    const b = new RunBalance(3);
    b.add(readout(30, true, 'a'));
    b.add(readout(20, true, 'b'));
    b.add({ ...processed(0, 1000), run: 4 });
    const r = b.reconciliation();
    assert.equal(r.produced.words, 50);
    assert.equal(r.processed.words, 0);
    assert.equal(r.lost, 50, 'nothing of this run processed: all of it lost');
  });

  it('counts a link’s words of a timeframe once when two members each handed it out with other links', () => {
    const part = (links: Record<string, number>, missing: number[]): AccountingRecord => ({
      stage: 'processor',
      run: 3,
      timeframe: 12,
      links: Object.fromEntries(
        Object.entries(links).map(([l, w]) => [l, { words: w, hits: w, segments: 0, corrupt: 0 }]),
      ),
      missingLinks: missing,
      events: 1,
      hitsInEvents: 2,
    });
    const b = new RunBalance(3);
    b.add(readout(30, true, 'a', 0));
    b.add(readout(20, true, 'b', 1));
    b.add(part({ '1': 20 }, [0])); // member A, before a rebalance: link 0 not there yet
    b.add(part({ '0': 30 }, [1])); // member B, after it: link 0's part alone
    b.add(part({ '0': 30, '1': 20 }, [])); // a replay of the whole timeframe
    const r = b.reconciliation();
    assert.equal(r.processed.words, 50);
    assert.equal(r.lost, 0);
    assert.equal(r.timeframes, 1);
    assert.equal(r.incompleteTimeframes, 1, 'its first handing out counts for the timeframe');
    assert.deepEqual(r.perLink['0'], {
      produced: 30,
      processed: 30,
      deadlettered: 0,
      lost: 0,
      final: true,
      beyondReport: 0,
    });
  });

  it('keeps a readout lost with its node honest: counted to its last report, its later words never hide another link’s loss', () => {
    const on = (link: number, timeframe: number, words: number): AccountingRecord => ({
      stage: 'processor',
      run: 3,
      timeframe,
      links: { [String(link)]: { words, hits: words, segments: 0, corrupt: 0 } },
      missingLinks: [],
      events: 0,
      hitsInEvents: 0,
    });
    const b = new RunBalance(3);
    b.add(readout(100, false, 'a', 0)); // its node lost: the last report said 100, no final one
    b.add(readout(100, true, 'b', 1));
    b.add(on(0, 0, 100));
    b.add(on(0, 1, 30)); // sent after its last report, before the node went
    b.add(on(1, 0, 70)); // link 1: 30 words never processed
    const r = b.reconciliation();
    assert.deepEqual(r.perLink['0'], {
      produced: 100,
      processed: 130,
      deadlettered: 0,
      lost: 0,
      final: false,
      beyondReport: 30,
    });
    assert.equal(r.perLink['1']?.lost, 30);
    assert.equal(r.lost, 30, 'link 0’s 30 words beyond its report do not net out link 1’s 30 lost');
    assert.equal(r.readoutFinal, false);
    assert.match(
      formatReconciliation(r),
      /link 0: produced 100 \(no final report: to its readout's last one; 30 words processed came after it\)/,
    );
  });
});
