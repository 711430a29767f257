import assert from 'node:assert/strict';
import {
  CORRUPT_WORDS_PER_RECORD,
  decodeCorruptWords,
  encodeCorruptWords,
} from '../../protocol/deadletter.js';
import { WordFault, faultField, wordFromBigInt } from '../../protocol/index.js';

describe('protocol/deadletter', () => {
  it('splits a link’s corrupt words into bounded records, each word with its field and reason', () => {
    const { lo, hi } = wordFromBigInt(0x0123456789abcdefn);
    const words = Array.from({ length: CORRUPT_WORDS_PER_RECORD + 3 }, (_x, index) => ({
      index,
      lo,
      hi,
      fault: index % 2 === 0 ? WordFault.HEAD : WordFault.BX_COUNTER,
    }));
    const records = encodeCorruptWords(4, 900, 1, words);
    assert.equal(records.length, 2);
    const [first, second] = records.map((r) => decodeCorruptWords(r.value));
    assert.equal(first!.words.length, CORRUPT_WORDS_PER_RECORD);
    assert.equal(second!.words.length, 3);
    assert.deepEqual(
      { run: second!.run, link: second!.link, timeframe: second!.timeframe },
      { run: 4, link: 1, timeframe: 900 },
    );
    assert.equal(second!.words[0]!.index, CORRUPT_WORDS_PER_RECORD);
    assert.equal(second!.words[0]!.word, '0123456789abcdef');
    assert.equal(second!.words[0]!.field, faultField(WordFault.HEAD));
    assert.ok(second!.words[0]!.reason.length > 5);
    assert.deepEqual(
      records[1]!.detail.split(',').sort(),
      [faultField(WordFault.BX_COUNTER), faultField(WordFault.HEAD)].sort(),
    );
  });

  it('makes no record of no words', () => {
    assert.deepEqual(encodeCorruptWords(1, 1, 0, []), []);
  });
});
