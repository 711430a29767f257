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

export class TimeframeAssembler {
  private readonly pending = new Map<string, Pending>();
  /** Timeframes handed out: by an earlier member ('handled'), or by this one with the parts it had. */
  private readonly closed = new Map<string, 'handled' | ReadonlySet<string>>();
  private readonly closedOrder: string[] = [];
  /** Per (link, partition): the newest timeframe seen. Per link: when it last delivered anything. */
  private readonly watermarks = new Map<string, number>();
  private readonly lastSeen = new Map<number, number>();
  private readonly startedMs: number;

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

  /**
   * Marks a timeframe as handled by an earlier member of the group (from the committed offset's metadata):
   * its parts, re-read after the restart, are duplicates to skip, not data to process again.
   */
  markHandled(run: number, timeframe: number): void {
    this.remember(`${run}/${timeframe}`, 'handled');
  }

  /** Forgets timeframes waiting on partitions this member no longer owns (a rebalance moved them). */
  dropPartitions(owned: ReadonlySet<number>): number {
    let dropped = 0;
    for (const [key, p] of this.pending) {
      if (p.fragments.some((f) => !owned.has(f.partition))) {
        this.pending.delete(key);
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
    if (closed !== undefined)
      return closed === 'handled' || closed.has(`${f.header.link}/${f.header.part}`) ? 'duplicate' : 'late';
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

  private remember(key: string, how: 'handled' | ReadonlySet<string>): void {
    if (!this.closed.has(key)) this.closedOrder.push(key);
    this.closed.set(key, how);
    if (this.closedOrder.length > CLOSED_MEMORY) this.closed.delete(this.closedOrder.shift()!);
  }

  private isComplete(p: Pending): boolean {
    for (const link of this.links) {
      const l = p.parts.get(link);
      if (l === undefined || l.got.size < l.of) return false;
    }
    return true;
  }

  private close(key: string, p: Pending): AssembledTimeframe {
    this.pending.delete(key);
    this.remember(key, new Set(p.fragments.map((f) => `${f.header.link}/${f.header.part}`)));
    const missingLinks = this.links.filter((l) => {
      const got = p.parts.get(l);
      return got === undefined || got.got.size < got.of;
    });
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
  /** Per partition: timeframes handled, with the highest offset of their records there. */
  private readonly handled = new Map<number, Map<string, number>>();

  /** Records that timeframe `key` was handled with records up to `maxOffset` on `partition`. */
  handledTimeframe(partition: number, key: string, maxOffset: number): void {
    let m = this.handled.get(partition);
    if (m === undefined) {
      m = new Map();
      this.handled.set(partition, m);
    }
    m.set(key, Math.max(maxOffset, m.get(key) ?? -1));
  }

  /**
   * Timeframes handled whose records reach at or beyond `committed`: a restart re-reads those records,
   * so the commit carries these keys for the next member to skip. Older ones are forgotten.
   */
  handledAhead(partition: number, committed: number): string[] {
    const m = this.handled.get(partition);
    if (m === undefined) return [];
    const out: string[] = [];
    for (const [key, max] of m) {
      if (max < committed) m.delete(key);
      else out.push(key);
    }
    return out;
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
  }
}

/** Commit metadata: "v1:<run>:<tf>,<tf>…;<run>:…" — timeframes handled beyond the committed offset. */
export function encodeHandled(keys: readonly string[]): string {
  const byRun = new Map<string, number[]>();
  for (const k of keys) {
    const [run, tf] = k.split('/');
    if (run === undefined || tf === undefined) continue;
    byRun.set(run, [...(byRun.get(run) ?? []), Number(tf)]);
  }
  return `v1:${[...byRun].map(([run, tfs]) => `${run}:${tfs.sort((a, b) => a - b).join(',')}`).join(';')}`;
}

export function decodeHandled(metadata: string | null | undefined): { run: number; timeframe: number }[] {
  if (metadata === null || metadata === undefined || !metadata.startsWith('v1:')) return [];
  const out: { run: number; timeframe: number }[] = [];
  for (const group of metadata.slice(3).split(';')) {
    const [run, list] = group.split(':');
    if (run === undefined || list === undefined || list === '') continue;
    for (const tf of list.split(',')) out.push({ run: Number(run), timeframe: Number(tf) });
  }
  return out.filter((x) => Number.isSafeInteger(x.run) && Number.isSafeInteger(x.timeframe));
}
