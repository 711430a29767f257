import assert from 'node:assert/strict';
import type { AccountingRecord, Reconciliation } from '../../../protocol/accounting.js';
import { reconcile } from '../../../protocol/balance.js';
import { drained } from '../../../platform/dataflow/data-path.js';

interface LinkSays {
  produced: number;
  /** Words processed, in one timeframe per entry. */
  processed?: number[];
  dead?: number;
  final?: boolean;
}

let timeframe = 0;

/** A run's balance folded from the records the stages would publish for these links. */
const balance = (
  links: Record<number, LinkSays>,
  events?: { built: number; stored: number },
): Reconciliation => {
  const records: AccountingRecord[] = [];
  for (const [l, x] of Object.entries(links)) {
    const link = Number(l);
    records.push({
      stage: 'readout',
      run: 1,
      link,
      incarnation: `i${link}`,
      words: x.produced,
      hits: x.produced,
      segments: 0,
      messages: 1,
      bytes: x.produced * 8,
      timeframes: 1,
      lastSequence: 0,
      final: x.final ?? true,
    });
    for (const words of x.processed ?? [])
      records.push({
        stage: 'processor',
        run: 1,
        timeframe: timeframe++,
        links: { [link]: { words, hits: words, segments: 0, corrupt: 0 } },
        missingLinks: [],
        events: 0,
        hitsInEvents: 0,
      });
    if (x.dead !== undefined)
      records.push({
        stage: 'deadletter',
        run: 1,
        link,
        timeframe: 0,
        sequence: 1,
        part: 0,
        words: x.dead,
        reason: 'late',
      });
  }
  if (events !== undefined) {
    records.push({
      stage: 'processor',
      run: 1,
      timeframe: timeframe++,
      links: {},
      missingLinks: [],
      events: events.built,
      hitsInEvents: events.built,
    });
    records.push({ stage: 'writer', run: 1, task: 'writer', events: events.stored, hits: 0, duplicates: 0 });
  }
  return reconcile(1, records);
};

describe('platform/dataflow/data-path', () => {
  it('after the readouts stop: drained when every produced word is processed or dead-lettered, finals in', () => {
    assert.equal(drained(balance({ 0: { produced: 100, processed: [90] } }), ['readout'], false), false);
    assert.equal(
      drained(balance({ 0: { produced: 100, processed: [90], dead: 10 } }), ['readout'], false),
      true,
    );
    assert.equal(
      drained(balance({ 0: { produced: 100, processed: [100], final: false } }), ['readout'], false),
      false,
      'a readout may still report more',
    );
    assert.equal(
      drained(balance({ 0: { produced: 100, processed: [100], final: false } }), ['readout'], true),
      true,
      'an excluded readout never sends its final report',
    );
  });

  it('per link: words of a lost readout processed beyond its last report do not stand in for another link still in Kafka', () => {
    // A node holding readout-2 was lost: link 2 was processed 1838 words beyond its last report, while
    // links 0 and 1 are 84 words short of their final reports. In total processed ≥ produced; not drained.
    const r = balance({
      0: { produced: 116_660, processed: [116_615] },
      1: { produced: 116_635, processed: [116_596] },
      2: { produced: 6107, processed: [7945], final: false },
    });
    assert.ok(r.processed.words >= r.produced.words, 'the totals alone would say drained');
    assert.equal(drained(r, ['readout'], true), false);
    const caughtUp = balance({
      0: { produced: 116_660, processed: [116_615, 45] },
      1: { produced: 116_635, processed: [116_596, 39] },
      2: { produced: 6107, processed: [7945], final: false },
    });
    assert.equal(drained(caughtUp, ['readout'], true), true);
  });

  it('after the processors stop: drained when every built event is stored too', () => {
    const stopped = ['readout', 'processor'];
    const one = { 0: { produced: 1, processed: [1] } };
    assert.equal(drained(balance(one, { built: 5, stored: 4 }), stopped, false), false);
    assert.equal(drained(balance(one, { built: 5, stored: 5 }), stopped, false), true);
    assert.equal(drained(balance({ 0: { produced: 9, processed: [1] } }), ['writer'], false), true);
  });
});
