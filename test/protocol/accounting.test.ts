import assert from 'node:assert/strict';
import {
  ACCOUNTING_KIND,
  KIND_HEADER,
  decodeAccounting,
  encodeAccounting,
  type AccountingRecord,
} from '../../protocol/accounting.js';
import { reconcile } from '../../protocol/balance.js';

const readout = (words: number, final: boolean): AccountingRecord => ({
  stage: 'readout',
  run: 7,
  link: 0,
  incarnation: 'a',
  words,
  hits: words - 10,
  segments: 10,
  messages: 3,
  bytes: words * 8,
  timeframes: 3,
  lastSequence: 2,
  final,
});
const processed = (timeframe: number, words: number): AccountingRecord => ({
  stage: 'processor',
  run: 7,
  timeframe,
  links: { '0': { words, hits: words, segments: 0, corrupt: 0 } },
  missingLinks: [],
  events: 1,
  hitsInEvents: 4,
});

describe('protocol/accounting', () => {
  it('encodes every stage’s record one way, keyed so that a replay republishes the same key, and reads it back', () => {
    const r = processed(12, 100);
    const e = encodeAccounting(r);
    assert.equal(e.key, 'processor/7/12');
    assert.deepEqual(e.headers, { [KIND_HEADER]: ACCOUNTING_KIND });
    assert.deepEqual(decodeAccounting(e.value), r);
    assert.equal(encodeAccounting(processed(12, 100)).key, e.key, 'the same timeframe, the same key');
    // A view into a larger buffer (as a consumer hands records out) reads the same.
    const big = Buffer.concat([Buffer.from('xx'), e.value, Buffer.from('yy')]);
    assert.deepEqual(decodeAccounting(big.subarray(2, 2 + e.value.length)), r);
  });

  it('counts a timeframe processed twice once, takes the readout’s last word, and holds lost = 0 only when it is', () => {
    const records = [
      readout(100, false),
      processed(1, 60),
      processed(1, 60),
      processed(2, 40),
      readout(100, true),
    ];
    const r = reconcile(
      7,
      records.map((x) => decodeAccounting(encodeAccounting(x).value)),
    );
    assert.equal(r.produced.words, 100);
    assert.equal(r.processed.words, 100, 'timeframe 1 replayed: counted once');
    assert.equal(r.timeframes, 2);
    assert.equal(r.readoutFinal, true);
    assert.equal(r.lost, 0);
    const short = reconcile(7, [readout(100, true), processed(1, 60)]);
    assert.equal(short.lost, 40);
    assert.equal(reconcile(8, records).produced.words, 0, 'another run’s records are not this run’s');
  });
});
