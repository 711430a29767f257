import assert from 'node:assert/strict';
import { writeHitWord } from '../../../../protocol/index.js';
import { StreamFramer, type FramedTimeframe } from '../../../../agent/workloads/readout/framer.js';
import { runPipeline } from '../../../helpers/pipeline.js';

const TF_NS = 32 * 3564 * 25;

function hitAt(words: Uint32Array, i: number, tNs: number, channel = 1): void {
  const tdcTotal = Math.floor(tNs / (25 / 30));
  const bxTotal = Math.floor(tdcTotal / 30);
  writeHitWord(words, i, {
    fpga: 0,
    channel,
    orbit: Math.floor(bxTotal / 3564),
    bx: bxTotal % 3564,
    tdc: tdcTotal % 30,
  });
}

function mainWords(f: FramedTimeframe): number[] {
  return Array.from(f.words.subarray(2 * f.lead, 2 * (f.lead + f.main)));
}

describe('agent/workloads/readout/framer', () => {
  it('puts each word in the main part of exactly one timeframe and overlap copies around it', () => {
    const times = [
      10,
      TF_NS - 500,
      TF_NS - 5,
      TF_NS + 3,
      TF_NS + 700,
      2 * TF_NS - 1,
      2 * TF_NS + 1,
      3 * TF_NS + 10,
      4 * TF_NS,
    ];
    const words = new Uint32Array(2 * times.length);
    times.forEach((t, i) => hitAt(words, i, t));
    const f = new StreamFramer({ orbitsPerTimeframe: 32, overlapNs: 1000 });
    const out = [...f.push(words, times.length), ...f.flush()];
    assert.deepEqual(
      out.map((x) => x.timeframe),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      out.map((x) => x.main),
      [3, 3, 1, 1, 1],
    );
    assert.deepEqual(
      out.map((x) => [x.lead, x.trail]),
      [
        [0, 2],
        [2, 1],
        [1, 1],
        [0, 1],
        [0, 0],
      ],
    );
    const pairs = (a: number[]) =>
      Array.from({ length: a.length / 2 }, (_, i) => `${a[2 * i]}:${a[2 * i + 1]}`).sort();
    assert.deepEqual(pairs(out.flatMap(mainWords)), pairs(Array.from(words)));
    assert.ok(out.every((x) => x.hits === x.main));
  });

  it('keeps late and corrupt words in an open timeframe instead of dropping them', () => {
    const f = new StreamFramer({ orbitsPerTimeframe: 32, overlapNs: 1000 });
    const w = new Uint32Array(2 * 4);
    hitAt(w, 0, 100);
    hitAt(w, 1, 2 * TF_NS + 100); // tf 0 can now go out
    const first = f.push(w, 2);
    assert.deepEqual(
      first.map((x) => x.timeframe),
      [0],
    );
    const late = new Uint32Array(4);
    hitAt(late, 0, 200); // belongs to tf 0, which is gone
    late[2] = 0xffffffff; // BX and TDC out of range, HEAD 7: corrupt
    late[3] = 0xffffffff;
    f.push(late, 2);
    const rest = f.flush();
    assert.deepEqual(
      rest.map((x) => x.timeframe),
      [1, 2],
    );
    assert.equal(rest[0]!.main, 2, 'the late and the corrupt word ride with tf 1');
    assert.equal(rest[0]!.late, 1);
    assert.equal(first[0]!.main + rest.reduce((n, x) => n + x.main, 0), 4);
  });

  it('skips long silent stretches without emitting empty timeframes for them', () => {
    const f = new StreamFramer({ orbitsPerTimeframe: 32, overlapNs: 1000, maxEmptyTimeframes: 10 });
    const w = new Uint32Array(2 * 3);
    hitAt(w, 0, 5);
    hitAt(w, 1, TF_NS * 500);
    hitAt(w, 2, TF_NS * 503);
    const out = [...f.push(w, 3), ...f.flush()];
    assert.deepEqual(
      out.map((x) => x.timeframe),
      [0, 500, 501, 502, 503],
    );
  });

  it('keeps an emulated stream whole: every generated hit is a main word once', () => {
    const run = runPipeline(12, { noiseRateHzPerChannel: 2000, muonRateHz: 3000 });
    let main = 0;
    for (const list of run.framed.values()) for (const f of list) main += f.hits;
    assert.equal(main, run.hitsGenerated);
  });
});
