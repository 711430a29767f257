import assert from 'node:assert/strict';
import { decodeAccounting } from '../../../../protocol/accounting.js';
import { decodeCorruptWords } from '../../../../protocol/deadletter.js';
import { EVENT_PARTS_HEADER, decodeEventRecord } from '../../../../protocol/events.js';
import { WordFault } from '../../../../protocol/index.js';
import { DEADLETTER_REASON_HEADER } from '../../../../lib/kafka.js';
import { addDeadletter, addTimeframe, noOutputs } from '../../../../agent/workloads/processor/outputs.js';
import type { AssembledTimeframe } from '../../../../agent/workloads/processor/assembler.js';
import type { TimeframeResult } from '../../../../agent/workloads/processor/kernel.js';

const fragment = (link: number, partition: number, offset: number) =>
  ({
    header: { link } as AssembledTimeframe['fragments'][number]['header'],
    words: new Uint32Array(0),
    partition,
    offset,
    timestampMs: 0,
  }) as AssembledTimeframe['fragments'][number];

describe('agent/workloads/processor/outputs', () => {
  it('gives a timeframe its event records, its corrupt words per link, its accounting and its offsets', () => {
    const tf: AssembledTimeframe = {
      run: 2,
      timeframe: 40,
      fragments: [fragment(0, 0, 11), fragment(1, 1, 12)],
      missingLinks: [3],
      complete: false,
    };
    const r: TimeframeResult = {
      run: 2,
      timeframe: 40,
      perLink: new Map([
        [0, { words: 10, hits: 8, segments: 1, corrupt: 1 }],
        [1, { words: 5, hits: 4, segments: 1, corrupt: 2 }],
      ]),
      corrupt: [
        { link: 0, index: 3, lo: 1, hi: 2, fault: WordFault.HEAD },
        { link: 1, index: 0, lo: 1, hi: 2, fault: WordFault.TDC_CHANNEL },
        { link: 1, index: 4, lo: 1, hi: 2, fault: WordFault.TDC_CHANNEL },
      ],
      events: [],
      hitsInEvents: 0,
      unassignedHits: 9,
    };
    const out = noOutputs();
    addTimeframe(out, tf, r, 1 << 20);
    // No events still makes one empty record: the writer sees every timeframe (its ranges have no holes).
    assert.equal(out.events.length, 1);
    assert.equal(decodeEventRecord(out.events[0]!.value).events.length, 0);
    assert.equal(out.events[0]!.headers?.[EVENT_PARTS_HEADER], '1');
    assert.deepEqual(
      out.deadletter.map((d) => [
        d.key,
        d.headers?.[DEADLETTER_REASON_HEADER],
        decodeCorruptWords(d.value).words.length,
      ]),
      [
        ['2-40-0', 'corrupt-words', 1],
        ['2-40-1', 'corrupt-words', 2],
      ],
    );
    assert.equal(out.monitoring.length, 1);
    assert.deepEqual(decodeAccounting(out.monitoring[0]!.value), {
      stage: 'processor',
      run: 2,
      timeframe: 40,
      links: {
        '0': { words: 10, hits: 8, segments: 1, corrupt: 1 },
        '1': { words: 5, hits: 4, segments: 1, corrupt: 2 },
      },
      missingLinks: [3],
      events: 0,
      hitsInEvents: 0,
    });
    assert.deepEqual(out.offsets, [
      { partition: 0, offset: 11 },
      { partition: 1, offset: 12 },
    ]);
  });

  it('sets a whole record aside with its reason and accounting, and marks its offset handled', () => {
    const out = noOutputs();
    addDeadletter(
      out,
      {
        topic: 't',
        key: 'k',
        value: Buffer.from('x'),
        headers: {},
        partition: 3,
        offset: '99',
        timestampMs: 0,
      },
      'late',
      'timeframe already processed',
      { run: 1, link: 0, timeframe: 5, sequence: 6, part: 0, words: 12 },
    );
    assert.equal(out.deadletter[0]!.headers?.[DEADLETTER_REASON_HEADER], 'late');
    assert.deepEqual(decodeAccounting(out.monitoring[0]!.value), {
      stage: 'deadletter',
      reason: 'late',
      run: 1,
      link: 0,
      timeframe: 5,
      sequence: 6,
      part: 0,
      words: 12,
    });
    assert.deepEqual(out.offsets, [{ partition: 3, offset: 99 }]);
  });
});
