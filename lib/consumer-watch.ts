/**
 * A watch on a consumer-group member that stopped consuming while there is data for it: records beyond
 * where it got to on a partition it owns, no batch being handled, and none handed over for `stallAfterMs`.
 * The Kafka client's own loop can end up there after a broker outage and a rebalance (it waits on a
 * signal that never comes) and says nothing; the stage then takes no data while looking healthy, and a
 * run cannot drain. Told once per stall (the owner raises daqops.kafka.ConsumerStalled and ends, so that
 * it is restarted and re-reads from its last commit, the path every crash takes).
 *
 * Kafka away is no stall: when the ends or the commits cannot be read, nothing is judged.
 */

export interface ConsumerStall {
  readonly topic: string;
  /** Each partition left behind: where the member got to, and where the partition ends now. */
  readonly partitions: readonly { readonly partition: number; readonly at: number; readonly end: number }[];
  /** How long nothing was handed over. */
  readonly idleMs: number;
}

export interface ConsumerWatchOptions {
  readonly stallAfterMs: number;
  readonly now?: () => number;
  /** Where each partition of `topic` starts and ends now (its low and high watermarks). */
  readonly ends: (
    topic: string,
  ) => Promise<ReadonlyMap<number, { readonly low: number; readonly high: number }>>;
  /** The group's committed offsets, negative where none (where a member starts that has handed nothing over yet). */
  readonly committed: (topic: string, partitions: readonly number[]) => Promise<ReadonlyMap<number, number>>;
  readonly onStalled: (stall: ConsumerStall) => void;
}

export class ConsumerWatch {
  private owned = new Map<string, readonly number[]>();
  /** The next offset to hand over, per `topic/partition`, from the batches handed over. */
  private readonly next = new Map<string, number>();
  private busy = 0;
  private checking = false;
  private lastProgressMs: number;
  private readonly now: () => number;

  constructor(private readonly o: ConsumerWatchOptions) {
    this.now = o.now ?? Date.now;
    this.lastProgressMs = this.now();
  }

  /** The member's partitions after a rebalance (a rebalance is progress: the clock starts again). */
  assigned(view: Readonly<Record<string, readonly number[]>>): void {
    this.owned = new Map(Object.entries(view));
    for (const key of this.next.keys()) {
      const [topic, p] = splitKey(key);
      if (!(this.owned.get(topic) ?? []).includes(p)) this.next.delete(key);
    }
    this.lastProgressMs = this.now();
  }

  batchStarted(): void {
    this.busy++;
  }

  /** A batch was handled; `nextOffset` is the offset after its last record. */
  batchDone(topic: string, partition: number, nextOffset: number | undefined): void {
    this.busy = Math.max(0, this.busy - 1);
    if (nextOffset !== undefined) this.next.set(`${topic}/${partition}`, nextOffset);
    this.lastProgressMs = this.now();
  }

  /** Judges once (never two at once: a slow answer is not asked again meanwhile); the stall told of, if any. */
  async check(): Promise<ConsumerStall | undefined> {
    if (this.checking) return undefined;
    this.checking = true;
    try {
      return await this.judge();
    } finally {
      this.checking = false;
    }
  }

  private async judge(): Promise<ConsumerStall | undefined> {
    const since = this.lastProgressMs;
    if (this.busy > 0 || this.now() - since < this.o.stallAfterMs) return undefined;
    for (const [topic, partitions] of this.owned) {
      if (partitions.length === 0) continue;
      let ends: ReadonlyMap<number, { readonly low: number; readonly high: number }>;
      let committed: ReadonlyMap<number, number>;
      try {
        ends = await this.o.ends(topic);
        const unknown = partitions.filter((p) => !this.next.has(`${topic}/${p}`));
        committed = unknown.length === 0 ? new Map() : await this.o.committed(topic, unknown);
      } catch {
        return undefined;
      }
      // A batch came while we asked: not stalled after all.
      if (this.busy > 0 || this.lastProgressMs !== since) return undefined;
      const behind = partitions.flatMap((partition) => {
        const w = ends.get(partition);
        if (w === undefined) return [];
        const c = committed.get(partition);
        // Nothing committed yet: the member starts at the partition's oldest record.
        const at = this.next.get(`${topic}/${partition}`) ?? (c !== undefined && c >= 0 ? c : w.low);
        return w.high > at ? [{ partition, at, end: w.high }] : [];
      });
      if (behind.length > 0) {
        const stall = { topic, partitions: behind, idleMs: this.now() - since };
        this.lastProgressMs = this.now();
        this.o.onStalled(stall);
        return stall;
      }
    }
    return undefined;
  }
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('/');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}
