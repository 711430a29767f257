/**
 * Which event records of a run the writer has stored (docs/data-path.md "Writer"). A processor splits a
 * timeframe's events into `parts` records (headers `daq-part`, `daq-parts`) the same way each time, and
 * says which links the timeframe was built from (`daq-links`), so a replayed record is recognised by
 * (timeframe, links, part) alone — and a timeframe built again from other links (its missing link's part
 * came after a rebalance) is not taken for a replay. Per set of links, the timeframes stored whole are kept
 * as ranges (one range for a run without gaps) and only unfinished ones part by part: bounded by the
 * distinct link sets, gaps and open timeframes, never by the number of events.
 */
import { IntervalSet } from '../../../protocol/balance.js';

interface PartsState {
  readonly complete: [number, number][];
  readonly open: Record<string, { parts: number; got: number[] }>;
}

/** Per set of links (`0.1`), what is stored. */
export type StoredRecordsState = Record<string, PartsState>;

class TimeframeParts {
  readonly complete: IntervalSet;
  readonly open = new Map<number, { parts: number; got: Set<number> }>();

  constructor(state?: PartsState) {
    this.complete = IntervalSet.fromJSON(state?.complete ?? []);
    for (const [tf, o] of Object.entries(state?.open ?? {}))
      this.open.set(Number(tf), { parts: o.parts, got: new Set(o.got) });
  }

  has(timeframe: number, part: number): boolean {
    return this.complete.has(timeframe) || (this.open.get(timeframe)?.got.has(part) ?? false);
  }

  add(timeframe: number, part: number, parts: number): void {
    if (parts <= 1) {
      this.complete.add(timeframe);
      return;
    }
    let o = this.open.get(timeframe);
    if (o === undefined) {
      o = { parts, got: new Set() };
      this.open.set(timeframe, o);
    }
    o.got.add(part);
    if (o.got.size >= o.parts) {
      this.open.delete(timeframe);
      this.complete.add(timeframe);
    }
  }

  state(): PartsState {
    return {
      complete: this.complete.toJSON(),
      open: Object.fromEntries(
        [...this.open].map(([tf, o]) => [String(tf), { parts: o.parts, got: [...o.got] }]),
      ),
    };
  }
}

export class StoredRecords {
  private readonly byLinks = new Map<string, TimeframeParts>();

  constructor(state?: StoredRecordsState) {
    for (const [links, s] of Object.entries(state ?? {})) this.byLinks.set(links, new TimeframeParts(s));
  }

  has(timeframe: number, part: number, links = ''): boolean {
    return this.byLinks.get(links)?.has(timeframe, part) ?? false;
  }

  /** Marks a record stored; false when it was already. */
  add(timeframe: number, part: number, parts: number, links = ''): boolean {
    if (this.has(timeframe, part, links)) return false;
    let p = this.byLinks.get(links);
    if (p === undefined) {
      p = new TimeframeParts();
      this.byLinks.set(links, p);
    }
    p.add(timeframe, part, parts);
    return true;
  }

  /** Timeframes with only some parts stored (what it keeps part by part). */
  get openTimeframes(): number {
    let n = 0;
    for (const p of this.byLinks.values()) n += p.open.size;
    return n;
  }

  get rangeCount(): number {
    let n = 0;
    for (const p of this.byLinks.values()) n += p.complete.rangeCount;
    return n;
  }

  state(): StoredRecordsState {
    return Object.fromEntries([...this.byLinks].map(([links, p]) => [links, p.state()]));
  }
}
