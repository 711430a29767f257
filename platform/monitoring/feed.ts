/**
 * The platform's reading of each environment's `<ns>.monitoring` (docs/data-path.md "Accounting"): read
 * once, from where the last read ended to the topic's end, record by record. Accounting records are
 * folded into per-run balances (protocol/balance.ts), the processors' aggregates into the detector view;
 * nothing is read twice, so a balance costs what came since the last one, whatever the age of the run or
 * the environment. Where each namespace's read ended, and its balances, are kept in the store after
 * every read, so a restarted platform goes on from there. One read per namespace at a time: callers
 * that ask meanwhile share it.
 *
 * Bounded: per namespace the balances of the latest KEPT_RUNS runs (each bounded by links, tasks and
 * gaps), the latest aggregate of each processor task for AGGREGATE_TTL_MS.
 */
import { ACCOUNTING_KIND, AGGREGATE_KIND, KIND_HEADER, decodeAccounting } from '../../protocol/accounting.js';
import type { Reconciliation } from '../../protocol/accounting.js';
import { RunBalance, type RunBalanceState } from '../../protocol/balance.js';
import { decodeAggregate, type MonitoringAggregate } from '../../protocol/monitoring.js';
import { topicNames } from '../../protocol/topics.js';
import type { ErsReporter } from '../../lib/ers.js';
import { headerText, readTopicFrom, type InRecord, type KafkaClient } from '../../lib/kafka.js';
import type { Metrics } from '../../lib/metrics.js';

/** Runs per namespace whose balance the feed keeps (older ones are in the run registry). */
export const KEPT_RUNS = 8;
/** An aggregate older than this no longer stands for the detector (its processor stopped or moved). */
export const AGGREGATE_TTL_MS = 60_000;

/** What the store keeps of one namespace's feed. */
export interface FeedState {
  readonly positions: Record<string, number>;
  readonly balances: RunBalanceState[];
}

export interface FeedStore {
  feedState(namespace: string): FeedState | undefined;
  saveFeedState(namespace: string, state: FeedState): void;
}

export interface FeedOptions {
  readonly client: KafkaClient;
  readonly store?: FeedStore;
  readonly metrics?: Metrics;
  readonly ers?: ErsReporter;
  readonly now?: () => number;
}

interface NamespaceFeed {
  readonly positions: Map<number, number>;
  readonly balances: Map<number, RunBalance>;
  readonly aggregates: Map<string, { aggregate: MonitoringAggregate; atMs: number }>;
  reading: Promise<void> | undefined;
  /** The read that follows the one under way (asked for while it ran). */
  following: Promise<void> | undefined;
  /** When a read last reached the topic's end (this platform process; undefined: not yet). */
  readToEndAtMs: number | undefined;
}

export class MonitoringFeed {
  private readonly feeds = new Map<string, NamespaceFeed>();
  private readonly now: () => number;

  constructor(private readonly o: FeedOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  /**
   * Reads what came on `<ns>.monitoring` since the last read, to the end it has now. Resolves once a read
   * that began after this call has ended (so what was published before the call is in).
   */
  catchUp(namespace: string): Promise<void> {
    const f = this.feed(namespace);
    if (f.reading === undefined) return this.start(namespace, f);
    // One is under way and may have begun before what the caller wants was published: one more read
    // follows it, shared by everyone who asks meanwhile.
    f.following ??= f.reading
      .catch(() => undefined)
      .then(() => {
        f.following = undefined;
        return this.start(namespace, f);
      });
    return f.following;
  }

  /** A run's balance as of now (read up to the topic's end first). */
  async balance(namespace: string, run: number): Promise<Reconciliation> {
    await this.catchUp(namespace);
    return this.known(namespace, run);
  }

  /** A run's balance as far as the feed has read, without reading (no Kafka needed). */
  known(namespace: string, run: number): Reconciliation {
    return (this.feeds.get(namespace)?.balances.get(run) ?? new RunBalance(run)).reconciliation();
  }

  /** When a read of the namespace last reached the topic's end: how current `known` is (undefined: never). */
  readToEndAt(namespace: string): number | undefined {
    return this.feeds.get(namespace)?.readToEndAtMs;
  }

  /** The latest aggregate of each processor of the namespace (those of the last AGGREGATE_TTL_MS). */
  aggregates(namespace: string): MonitoringAggregate[] {
    const f = this.feeds.get(namespace);
    if (f === undefined) return [];
    const t = this.now();
    for (const [task, a] of f.aggregates) if (t - a.atMs > AGGREGATE_TTL_MS) f.aggregates.delete(task);
    return [...f.aggregates.values()].map((a) => a.aggregate);
  }

  /** The namespace is gone (its environment ended): what the feed kept of it goes too. */
  forget(namespace: string): void {
    this.feeds.delete(namespace);
  }

  private feed(namespace: string): NamespaceFeed {
    let f = this.feeds.get(namespace);
    if (f === undefined) {
      const saved = this.o.store?.feedState(namespace);
      f = {
        positions: new Map(Object.entries(saved?.positions ?? {}).map(([p, o]) => [Number(p), o])),
        balances: new Map((saved?.balances ?? []).map((b) => [b.run, new RunBalance(b.run, b)])),
        aggregates: new Map(),
        reading: undefined,
        following: undefined,
        readToEndAtMs: undefined,
      };
      this.feeds.set(namespace, f);
    }
    return f;
  }

  private start(namespace: string, f: NamespaceFeed): Promise<void> {
    const reading = this.read(namespace, f).finally(() => {
      if (f.reading === reading) f.reading = undefined;
    });
    f.reading = reading;
    return reading;
  }

  private async read(namespace: string, f: NamespaceFeed): Promise<void> {
    const topic = topicNames(namespace).monitoring;
    const end = this.o.metrics?.histogram('daq_platform_feed_read_seconds').startTimer({ topic });
    const counted = { accounting: 0, aggregate: 0, unreadable: 0 };
    const r = await readTopicFrom(this.o.client, topic, f.positions, (rec) => {
      counted[this.fold(f, rec)]++;
    });
    end?.();
    for (const [p, o] of r.next) f.positions.set(p, o);
    if (r.complete) f.readToEndAtMs = this.now();
    if (r.skipped.length > 0) {
      this.o.ers?.raise(
        'daqops.platform.AccountingGone',
        `${topic} lost records to retention before the platform read them (${r.skipped.map((g) => `partition ${g.partition} offsets ${g.from}..${g.to - 1}`).join(', ')}); balances of those runs miss them`,
        { namespace, partitions: r.skipped.map((g) => g.partition).join(',') },
      );
    }
    const c = this.o.metrics?.counter('daq_platform_feed_records_total');
    for (const [kind, n] of Object.entries(counted)) if (n > 0) c?.labels({ topic, kind }).inc(n);
    if (r.count > 0 || r.skipped.length > 0) this.save(namespace, f);
  }

  /** One record into the feed; what kind it was. */
  private fold(f: NamespaceFeed, rec: InRecord): 'accounting' | 'aggregate' | 'unreadable' {
    const kind = headerText(rec.headers, KIND_HEADER);
    try {
      if (kind === ACCOUNTING_KIND) {
        const a = decodeAccounting(rec.value);
        if (!Number.isSafeInteger(a.run) || a.run < 0) return 'accounting';
        let b = f.balances.get(a.run);
        if (b === undefined) {
          // A run older than the kept ones: its balance is in the run registry already.
          const runs = [...f.balances.keys()];
          if (runs.length >= KEPT_RUNS && a.run < Math.min(...runs)) return 'accounting';
          b = new RunBalance(a.run);
          f.balances.set(a.run, b);
          if (f.balances.size > KEPT_RUNS) f.balances.delete(Math.min(...f.balances.keys()));
        }
        b.add(a);
        return 'accounting';
      }
      if (kind === AGGREGATE_KIND) {
        const a = decodeAggregate(rec.value);
        f.aggregates.set(a.task, { aggregate: a, atMs: this.now() });
        return 'aggregate';
      }
    } catch {
      // A record that does not decode is counted (daq_platform_feed_records_total{kind="unreadable"}).
    }
    return 'unreadable';
  }

  private save(namespace: string, f: NamespaceFeed): void {
    this.o.store?.saveFeedState(namespace, {
      positions: Object.fromEntries([...f.positions].map(([p, o]) => [String(p), o])),
      balances: [...f.balances.values()].map((b) => b.state()),
    });
  }
}
