/**
 * Cuts a stream of words into sub-timeframes (DESIGN.md data path step 3).
 *
 * Words are bucketed by the timeframe of their own time stamp, so the stream may arrive out of order by
 * up to a timeframe. A timeframe is emitted once the stream has reached two timeframes beyond it; its
 * message carries, around its own (main) words, the neighbours' words within `overlapNs` of its edges as
 * lead and trail context for event building. Words whose time cannot be read (corrupt HEAD, BX or TDC)
 * and words arriving after their timeframe was emitted go into the main words of the oldest open
 * timeframe: they are never dropped, the processor counts and dead-letters them.
 */
import { BX_MAX, BX_PER_ORBIT, TDC_MAX, WordType } from '../../../protocol/index.js';
import { WordBuffer } from './word-buffer.js';

const NS_PER_ORBIT = BX_PER_ORBIT * 25;

export interface FramedTimeframe {
  readonly timeframe: number;
  /** [lead | main | trail] */
  readonly words: Uint32Array;
  readonly lead: number;
  readonly main: number;
  readonly trail: number;
  /** Hit words (HEAD = 2) among the main words. */
  readonly hits: number;
  /** Main words that arrived after their own timeframe had been emitted. */
  readonly late: number;
}

export interface FramerOptions {
  readonly orbitsPerTimeframe: number;
  readonly overlapNs: number;
  /** A jump over more empty timeframes than this emits no empty messages for the gap. */
  readonly maxEmptyTimeframes?: number;
}

export class StreamFramer {
  private readonly buckets = new Map<number, WordBuffer>();
  private readonly lateCounts = new Map<number, number>();
  /** Hit words (HEAD = 2) in each open timeframe's bucket. */
  private readonly hitCounts = new Map<number, number>();
  private next: number | undefined;
  private newest = -1;
  private readonly tfNs: number;

  constructor(private readonly options: FramerOptions) {
    this.tfNs = options.orbitsPerTimeframe * NS_PER_ORBIT;
    if (!(options.overlapNs >= 0 && options.overlapNs < this.tfNs / 2)) {
      throw new RangeError(
        `overlapNs must be in 0..${this.tfNs / 2} ns (half a timeframe), got ${options.overlapNs}`,
      );
    }
  }

  /** Adds words; returns the timeframes that became complete, oldest first. */
  push(words: Uint32Array, count: number): FramedTimeframe[] {
    // Consecutive words of one timeframe (the usual case: a link sends in time order) are copied into
    // its bucket as one run, and their hits counted on the way, instead of word by word.
    let runStart = 0;
    let runTf = -1;
    let runHits = 0;
    for (let i = 0; i < count; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      const head = hi >>> 29;
      let tf: number;
      if (
        (head === WordType.HIT || head === WordType.SEGMENT) &&
        ((lo >>> 5) & 0xfff) <= BX_MAX &&
        (lo & 0x1f) <= TDC_MAX
      ) {
        const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
        tf = Math.floor(orbit / this.options.orbitsPerTimeframe);
        this.next ??= tf;
        if (tf < this.next) {
          tf = this.next;
          this.lateCounts.set(tf, (this.lateCounts.get(tf) ?? 0) + 1);
        }
        if (tf > this.newest) this.newest = tf;
      } else {
        // No usable time: keep it with the oldest open timeframe.
        tf = this.next ?? Math.max(this.newest, 0);
        this.next ??= tf;
        if (this.newest < tf) this.newest = tf;
      }
      if (tf !== runTf) {
        this.addRun(runTf, words, runStart, i, runHits);
        runStart = i;
        runTf = tf;
        runHits = 0;
      }
      if (head === WordType.HIT) runHits++;
    }
    this.addRun(runTf, words, runStart, count, runHits);
    const out: FramedTimeframe[] = [];
    while (this.next !== undefined && this.newest >= this.next + 2) out.push(this.emit(this.next));
    return out;
  }

  private addRun(tf: number, words: Uint32Array, from: number, to: number, hits: number): void {
    if (tf < 0 || to <= from) return;
    this.bucket(tf).append(words, from, to - from);
    this.hitCounts.set(tf, (this.hitCounts.get(tf) ?? 0) + hits);
  }

  /** Emits everything still open (end of stream). */
  flush(): FramedTimeframe[] {
    const out: FramedTimeframe[] = [];
    while (this.next !== undefined && this.next <= this.newest) out.push(this.emit(this.next));
    return out;
  }

  private bucket(tf: number): WordBuffer {
    let b = this.buckets.get(tf);
    if (b === undefined) {
      b = new WordBuffer(1024);
      this.buckets.set(tf, b);
    }
    return b;
  }

  private emit(tf: number): FramedTimeframe {
    const start = tf * this.tfNs;
    const end = start + this.tfNs;
    const prev = this.buckets.get(tf - 1);
    const main = this.buckets.get(tf);
    const after = this.buckets.get(tf + 1);
    const out = new WordBuffer((prev?.count ?? 0) / 8 + (main?.count ?? 0) + (after?.count ?? 0) / 8 + 1);
    const lead = prev === undefined ? 0 : copyInWindow(prev, out, start - this.options.overlapNs, start);
    const hits = this.hitCounts.get(tf) ?? 0;
    this.hitCounts.delete(tf);
    if (main !== undefined) out.append(main.words, 0, main.count);
    const trail = after === undefined ? 0 : copyInWindow(after, out, end, end + this.options.overlapNs);
    this.buckets.delete(tf - 1);
    const late = this.lateCounts.get(tf) ?? 0;
    this.lateCounts.delete(tf);
    // Skip long silent stretches instead of emitting thousands of empty messages.
    let next = tf + 1;
    if (!this.buckets.has(next) && next <= this.newest) {
      let k = next;
      while (k <= this.newest && !this.buckets.has(k)) k++;
      if (k - next > (this.options.maxEmptyTimeframes ?? 1000)) {
        this.buckets.delete(tf);
        next = k;
      }
    }
    this.next = next;
    return { timeframe: tf, words: out.view(), lead, main: main?.count ?? 0, trail, hits, late };
  }
}

/** Appends the words of `src` whose time lies in [fromNs, toNs); words without a readable time are skipped. */
function copyInWindow(src: WordBuffer, out: WordBuffer, fromNs: number, toNs: number): number {
  const w = src.words;
  let n = 0;
  for (let i = 0; i < src.count; i++) {
    const lo = w[2 * i]!;
    const hi = w[2 * i + 1]!;
    const head = hi >>> 29;
    if (
      (head !== WordType.HIT && head !== WordType.SEGMENT) ||
      ((lo >>> 5) & 0xfff) > BX_MAX ||
      (lo & 0x1f) > TDC_MAX
    )
      continue;
    const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
    const t = (orbit * BX_PER_ORBIT + ((lo >>> 5) & 0xfff)) * 25 + ((lo & 0x1f) * 25) / 30;
    if (t >= fromNs && t < toNs) {
      out.push(lo, hi);
      n++;
    }
  }
  return n;
}
