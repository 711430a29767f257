/**
 * Cuts a stream of words into sub-timeframes (docs/data-path.md "Readout").
 *
 * Words are bucketed by the timeframe of their own time stamp, so the stream may arrive out of order by
 * up to a timeframe. A timeframe is emitted once the stream has reached two timeframes beyond it; its
 * message carries, around its own (main) words, the neighbours' words within `overlapNs` of its edges as
 * lead and trail context for event building. Those context words are set aside as they arrive (one pass
 * over the stream, no rescan of the neighbours), and bucket memory is reused from one timeframe to the
 * next: framing is the readout's main cost, so it touches each word once (docs/data-path.md). Words whose time cannot be read (corrupt HEAD, BX or TDC)
 * and words arriving after their timeframe was emitted go into the main words of the oldest open
 * timeframe: they are never dropped, the processor counts and dead-letters them.
 */
import {
  BX_MAX,
  BX_NS,
  BX_PER_ORBIT,
  DaqError,
  TDC_BINS_PER_BX,
  TDC_MAX,
  WordType,
} from '../../../protocol/index.js';
import { WordBuffer } from './word-buffer.js';

const NS_PER_ORBIT = BX_PER_ORBIT * BX_NS;

export interface FramedTimeframe {
  readonly timeframe: number;
  /** [lead | main | trail] */
  readonly words: Uint32Array;
  readonly lead: number;
  readonly main: number;
  readonly trail: number;
  /** Hit words (HEAD = 2) among the main words. */
  readonly hits: number;
  /** Segment words (HEAD = 3) among the main words. */
  readonly segments: number;
  /** Main words that arrived after their own timeframe had been emitted. */
  readonly late: number;
}

export interface FramerOptions {
  readonly orbitsPerTimeframe: number;
  readonly overlapNs: number;
  /** A jump over more empty timeframes than this emits no empty messages for the gap. */
  readonly maxEmptyTimeframes?: number;
}

/** One open timeframe: its own words, and the words of its neighbours that are context for it. */
interface Bucket {
  readonly main: WordBuffer;
  /** Words of the previous timeframe within overlapNs of this one's start. */
  readonly lead: WordBuffer;
  /** Words of the next timeframe within overlapNs of this one's end. */
  readonly trail: WordBuffer;
  hits: number;
  segments: number;
  late: number;
}

/** Buckets kept for reuse: enough for the open window (two or three timeframes) plus slack. */
const SPARE_BUCKETS = 4;

export class StreamFramer {
  private readonly buckets = new Map<number, Bucket>();
  private readonly spare: Bucket[] = [];
  private next: number | undefined;
  private newest = -1;
  private readonly tfNs: number;
  private readonly overlapNs: number;

  constructor(private readonly options: FramerOptions) {
    this.tfNs = options.orbitsPerTimeframe * NS_PER_ORBIT;
    this.overlapNs = options.overlapNs;
    if (!(options.overlapNs >= 0 && options.overlapNs < this.tfNs / 2)) {
      throw new DaqError(
        'INVALID_CONFIG',
        `overlapNs must be in 0..${this.tfNs / 2} ns (half a timeframe), got ${options.overlapNs}`,
        { field: 'overlapNs' },
      );
    }
  }

  /** Adds words; returns the timeframes that became complete, oldest first. */
  push(words: Uint32Array, count: number): FramedTimeframe[] {
    // Consecutive words of one timeframe (the usual case: a link sends in time order) are copied into
    // its bucket as one run, and their hits and segments counted on the way, instead of word by word.
    const opt = this.options.orbitsPerTimeframe;
    const tfNs = this.tfNs;
    const overlap = this.overlapNs;
    let runStart = 0;
    let runTf = -1;
    let run: Bucket | undefined;
    for (let i = 0; i < count; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      const head = hi >>> 29;
      const bx = (lo >>> 5) & 0xfff;
      const tdc = lo & 0x1f;
      let tf: number;
      let timed = false;
      let t = 0;
      if ((head === WordType.HIT || head === WordType.SEGMENT) && bx <= BX_MAX && tdc <= TDC_MAX) {
        const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
        tf = Math.floor(orbit / opt);
        this.next ??= tf;
        if (tf < this.next) {
          // Late: its timeframe is gone. It travels as a main word of the oldest open one (and is no
          // context for anything: its neighbours are gone too).
          tf = this.next;
          this.bucket(tf).late++;
        } else {
          timed = true;
          t = (orbit * BX_PER_ORBIT + bx) * BX_NS + (tdc * BX_NS) / TDC_BINS_PER_BX;
        }
        if (tf > this.newest) this.newest = tf;
      } else {
        // No usable time: keep it with the oldest open timeframe.
        tf = this.next ?? Math.max(this.newest, 0);
        this.next ??= tf;
        if (this.newest < tf) this.newest = tf;
      }
      if (tf !== runTf) {
        if (run !== undefined) run.main.append(words, runStart, i - runStart);
        runStart = i;
        runTf = tf;
        run = this.bucket(tf);
      }
      if (head === WordType.HIT) run!.hits++;
      else if (head === WordType.SEGMENT) run!.segments++;
      if (timed && overlap > 0) {
        const start = tf * tfNs;
        // Context for the previous timeframe (its trail), unless that one was emitted already.
        if (t < start + overlap && tf > this.next) this.bucket(tf - 1).trail.push(lo, hi);
        // Context for the next timeframe (its lead).
        if (t >= start + tfNs - overlap) this.bucket(tf + 1).lead.push(lo, hi);
      }
    }
    if (run !== undefined) run.main.append(words, runStart, count - runStart);
    const out: FramedTimeframe[] = [];
    while (this.next !== undefined && this.newest >= this.next + 2) out.push(this.emit(this.next));
    return out;
  }

  /** Emits everything still open (end of stream). */
  flush(): FramedTimeframe[] {
    const out: FramedTimeframe[] = [];
    while (this.next !== undefined && this.next <= this.newest) out.push(this.emit(this.next));
    // Context set aside for a timeframe after the last one is nobody's: drop it with its bucket.
    for (const [tf, b] of this.buckets) {
      this.buckets.delete(tf);
      this.recycle(b);
    }
    return out;
  }

  private bucket(tf: number): Bucket {
    let b = this.buckets.get(tf);
    if (b === undefined) {
      b = this.spare.pop() ?? {
        main: new WordBuffer(1024),
        lead: new WordBuffer(64),
        trail: new WordBuffer(64),
        hits: 0,
        segments: 0,
        late: 0,
      };
      this.buckets.set(tf, b);
    }
    return b;
  }

  private hasMain(tf: number): boolean {
    return (this.buckets.get(tf)?.main.count ?? 0) > 0;
  }

  private recycle(b: Bucket): void {
    if (this.spare.length >= SPARE_BUCKETS) return;
    b.main.clear();
    b.lead.clear();
    b.trail.clear();
    b.hits = 0;
    b.segments = 0;
    b.late = 0;
    this.spare.push(b);
  }

  private emit(tf: number): FramedTimeframe {
    const b = this.buckets.get(tf);
    this.buckets.delete(tf);
    const lead = b?.lead.count ?? 0;
    const main = b?.main.count ?? 0;
    const trail = b?.trail.count ?? 0;
    // The message owns its words (the client copies them on send, the readout may record them), so
    // they go to fresh memory, uninitialised: every word of it is written below.
    const bytes = Buffer.allocUnsafeSlow(8 * (lead + main + trail));
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, 2 * (lead + main + trail));
    let framed: FramedTimeframe = { timeframe: tf, words, lead, main, trail, hits: 0, segments: 0, late: 0 };
    if (b !== undefined) {
      words.set(b.lead.view(), 0);
      words.set(b.main.view(), 2 * lead);
      words.set(b.trail.view(), 2 * (lead + main));
      framed = { ...framed, hits: b.hits, segments: b.segments, late: b.late };
      this.recycle(b);
    }
    // Skip long silent stretches instead of emitting thousands of empty messages (the context set aside
    // at the stretch's edges goes with it: it has no main words to be context for).
    let next = tf + 1;
    if (!this.hasMain(next) && next <= this.newest) {
      let k = next;
      while (k <= this.newest && !this.hasMain(k)) k++;
      if (k - next > (this.options.maxEmptyTimeframes ?? 1000)) {
        for (const [t, skipped] of this.buckets) {
          if (t >= k) continue;
          this.buckets.delete(t);
          this.recycle(skipped);
        }
        next = k;
      }
    }
    this.next = next;
    return framed;
  }
}
