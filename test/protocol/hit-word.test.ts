import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BX_MAX,
  ChannelMap,
  DaqError,
  ORBIT_MAX,
  TDC_MAX,
  WordFault,
  WordTally,
  WordType,
  checkWord,
  decodeWord,
  faultField,
  tallyWords,
  timeNs,
  wordFromBigInt,
  wordTimeNs,
  wordToBigInt,
  wordsOf,
  writeHitWord,
  writeSegmentWord,
} from '../../protocol/index.js';

const map = ChannelMap.testbed(4);
const mapped = map.entries;

const hitArb = fc.record({
  entry: fc.constantFrom(...mapped),
  orbit: fc.integer({ min: 0, max: ORBIT_MAX }),
  bx: fc.integer({ min: 0, max: BX_MAX }),
  tdc: fc.integer({ min: 0, max: TDC_MAX }),
});

/** The layout written out with BigInt shifts, independent of the codec's uint32 arithmetic. */
function referenceHit(
  fpga: number,
  channel: number,
  orbit: number,
  bx: number,
  tdc: number,
  head = 2,
): bigint {
  return (
    BigInt(tdc) |
    (BigInt(bx) << 5n) |
    (BigInt(orbit) << 17n) |
    (BigInt(channel) << 49n) |
    (BigInt(fpga) << 58n) |
    (BigInt(head) << 61n)
  );
}

function expectInvalid(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DaqError, `expected DaqError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_WORD');
    assert.equal(err.field, field);
    assert.match(err.message, new RegExp(field));
    return true;
  });
}

describe('protocol/hit-word', () => {
  it('encodes hits exactly as the 64-bit layout says and decodes them back', () => {
    fc.assert(
      fc.property(hitArb, ({ entry, orbit, bx, tdc }) => {
        const w = new Uint32Array(2);
        writeHitWord(w, 0, { fpga: entry.fpga, channel: entry.channel, orbit, bx, tdc });
        assert.equal(wordToBigInt(w[0]!, w[1]!), referenceHit(entry.fpga, entry.channel, orbit, bx, tdc));
        assert.deepEqual(decodeWord(w[0]!, w[1]!, map), {
          type: 'hit',
          fpga: entry.fpga,
          channel: entry.channel,
          orbit,
          bx,
          tdc,
        });
        assert.equal(checkWord(w[0]!, w[1]!, map), WordFault.OK);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips segment words', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...map.chambers),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: ORBIT_MAX }),
        fc.integer({ min: 0, max: BX_MAX }),
        fc.integer({ min: 0, max: TDC_MAX }),
        (chamber, fpga, quality, orbit, bx, tdc) => {
          const w = new Uint32Array(2);
          writeSegmentWord(w, 0, { fpga, chamber, quality, orbit, bx, tdc });
          assert.equal(Number(wordToBigInt(w[0]!, w[1]!) >> 61n), WordType.SEGMENT);
          assert.deepEqual(decodeWord(w[0]!, w[1]!, map), {
            type: 'segment',
            fpga,
            chamber,
            quality,
            orbit,
            bx,
            tdc,
          });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('computes time in ns as (orbit·3564 + bx)·25 + tdc·25/30', () => {
    const w = new Uint32Array(2);
    writeHitWord(w, 0, { fpga: 0, channel: 1, orbit: 2, bx: 100, tdc: 15 });
    assert.equal(wordTimeNs(w[0]!, w[1]!), (2 * 3564 + 100) * 25 + 12.5);
    assert.equal(timeNs(ORBIT_MAX, BX_MAX, TDC_MAX), (ORBIT_MAX * 3564 + BX_MAX) * 25 + (TDC_MAX * 25) / 30);
  });

  it('rejects every out-of-range field on encode, naming it', () => {
    const ok = { fpga: 0, channel: 1, orbit: 0, bx: 0, tdc: 0 };
    const w = new Uint32Array(2);
    expectInvalid(() => writeHitWord(w, 0, { ...ok, bx: 3564 }), 'BX_COUNTER');
    expectInvalid(() => writeHitWord(w, 0, { ...ok, tdc: 30 }), 'TDC_MEAS');
    expectInvalid(() => writeHitWord(w, 0, { ...ok, orbit: 2 ** 32 }), 'ORBIT_CNT');
    expectInvalid(() => writeHitWord(w, 0, { ...ok, channel: 512 }), 'TDC_CHANNEL');
    expectInvalid(() => writeHitWord(w, 0, { ...ok, fpga: 8 }), 'FPGA');
    expectInvalid(() => writeHitWord(w, 0, { ...ok, bx: 1.5 }), 'BX_COUNTER');
    expectInvalid(() => writeSegmentWord(w, 0, { ...ok, chamber: 16, quality: 0 }), 'CHAMBER');
    expectInvalid(() => writeSegmentWord(w, 0, { ...ok, chamber: 0, quality: 16 }), 'QUALITY');
  });

  it('rejects every corrupt field on decode, naming it, for random corruptions', () => {
    const corruptions = [
      { field: 'HEAD', fault: WordFault.HEAD, value: fc.constantFrom(0, 1, 3, 5, 6, 7).map((h) => ({ h })) },
      {
        field: 'BX_COUNTER',
        fault: WordFault.BX_COUNTER,
        value: fc.integer({ min: 3564, max: 4095 }).map((bx) => ({ bx })),
      },
      {
        field: 'TDC_MEAS',
        fault: WordFault.TDC_MEAS,
        value: fc.integer({ min: 30, max: 31 }).map((tdc) => ({ tdc })),
      },
    ] as const;
    for (const c of corruptions) {
      fc.assert(
        fc.property(
          hitArb,
          c.value,
          ({ entry, orbit, bx, tdc }, bad: { h?: number; bx?: number; tdc?: number }) => {
            const word = referenceHit(
              entry.fpga,
              entry.channel,
              orbit,
              bad.bx ?? bx,
              bad.tdc ?? tdc,
              bad.h ?? 2,
            );
            const { lo, hi } = wordFromBigInt(word);
            expectInvalid(() => decodeWord(lo, hi, map), c.field);
            assert.equal(checkWord(lo, hi, map), c.fault);
            assert.equal(faultField(checkWord(lo, hi, map)), c.field);
          },
        ),
        { numRuns: 300 },
      );
    }
  });

  it('rejects unmapped channels and unknown segment chambers', () => {
    for (const [fpga, channel] of [
      [0, 0],
      [1, 129],
      [2, 5],
      [7, 511],
    ] as const) {
      const { lo, hi } = wordFromBigInt(referenceHit(fpga, channel, 1, 1, 1));
      expectInvalid(() => decodeWord(lo, hi, map), 'TDC_CHANNEL');
      assert.equal(checkWord(lo, hi, map), WordFault.TDC_CHANNEL);
      // Without a map the word is well-formed.
      assert.equal(decodeWord(lo, hi).type, 'hit');
    }
    const w = new Uint32Array(2);
    writeSegmentWord(w, 0, { fpga: 0, chamber: 9, quality: 4, orbit: 1, bx: 1, tdc: 1 });
    expectInvalid(() => decodeWord(w[0]!, w[1]!, map), 'CHAMBER');
    writeSegmentWord(w, 0, { fpga: 0, chamber: 1, quality: 4, orbit: 1, bx: 1, tdc: 1 });
    w[1] = w[1]! | (1 << 25);
    expectInvalid(() => decodeWord(w[0]!, w[1]!, map), 'RESERVED');
    assert.equal(checkWord(w[0]!, w[1], map), WordFault.RESERVED);
  });

  it('reads buffers at any alignment and reports trailing bytes', () => {
    const w = new Uint32Array(6);
    writeHitWord(w, 0, { fpga: 0, channel: 1, orbit: 7, bx: 8, tdc: 9 });
    writeHitWord(w, 1, { fpga: 1, channel: 128, orbit: 70, bx: 80, tdc: 29 });
    writeSegmentWord(w, 2, { fpga: 1, chamber: 3, quality: 3, orbit: 70, bx: 81, tdc: 0 });
    const bytes = Buffer.from(w.buffer);
    for (const offset of [0, 1, 2, 3, 4, 5]) {
      const backing = Buffer.alloc(bytes.length + offset + 3);
      bytes.copy(backing, offset);
      const view = backing.subarray(offset, offset + bytes.length + 3);
      const r = wordsOf(view);
      assert.equal(r.wordCount, 3);
      assert.equal(r.trailingBytes, 3);
      assert.deepEqual([...r.words], [...w]);
    }
  });

  it('tallies per-channel hits and corrupt words like a word-by-word decode does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 400 }),
        fc.array(hitArb, { maxLength: 400 }),
        (junk, hits) => {
          const n = junk.length + hits.length;
          const words = new Uint32Array(2 * n);
          hits.forEach((h, i) =>
            writeHitWord(words, i, {
              fpga: h.entry.fpga,
              channel: h.entry.channel,
              orbit: h.orbit,
              bx: h.bx,
              tdc: h.tdc,
            }),
          );
          junk.forEach(([a, b], i) => {
            words[2 * (hits.length + i)] = a >>> 0;
            words[2 * (hits.length + i) + 1] = (b * 2654435761) >>> 0;
          });
          const tally = new WordTally();
          tallyWords(words, n, map, tally);
          const expected = new Map<number, number>();
          let hitsSeen = 0;
          let segments = 0;
          let corrupt = 0;
          for (let i = 0; i < n; i++) {
            try {
              const d = decodeWord(words[2 * i]!, words[2 * i + 1]!, map);
              if (d.type === 'hit') {
                hitsSeen++;
                const key = (d.fpga << 9) | d.channel;
                expected.set(key, (expected.get(key) ?? 0) + 1);
              } else segments++;
            } catch {
              corrupt++;
            }
          }
          assert.equal(tally.hits, hitsSeen);
          assert.equal(tally.segments, segments);
          assert.equal(tally.corrupt, corrupt);
          assert.equal(
            tally.faults.reduce((a, b) => a + b, 0),
            corrupt,
          );
          for (const [key, count] of expected) assert.equal(tally.hitsPerChannel[key], count);
          assert.equal(
            tally.hitsPerChannel.reduce((a, b) => a + b, 0),
            hitsSeen,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
