/**
 * Timeframe assembly and offset bookkeeping for the processor — pure logic with an injected clock.
 *
 * A timeframe is complete when every expected link has delivered all parts of its sub-timeframe. One still
 * incomplete `timeoutMs` after its first part arrived is handed out flagged incomplete — but only once each
 * missing link has either moved past it on the timeframe's own partition (a producer's records keep their
 * order within a partition, so the part is not coming) or fallen silent everywhere for `timeoutMs`. A link
 * that is merely behind, or a partition this consumer reads late, is waited for, not dead-lettered. Parts
 * arriving after their timeframe was handed out are "late": the caller dead-letters them whole.
 */
import type { SubTimeframeHeader } from '../../../protocol/index.js';

export interface Fragment {
  readonly header: SubTimeframeHeader;
  readonly words: Uint32Array;
  readonly partition: number;
  readonly offset: number;
  readonly timestampMs: number;
}

export interface AssembledTimeframe {
  readonly run: number;
  readonly timeframe: number;
  readonly fragments: readonly Fragment[];
  readonly missingLinks: readonly number[];
  readonly complete: boolean;
}

interface Pending {
  readonly run: number;
  readonly timeframe: number;
  readonly firstSeenMs: number;
  readonly fragments: Fragment[];
  /** link → parts received (by part index) and parts expected. */
  readonly parts: Map<number, { got: Set<number>; of: number }>;
}

const CLOSED_MEMORY = 200_000;

type Closed = 'handled' | ReadonlySet<string> | { readonly missing: ReadonlySet<number> };

/**
 * Timeframes handed out incomplete that the commit metadata keeps listing (with their missing links)
 * after the committed offset passed their records: a missing link's part may still come, and the member
 * that owns the partition after a rebalance must call it late (dead-letter it, counted), not take it for
 * a new timeframe or a duplicate.
 */
export const RECENT_INCOMPLETE = 64;

/** A timeframe handled, as the commit metadata lists it: `run/timeframe` and the links it went out without. */
export interface HandledTimeframe {
  readonly key: string;
  readonly missing: readonly number[];
}

export class TimeframeAssembler {
  private readonly pending = new Map<string, Pending>();
  /**
   * Timeframes handed out: by an earlier member ('handled' whole, or `{ missing }` when it handed it out
   * without those links), or by this one with the parts it had.
   */
  private readonly closed = new Map<string, Closed>();
  /** Per (link, partition): the newest timeframe seen. Per link: when it last delivered anything. */
  private readonly watermarks = new Map<string, number>();
  private readonly lastSeen = new Map<number, number>();
  private readonly startedMs: number;
  /** Bytes of the fragments waiting in `pending`. */
  private heldBytes = 0;

  constructor(
    private readonly links: readonly number[],
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {
    this.startedMs = now();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes of sub-timeframe words held by the timeframes waiting. */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  /**
   * Marks a timeframe as handled by an earlier member of the group (from the committed offset's metadata):
   * its parts, re-read after the restart, are duplicates to skip, not data to process again.
   */
  markHandled(run: number, timeframe: number, missingLinks: readonly number[] = []): void {
    this.remember(
      `${run}/${timeframe}`,
      missingLinks.length === 0 ? 'handled' : { missing: new Set(missingLinks) },
    );
  }

  /** Forgets timeframes waiting on partitions this member no longer owns (a rebalance moved them). */
  dropPartitions(owned: ReadonlySet<number>): number {
    let dropped = 0;
    for (const [key, p] of this.pending) {
      if (p.fragments.some((f) => !owned.has(f.partition))) {
        this.release(key, p);
        dropped++;
      }
    }
    return dropped;
  }

  /**
   * Adds a fragment: returns the timeframe when it completed it, 'late' when this member already handed
   * the timeframe out without this part, 'duplicate' when the part was handled already (by this member,
   * re-read after a consumer restart, or by an earlier member).
   */
  add(f: Fragment): AssembledTimeframe | 'late' | 'duplicate' | undefined {
    const key = `${f.header.run}/${f.header.timeframe}`;
    const wk = `${f.header.link}/${f.partition}`;
    this.watermarks.set(wk, Math.max(this.watermarks.get(wk) ?? -1, f.header.timeframe));
    this.lastSeen.set(f.header.link, this.now());
    const closed = this.closed.get(key);
    // A part handed out already comes again after a consumer restart or rebalance (re-read from the last
    // commit): a duplicate. A part that was missing when the timeframe went out incomplete is late.
    // An earlier member handed it out without some links (a rebalance in between): their parts are late.
    if (closed !== undefined) {
      if (closed === 'handled') return 'duplicate';
      if ('missing' in closed) return closed.missing.has(f.header.link) ? 'late' : 'duplicate';
      return closed.has(`${f.header.link}/${f.header.part}`) ? 'duplicate' : 'late';
    }
    let p = this.pending.get(key);
    if (p === undefined) {
      p = {
        run: f.header.run,
        timeframe: f.header.timeframe,
        firstSeenMs: this.now(),
        fragments: [],
        parts: new Map(),
      };
      this.pending.set(key, p);
    }
    let link = p.parts.get(f.header.link);
    if (link === undefined) {
      link = { got: new Set(), of: f.header.parts };
      p.parts.set(f.header.link, link);
    }
    // A redelivered part (consumer restart) is already here: keep one copy.
    if (link.got.has(f.header.part)) return undefined;
    link.got.add(f.header.part);
    p.fragments.push(f);
    this.heldBytes += f.words.byteLength;
    return this.isComplete(p) ? this.close(key, p) : undefined;
  }

  /** Timeframes given up on (see the class comment), handed out incomplete. */
  expire(): AssembledTimeframe[] {
    const now = this.now();
    const out: AssembledTimeframe[] = [];
    for (const [key, p] of this.pending) {
      if (now - p.firstSeenMs < this.timeoutMs) continue;
      const waitingFor = this.links.filter((l) => {
        const got = p.parts.get(l);
        return got === undefined || got.got.size < got.of;
      });
      const partition = p.fragments[0]?.partition ?? -1;
      const givenUp = waitingFor.every((l) => {
        const movedPast = (this.watermarks.get(`${l}/${partition}`) ?? -1) > p.timeframe;
        const silent = now - (this.lastSeen.get(l) ?? this.startedMs) >= this.timeoutMs;
        return movedPast || silent;
      });
      if (givenUp) out.push(this.close(key, p));
    }
    return out;
  }

  private remember(key: string, how: Closed): void {
    // A Map keeps its keys in the order first set: the oldest goes, in constant time (an array's shift
    // moved all CLOSED_MEMORY keys once per timeframe).
    this.closed.set(key, how);
    if (this.closed.size > CLOSED_MEMORY) this.closed.delete(this.closed.keys().next().value!);
  }

  private isComplete(p: Pending): boolean {
    for (const link of this.links) {
      const l = p.parts.get(link);
      if (l === undefined || l.got.size < l.of) return false;
    }
    return true;
  }

  private release(key: string, p: Pending): void {
    this.pending.delete(key);
    for (const f of p.fragments) this.heldBytes -= f.words.byteLength;
  }

  private close(key: string, p: Pending): AssembledTimeframe {
    this.release(key, p);
    const missingLinks = this.links.filter((l) => {
      const got = p.parts.get(l);
      return got === undefined || got.got.size < got.of;
    });
    // Complete with only the links expected: any part of it that comes again is a duplicate, and one word
    // says so (CLOSED_MEMORY of them is a few MiB, not a Set each). Otherwise the parts it went out with.
    const whole = missingLinks.length === 0 && p.parts.size === this.links.length;
    this.remember(
      key,
      whole ? 'handled' : new Set(p.fragments.map((f) => `${f.header.link}/${f.header.part}`)),
    );
    return {
      run: p.run,
      timeframe: p.timeframe,
      fragments: p.fragments,
      missingLinks,
      complete: missingLinks.length === 0,
    };
  }
}

/**
 * Which offset of a partition may be committed: everything below the oldest record not yet fully handled
 * (its outputs acknowledged). Records are added in offset order per partition.
 */
export class OffsetTracker {
  private readonly partitions = new Map<number, { pending: Set<number>; next: number }>();
  /** Per partition: timeframes handled, with the highest offset of their records there and missing links. */
  private readonly handled = new Map<number, Map<string, { max: number; missing: readonly number[] }>>();
  /** Per partition: the latest RECENT_INCOMPLETE timeframes handed out incomplete. */
  private readonly incomplete = new Map<number, Map<string, readonly number[]>>();

  /** Records that timeframe `key` was handled with records up to `maxOffset` on `partition`. */
  handledTimeframe(partition: number, key: string, maxOffset: number, missing: readonly number[] = []): void {
    let m = this.handled.get(partition);
    if (m === undefined) {
      m = new Map();
      this.handled.set(partition, m);
    }
    m.set(key, { max: Math.max(maxOffset, m.get(key)?.max ?? -1), missing });
    if (missing.length === 0) return;
    let inc = this.incomplete.get(partition);
    if (inc === undefined) {
      inc = new Map();
      this.incomplete.set(partition, inc);
    }
    inc.delete(key);
    inc.set(key, missing);
    if (inc.size > RECENT_INCOMPLETE) inc.delete(inc.keys().next().value!);
  }

  /**
   * Timeframes handled whose records reach at or beyond `committed`: a restart re-reads those records,
   * so the commit carries these keys for the next member to skip. Older ones are forgotten.
   */
  handledAhead(partition: number, committed: number): HandledTimeframe[] {
    const out = new Map<string, readonly number[]>();
    const m = this.handled.get(partition);
    for (const [key, h] of m ?? []) {
      if (h.max < committed) m!.delete(key);
      else out.set(key, h.missing);
    }
    // And the latest timeframes handed out incomplete, whatever their offsets: their late parts may come.
    for (const [key, missing] of this.incomplete.get(partition) ?? []) out.set(key, missing);
    return [...out].map(([key, missing]) => ({ key, missing }));
  }

  add(partition: number, offset: number): void {
    let p = this.partitions.get(partition);
    if (p === undefined) {
      p = { pending: new Set(), next: offset };
      this.partitions.set(partition, p);
    }
    p.pending.add(offset);
    if (offset + 1 > p.next) p.next = offset + 1;
  }

  done(partition: number, offset: number): void {
    this.partitions.get(partition)?.pending.delete(offset);
  }

  /** The offset to commit (first not handled), or undefined when nothing was seen on the partition. */
  committable(partition: number): number | undefined {
    const p = this.partitions.get(partition);
    if (p === undefined) return undefined;
    let min = p.next;
    for (const o of p.pending) if (o < min) min = o;
    return min;
  }

  partitionsSeen(): number[] {
    return [...this.partitions.keys()];
  }

  /** Forget a partition (revoked in a rebalance): another member owns it now. */
  forget(partition: number): void {
    this.partitions.delete(partition);
    this.handled.delete(partition);
    this.incomplete.delete(partition);
  }
}

/**
 * Commit metadata: "v2:<run>:<tf>,<tf>-<link>.<link>…;<run>:…" — timeframes handled beyond the committed
 * offset, and the latest ones handed out incomplete with the links they went out without. "v1:" (no
 * missing links) is still read.
 */
export function encodeHandled(handled: readonly (HandledTimeframe | string)[]): string {
  const byRun = new Map<string, { tf: number; missing: readonly number[] }[]>();
  for (const h of handled) {
    const { key, missing } = typeof h === 'string' ? { key: h, missing: [] } : h;
    const [run, tf] = key.split('/');
    if (run === undefined || tf === undefined) continue;
    byRun.set(run, [...(byRun.get(run) ?? []), { tf: Number(tf), missing }]);
  }
  const groups = [...byRun].map(
    ([run, tfs]) =>
      `${run}:${tfs
        .sort((a, b) => a.tf - b.tf)
        .map((t) => (t.missing.length === 0 ? String(t.tf) : `${t.tf}-${t.missing.join('.')}`))
        .join(',')}`,
  );
  return `v2:${groups.join(';')}`;
}

export function decodeHandled(
  metadata: string | null | undefined,
): { run: number; timeframe: number; missing: number[] }[] {
  if (metadata === null || metadata === undefined) return [];
  if (!metadata.startsWith('v1:') && !metadata.startsWith('v2:')) return [];
  const out: { run: number; timeframe: number; missing: number[] }[] = [];
  for (const group of metadata.slice(3).split(';')) {
    const [run, list] = group.split(':');
    if (run === undefined || list === undefined || list === '') continue;
    for (const item of list.split(',')) {
      const [tf, missing] = item.split('-');
      out.push({
        run: Number(run),
        timeframe: Number(tf),
        missing: missing === undefined || missing === '' ? [] : missing.split('.').map(Number),
      });
    }
  }
  return out.filter(
    (x) =>
      Number.isSafeInteger(x.run) &&
      Number.isSafeInteger(x.timeframe) &&
      x.missing.every((l) => Number.isSafeInteger(l) && l >= 0),
  );
}
