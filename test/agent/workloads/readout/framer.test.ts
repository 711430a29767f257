import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BX_MAX, BX_PER_ORBIT, TDC_MAX, WordType, writeHitWord } from '../../../../protocol/index.js';
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

/**
 * The framing rule written the slow, obvious way (each timeframe's context found by scanning its
 * neighbours' words at emit time): the one-pass framer must give exactly the same messages.
 */
function referenceFrames(
  chunks: readonly Uint32Array[],
  orbitsPerTimeframe: number,
  overlapNs: number,
  maxEmpty: number,
): {
  timeframe: number;
  words: number[];
  lead: number;
  main: number;
  trail: number;
  hits: number;
  late: number;
}[] {
  const tfNs = orbitsPerTimeframe * BX_PER_ORBIT * 25;
  const buckets = new Map<number, number[]>();
  const late = new Map<number, number>();
  let next: number | undefined;
  let newest = -1;
  const timeOf = (lo: number, hi: number): number | undefined => {
    const head = hi >>> 29;
    const bx = (lo >>> 5) & 0xfff;
    const tdc = lo & 0x1f;
    if ((head !== WordType.HIT && head !== WordType.SEGMENT) || bx > BX_MAX || tdc > TDC_MAX)
      return undefined;
    const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
    return (orbit * BX_PER_ORBIT + bx) * 25 + (tdc * 25) / 30;
  };
  const out: ReturnType<typeof referenceFrames> = [];
  const emit = (tf: number): void => {
    const start = tf * tfNs;
    const window = (words: number[] | undefined, from: number, to: number): number[] => {
      const got: number[] = [];
      for (let i = 0; i < (words?.length ?? 0); i += 2) {
        const t = timeOf(words![i]!, words![i + 1]!);
        if (t !== undefined && t >= from && t < to) got.push(words![i]!, words![i + 1]!);
      }
      return got;
    };
    const lead = window(buckets.get(tf - 1), start - overlapNs, start);
    const main = buckets.get(tf) ?? [];
    const trail = window(buckets.get(tf + 1), start + tfNs, start + tfNs + overlapNs);
    let hits = 0;
    for (let i = 1; i < main.length; i += 2) if (main[i]! >>> 29 === WordType.HIT) hits++;
    out.push({
      timeframe: tf,
      words: [...lead, ...main, ...trail],
      lead: lead.length / 2,
      main: main.length / 2,
      trail: trail.length / 2,
      hits,
      late: late.get(tf) ?? 0,
    });
    buckets.delete(tf - 1);
    let n = tf + 1;
    if (!buckets.has(n) && n <= newest) {
      let k = n;
      while (k <= newest && !buckets.has(k)) k++;
      if (k - n > maxEmpty) {
        buckets.delete(tf);
        n = k;
      }
    }
    next = n;
  };
  for (const words of chunks) {
    for (let i = 0; i < words.length / 2; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      const t = timeOf(lo, hi);
      let tf: number;
      if (t !== undefined) {
        tf = Math.floor((((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0) / orbitsPerTimeframe;
        tf = Math.floor(tf);
        next ??= tf;
        if (tf < next) {
          tf = next;
          late.set(tf, (late.get(tf) ?? 0) + 1);
        }
        if (tf > newest) newest = tf;
      } else {
        tf = next ?? Math.max(newest, 0);
        next ??= tf;
        if (newest < tf) newest = tf;
      }
      if (!buckets.has(tf)) buckets.set(tf, []);
      buckets.get(tf)!.push(lo, hi);
    }
    while (next !== undefined && newest >= next + 2) emit(next);
  }
  while (next !== undefined && next <= newest) emit(next);
  return out;
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

  it('frames any stream exactly as the obvious rule does (out of order, late, corrupt, gaps)', () => {
    const event = fc.record({
      // Time steps forward mostly, sometimes back by up to a timeframe, sometimes far ahead (a gap).
      step: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 40_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: -TF_NS, max: 0 }) },
        { weight: 1, arbitrary: fc.integer({ min: TF_NS, max: 40 * TF_NS }) },
      ),
      kind: fc.constantFrom('hit', 'hit', 'hit', 'segment', 'corrupt'),
      chunkEnd: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0, 1000, 20_000),
        fc.constantFrom(3, 1000),
        (events, overlapNs, maxEmpty) => {
          const chunks: Uint32Array[] = [];
          let current: number[] = [];
          let t = 5 * TF_NS;
          for (const e of events) {
            t = Math.max(0, t + e.step);
            const w = new Uint32Array(2);
            hitAt(w, 0, t, 1 + (current.length % 40));
            if (e.kind === 'segment') w[1] = (w[1]! & 0x1fffffff) | (WordType.SEGMENT << 29);
            if (e.kind === 'corrupt') w[0] = (w[0]! & ~0x1f) | 31; // TDC out of range
            current.push(w[0]!, w[1]!);
            if (e.chunkEnd) {
              chunks.push(Uint32Array.from(current));
              current = [];
            }
          }
          chunks.push(Uint32Array.from(current));
          const framer = new StreamFramer({
            orbitsPerTimeframe: 32,
            overlapNs,
            maxEmptyTimeframes: maxEmpty,
          });
          const got = [...chunks.flatMap((c) => framer.push(c, c.length / 2)), ...framer.flush()];
          const want = referenceFrames(chunks, 32, overlapNs, maxEmpty);
          assert.deepEqual(
            got.map((f) => ({
              timeframe: f.timeframe,
              words: Array.from(f.words),
              lead: f.lead,
              main: f.main,
              trail: f.trail,
              hits: f.hits,
              late: f.late,
            })),
            want,
          );
          for (const f of got) {
            let segments = 0;
            for (let i = f.lead; i < f.lead + f.main; i++)
              if (f.words[2 * i + 1]! >>> 29 === WordType.SEGMENT) segments++;
            assert.equal(f.segments, segments, `segments of timeframe ${f.timeframe}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps an emulated stream whole: every generated hit is a main word once', () => {
    const run = runPipeline(12, { noiseRateHzPerChannel: 2000, muonRateHz: 3000 });
    let main = 0;
    for (const list of run.framed.values()) for (const f of list) main += f.hits;
    assert.equal(main, run.hitsGenerated);
  });
});
