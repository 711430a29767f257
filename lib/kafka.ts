/**
 * Every Kafka call daqops makes goes through this module. The client is librdkafka through
 * `@confluentinc/kafka-javascript` (its KafkaJS-style API for producers and the admin client, its native
 * consumer for group members and plain reads);
 * docs/decisions.md ("Kafka client") has the measurements behind the choice. Nothing of the library leaks
 * out: callers see KafkaClient, RecordProducer, RecordConsumer, readTopicToEnd and the record types.
 *
 * Outages are weather here: librdkafka reconnects by itself, a producer keeps records queued (within a
 * bounded budget) until the broker is back, and a consumer resumes from its committed offsets. The
 * client's own log lines become ERS issues (`daqops.kafka.ClientLog`), throttled, with broker and client id.
 */
import { KafkaJS, RdKafka } from '@confluentinc/kafka-javascript';
import { ConsumerWatch, type ConsumerStall } from './consumer-watch.js';
import { DaqError, isDaqError } from '../protocol/errors.js';
import { hostname } from 'node:os';
import type { ErsIssue } from '../protocol/ers.js';
import { BROKER_MAX_MESSAGE_BYTES } from '../protocol/topics.js';
import { ErsThrottle, stderrErsSink } from './ers.js';
import { envString } from './env.js';
import { BrokerLossWatch, STATS_INTERVAL_MS } from './broker-loss.js';

type KjsKafka = KafkaJS.Kafka;
type KjsProducer = KafkaJS.Producer;
type KjsAdmin = KafkaJS.Admin;

export interface KafkaLogRecord {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  /** The broker the line is about (`host:port`), when it names one. */
  readonly broker: string | undefined;
  readonly clientId: string;
  /** librdkafka's facility (CONNECT, FAIL, GETPID, …). */
  readonly facility: string | undefined;
  /** Lines of this kind suppressed by the throttle since the last one that passed. */
  readonly suppressed: number;
  /** A condition the client rides out by itself (a broker away, a group rebalancing): not an error of ours. */
  readonly transient: boolean;
}

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /**
   * Where the client's own log lines go, after the throttle (the first 30 of a kind, then one in 100).
   * Default: an ERS `daqops.kafka.ClientLog` record on stderr, which the agent forwards as the task's own.
   */
  readonly log?: (record: KafkaLogRecord) => void;
  /** How long admin calls (topic creation, offsets, reachability) wait for the broker; default 10 s. */
  readonly requestTimeoutMs?: number;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config?: Readonly<Record<string, string>>;
  /** Copies of each partition (default: the broker's `default.replication.factor`). */
  readonly replication?: number;
}

// librdkafka says these while a broker restarts or a group rebalances; it retries by itself.
const TRANSIENT = new RegExp(
  [
    'connection refused',
    'connect to ipv4',
    'disconnected',
    'all broker connections are down',
    'broker transport failure',
    'coordinator load in progress',
    'coordinator is loading',
    'coordinator not available',
    'not coordinator',
    'not the leader',
    'not leader',
    'no leader',
    'rebalanc',
    'timed out',
    'unknown topic or partition',
  ].join('|'),
  'i',
);

// "127.0.0.1:9092/1: …", "localhost:9092/bootstrap: …": the broker a librdkafka line is about.
const BROKER_IN_LINE = /(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|[a-z][\w.-]*):(\d{1,5})\/\w+/i;

/**
 * The ERS severity of a client log line: the client's errors and warnings, except what it rides out by
 * itself (a broker away, a group rebalancing: the outage is reported once, as KafkaUnreachable), which is
 * information.
 */
export function kafkaLogSeverity(r: KafkaLogRecord): 'Error' | 'Warning' | 'Information' | 'Debug' {
  if (r.level === 'debug') return 'Debug';
  if (r.level === 'info' || r.transient) return 'Information';
  return r.level === 'error' ? 'Error' : 'Warning';
}

/** The default sink: an ERS record on stderr for warnings and errors (the agent forwards it as the task's). */
function ersStderrLog(r: KafkaLogRecord): void {
  const severity = kafkaLogSeverity(r);
  if (severity === 'Debug' || severity === 'Information') return;
  const parameters: Record<string, string | number> = { clientId: r.clientId };
  if (r.broker !== undefined) parameters['broker'] = r.broker;
  if (r.facility !== undefined) parameters['facility'] = r.facility;
  if (r.suppressed > 0) parameters['suppressed'] = r.suppressed;
  const issue: ErsIssue = {
    severity,
    name: 'daqops.kafka.ClientLog',
    message: r.message,
    context: { host: hostname(), pid: process.pid, application: r.clientId },
    parameters,
    qualifiers: r.suppressed > 0 ? ['throttled'] : [],
    causes: [],
    time: new Date().toISOString(),
  };
  stderrErsSink(issue);
}

/** The log adapter the library calls: classify, throttle per (level, facility, broker), hand on. */
export function kafkaLogger(clientId: string, sink: (r: KafkaLogRecord) => void): KafkaJS.Logger {
  const throttle = new ErsThrottle();
  const emit = (level: KafkaLogRecord['level'], message: string, extra?: object): void => {
    const fields = (extra ?? {}) as { fac?: unknown };
    const facility = typeof fields.fac === 'string' ? fields.fac : undefined;
    // librdkafka prefixes lines with its thread: "[thrd:main]: 127.0.0.1:9092/1: Connect to …".
    const text = message.replace(/^\[thrd:[^\]]*\]:\s*/, '');
    const m = BROKER_IN_LINE.exec(text);
    const broker = m === null ? undefined : `${m[1]}:${m[2]}`;
    // Debug lines are asked for (DAQOPS_KAFKA_DEBUG) to follow a case line by line: never thinned.
    const d =
      level === 'debug'
        ? { pass: true, suppressed: 0 }
        : throttle.admit(`${level}|${facility ?? ''}|${broker ?? ''}`);
    if (!d.pass) return;
    sink({
      level,
      message: text,
      broker,
      clientId,
      facility,
      suppressed: d.suppressed,
      transient: TRANSIENT.test(text),
    });
  };
  const logger: KafkaJS.Logger = {
    error: (msg, extra) => emit('error', msg, extra),
    warn: (msg, extra) => emit('warn', msg, extra),
    info: (msg, extra) => emit('info', msg, extra),
    debug: (msg, extra) => emit('debug', msg, extra),
    namespace: () => logger,
    setLogLevel: () => undefined,
  };
  return logger;
}

/** How long the client's admin connection stays open without a question. */
const ADMIN_IDLE_MS = 5_000;
/** Readers kept between reads, and for how long unused. */
const MAX_IDLE_READERS = 4;
const READER_IDLE_MS = 30_000;

interface SharedAdmin {
  readonly admin: KjsAdmin;
  readonly ready: Promise<void>;
  users: number;
  idle: NodeJS.Timeout | undefined;
  /** A question failed on it: it is closed when the last one using it ends. */
  broken: boolean;
}

/** A connected-on-demand handle to one Kafka cluster. */
export class KafkaClient {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** @internal the library handle, for this module's classes only. */
  readonly kafka: KjsKafka;
  /** @internal */
  readonly logger: KafkaJS.Logger;
  readonly requestTimeoutMs: number;

  constructor(options: KafkaClientOptions) {
    if (options.brokers.length === 0) {
      throw new DaqError('INVALID_CONFIG', 'at least one Kafka broker is required', { field: 'brokers' });
    }
    this.brokers = [...options.brokers];
    this.clientId = options.clientId;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.logger = kafkaLogger(options.clientId, options.log ?? ersStderrLog);
    this.kafka = new KafkaJS.Kafka({
      kafkaJS: {
        clientId: options.clientId,
        brokers: [...options.brokers],
        logLevel: KafkaJS.logLevel.WARN,
        logger: this.logger,
      },
      // A restarted broker is tried again within a second, not after librdkafka's 10 s backoff ceiling.
      'reconnect.backoff.ms': 100,
      'reconnect.backoff.max.ms': 1000,
    });
  }

  /**
   * One admin connection for every question this client asks (topics, offsets, pings), opened on the
   * first and closed after ADMIN_IDLE_MS without one: an admin client per question was a librdkafka
   * instance, its threads and its connections each time, and the platform's resident memory grew with
   * every ping (docs/agent.md "Memory"). librdkafka reconnects it by itself after an outage.
   */
  private shared: SharedAdmin | undefined;

  /** @internal */
  async withAdmin<T>(fn: (admin: KjsAdmin) => Promise<T>): Promise<T> {
    const s = await this.sharedAdmin();
    s.users++;
    clearTimeout(s.idle);
    try {
      return await fn(s.admin);
    } catch (err) {
      // A question that failed may leave the connection unusable (after a broker stalled, the library can
      // give up on it for good): the next question opens a new one, as before an outage ended.
      s.broken = true;
      if (this.shared === s) this.shared = undefined;
      throw err;
    } finally {
      s.users--;
      if (s.users === 0) {
        if (s.broken) void this.closeAdmin(s);
        else s.idle = setTimeout(() => void this.closeAdmin(s), ADMIN_IDLE_MS).unref();
      }
    }
  }

  private async sharedAdmin(): Promise<SharedAdmin> {
    let s = this.shared;
    if (s === undefined) {
      const admin = this.kafka.admin();
      // Bounded: a connect to a broker that accepts TCP but never answers (SIGSTOPped, a half-open
      // link) would otherwise hang, and every later question of this client would wait behind it.
      const ready = within(admin.connect(), this.requestTimeoutMs, 'connecting the admin client');
      s = { admin, ready, users: 0, idle: undefined, broken: false };
      this.shared = s;
    }
    try {
      await s.ready;
      return s;
    } catch (err) {
      // Not connected: the next question opens a new one.
      if (this.shared === s) this.shared = undefined;
      // Bounded too: a disconnect while the connect it gave up on is still under way may never settle.
      await settledWithin(s.admin.disconnect(), 2000);
      throw new DaqError('KAFKA_UNAVAILABLE', `no Kafka broker answers at ${this.brokers.join(',')}`, {
        cause: err,
      });
    }
  }

  /** Disconnects `s` once no question uses it (`force`: at once); a later question opens a new one. */
  private async closeAdmin(s: SharedAdmin, force = false): Promise<void> {
    if (s.users > 0 && !force) return;
    if (this.shared === s) this.shared = undefined;
    clearTimeout(s.idle);
    await settledWithin(
      s.ready.then(
        () => s.admin.disconnect(),
        () => undefined,
      ),
      2000,
    );
  }

  /** Readers (readTopicFrom) between two reads, each closed after READER_IDLE_MS unused. */
  private readonly idleReaders: { consumer: RdKafka.KafkaConsumer; idle: NodeJS.Timeout }[] = [];

  /**
   * @internal One read with a connected reader: one from the pool, else a new one. The platform reads
   * each environment's feed every few seconds; a new librdkafka consumer each time cost its threads and
   * connections and a few MiB of resident memory that never all came back. A read that failed, or whose
   * result `reusable` refuses, closes its reader (the next one connects anew).
   */
  async withReader<T>(
    fn: (consumer: RdKafka.KafkaConsumer) => Promise<T>,
    reusable: (result: T) => boolean = () => true,
  ): Promise<T> {
    const parked = this.idleReaders.pop();
    if (parked !== undefined) clearTimeout(parked.idle);
    const consumer = parked?.consumer ?? (await connectReader(this));
    let healthy = false;
    try {
      const r = await fn(consumer);
      healthy = reusable(r);
      return r;
    } finally {
      if (healthy && this.idleReaders.length < MAX_IDLE_READERS) {
        const entry = {
          consumer,
          idle: setTimeout(() => {
            const i = this.idleReaders.indexOf(entry);
            if (i >= 0) this.idleReaders.splice(i, 1);
            void closeNative(consumer);
          }, READER_IDLE_MS).unref(),
        };
        this.idleReaders.push(entry);
      } else {
        await closeNative(consumer);
      }
    }
  }

  /** Closes the client's admin connection (also mid-question) and its idle readers; a later use opens anew. */
  async close(): Promise<void> {
    const readers = this.idleReaders.splice(0);
    for (const r of readers) clearTimeout(r.idle);
    await Promise.all(readers.map((r) => closeNative(r.consumer)));
    if (this.shared !== undefined) await this.closeAdmin(this.shared, true);
  }

  /** Creates the topics that do not exist yet and waits until every partition has a leader. */
  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const timeout = this.requestTimeoutMs;
    await this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics({ timeout }));
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        try {
          await admin.createTopics({
            timeout,
            topics: missing.map((t) => ({
              topic: t.topic,
              numPartitions: t.partitions,
              // The broker's default unless the caller says (lib/topics.ts replicationFor).
              replicationFactor: t.replication ?? -1,
              configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
            })),
          });
        } catch (err) {
          // Another workload may have created them at the same moment: fine if they all exist now.
          const now = new Set(await admin.listTopics({ timeout }));
          if (!missing.every((t) => now.has(t.topic))) throw err;
        }
      }
      // A new topic's metadata reaches the broker's cache a moment after creation: ask until it has
      // a leader for every partition.
      const deadline = Date.now() + timeout;
      const names = topics.map((t) => t.topic);
      for (;;) {
        let led = false;
        let why = 'no leader yet';
        try {
          const meta = await admin.fetchTopicMetadata({ topics: names, timeout });
          led =
            meta.length === names.length &&
            meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        } catch (err) {
          why = err instanceof Error ? err.message : String(err);
        }
        if (led) return;
        if (Date.now() > deadline) {
          throw new DaqError(
            'KAFKA_UNAVAILABLE',
            `topics ${names.join(', ')} not ready in ${timeout} ms: ${why}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    await this.withAdmin((admin) =>
      admin.deleteTopics({ topics: [...topics], timeout: this.requestTimeoutMs }),
    );
  }

  /** How many topics the cluster has; throws KAFKA_UNAVAILABLE when no broker answers within `timeoutMs`. */
  async ping(timeoutMs = 3000): Promise<{ topics: number }> {
    try {
      const topics = await this.withAdmin((admin) => admin.listTopics({ timeout: timeoutMs }));
      return { topics: topics.length };
    } catch (err) {
      if (err instanceof DaqError && err.code === 'KAFKA_UNAVAILABLE') throw err;
      throw new DaqError('KAFKA_UNAVAILABLE', `no Kafka broker answers at ${this.brokers.join(',')}`, {
        cause: err,
      });
    }
  }

  /**
   * The brokers the cluster lists now, and for the topics asked (all when none are named) each partition's
   * leader, replicas and in-sync replicas: what the data path can survive (lib/topics.ts).
   */
  async describeCluster(topics?: readonly string[]): Promise<ClusterDescription> {
    const meta = await this.withReader(
      (consumer) =>
        new Promise<RdKafka.Metadata>((resolve, reject) => {
          const one = topics?.length === 1 ? { topic: topics[0] } : { allTopics: true };
          consumer.getMetadata({ ...one, timeout: this.requestTimeoutMs }, (err, data: RdKafka.Metadata) =>
            err
              ? reject(
                  new DaqError('KAFKA_UNAVAILABLE', `cannot describe the cluster: ${err.message}`, {
                    cause: err,
                  }),
                )
              : resolve(data),
          );
        }),
    );
    const wanted = topics === undefined ? undefined : new Set(topics);
    return {
      brokers: meta.brokers
        .map((b) => ({ id: b.id, host: b.host, port: b.port }))
        .sort((a, b) => a.id - b.id),
      topics: meta.topics
        .filter((t) => (wanted === undefined ? !t.name.startsWith('__') : wanted.has(t.name)))
        .map((t) => ({
          name: t.name,
          partitions: t.partitions
            .map((p) => ({ id: p.id, leader: p.leader, replicas: [...p.replicas], isr: [...p.isrs] }))
            .sort((a, b) => a.id - b.id),
        })),
    };
  }

  /** The first and next offset of each partition of a topic ([] when the topic does not exist). */
  async topicOffsets(topic: string): Promise<{ partition: number; low: bigint; high: bigint }[]> {
    return this.withAdmin(async (admin) => {
      if (!(await admin.listTopics({ timeout: this.requestTimeoutMs })).includes(topic)) return [];
      const ends = await admin.fetchTopicOffsets(topic, {
        timeout: this.requestTimeoutMs,
        isolationLevel: KafkaJS.IsolationLevel.READ_UNCOMMITTED,
      });
      return ends.map((e) => ({ partition: e.partition, low: BigInt(e.low), high: BigInt(e.high) }));
    });
  }
}

/** What the cluster's metadata says: its brokers now, and per topic each partition's replicas. */
export interface ClusterDescription {
  readonly brokers: readonly { readonly id: number; readonly host: string; readonly port: number }[];
  readonly topics: readonly {
    readonly name: string;
    readonly partitions: readonly {
      readonly id: number;
      /** -1 while the partition has no leader. */
      readonly leader: number;
      readonly replicas: readonly number[];
      readonly isr: readonly number[];
    }[];
  }[];
}

/**
 * A cheap, repeated "does a broker answer?" over one long-lived admin connection (the processor's
 * assembly clock, the platform's watch). librdkafka reconnects it by itself after an outage.
 */
export class KafkaProbe {
  private admin: KjsAdmin | undefined;

  constructor(private readonly client: KafkaClient) {}

  /** True when a broker answered a metadata request within `timeoutMs`; never throws. */
  async check(timeoutMs = 1000): Promise<boolean> {
    try {
      if (this.admin === undefined) {
        // One that has lost its way to the brokers (lib/broker-loss.ts) would say "no" for ever: the next
        // check connects a new one.
        const holder: { admin?: KjsAdmin } = {};
        const loss = new BrokerLossWatch({
          reachable: () => clusterAnswers(this.client),
          onStuck: () => {
            if (this.admin !== holder.admin) return;
            this.client.logger.warn('Kafka probe lost its way to a cluster that answers: replaced', {});
            this.admin = undefined;
            void settledWithin(holder.admin!.disconnect(), 2000);
          },
        });
        const admin = this.client.kafka.admin({
          'statistics.interval.ms': STATS_INTERVAL_MS,
          stats_cb: (st: { message: string }) => loss.report(st.message),
        });
        holder.admin = admin;
        await admin.connect();
        this.admin = admin;
      }
      await this.admin.listTopics({ timeout: timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.admin !== undefined) await settledWithin(this.admin.disconnect(), 2000);
    this.admin = undefined;
  }
}

/** A record to send. Values are bytes; header values text. */
export interface OutRecord {
  readonly key?: string;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A received record, independent of the client library. */
export interface InRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
  /** Producer create time, ms since the epoch. */
  readonly timestampMs: number;
}

export interface InBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly InRecord[];
  /** Records between the last one of this batch and the partition's high watermark. */
  readonly lag: number;
}

export type Compression = 'none' | 'gzip' | 'lz4' | 'zstd';

/** Dead-letter headers every stage uses: why a record was set aside, and what exactly. */
export const DEADLETTER_REASON_HEADER = 'daq-deadletter-reason';
export const DEADLETTER_DETAIL_HEADER = 'daq-deadletter-detail';
/** The topic a record set aside by the producer was meant for. */
export const DEADLETTER_TOPIC_HEADER = 'daq-deadletter-topic';

/** Room for a record's framing, key and headers beside its value, in bytes. */
const RECORD_OVERHEAD_BYTES = 1024;

/** The bytes a record takes on the wire, near enough to keep it under a limit. */
function recordBytes(r: OutRecord): number {
  let n = r.value.byteLength + (r.key?.length ?? 0) + 64;
  for (const [k, v] of Object.entries(r.headers ?? {})) n += k.length + v.length + 8;
  return n;
}

/**
 * What an unacknowledged record costs in memory beyond its bytes: its objects here and the client's copy
 * with its own bookkeeping (about 2 KiB, measured with the readout's ~800-byte sub-timeframes at pacing
 * max). A budget that counted the bytes alone held 160,000 small records in 128 MiB "of data", and three
 * times that in memory.
 */
export const RECORD_MEMORY_OVERHEAD_BYTES = 2048;

/** The memory a record holds while unacknowledged, for a budget of what is in flight. */
export function recordMemoryBytes(r: OutRecord): number {
  return recordBytes(r) + RECORD_MEMORY_OVERHEAD_BYTES;
}

/** Unacknowledged bytes a producer holds unless told otherwise. */
const DEFAULT_MAX_QUEUED_BYTES = 256 * 1024 * 1024;

export interface ProducerOptions {
  readonly compression?: Compression;
  /**
   * How long a record may wait for the broker before it fails; 0 = for ever (the data path: an outage is
   * ridden out under backpressure from `maxQueuedBytes`). Default 0.
   */
  readonly deliveryTimeoutMs?: number;
  /** Bytes the client may hold unacknowledged; a send beyond it waits (backpressure). Default 256 MiB. */
  readonly maxQueuedBytes?: number;
  /** Largest record accepted; larger ones go to `deadletterTopic` (or fail). Default broker limit − 1 KiB. */
  readonly maxRecordBytes?: number;
  /** Where a record too large to ever be produced goes instead, with its reason. */
  readonly deadletterTopic?: string;
  /** Told of every record set aside as too large (for counters and ERS). */
  readonly onTooLarge?: (topic: string, bytes: number, limit: number) => void;
}

/**
 * An idempotent, acks=all producer. `send` resolves when every record is acknowledged; many sends may be
 * in flight at once (librdkafka pipelines them, in order per partition).
 */
export class RecordProducer {
  private queuedBytes = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly maxQueuedBytes: number;
  private readonly maxRecordBytes: number;
  /** The library producer in use; replaced when it has lost its way to the brokers (lib/broker-loss.ts). */
  private producer!: KjsProducer;
  /** Sends not acknowledged yet, in the order they were made: a replacement sends them again in it. */
  private readonly unacknowledged = new Set<InFlightSend>();
  /** Set while a replacement is under way; new sends wait for it, to stay behind the ones sent again. */
  private replacing: Promise<void> | undefined;
  private replaced = 0;
  /** Bumped when a replacement starts: answers of an earlier producer no longer count. */
  private generation = 0;
  private closed = false;

  private constructor(
    private readonly client: KafkaClient,
    private readonly o: ProducerOptions,
  ) {
    this.maxQueuedBytes = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.maxRecordBytes = o.maxRecordBytes ?? BROKER_MAX_MESSAGE_BYTES - RECORD_OVERHEAD_BYTES;
  }

  /** How many times this producer replaced a library producer that had lost its way to the brokers. */
  get replacements(): number {
    return this.replaced;
  }

  /** @internal Replaces the library producer as when it had lost its way to the brokers (for tests). */
  replaceClient(): Promise<void> {
    return this.replace(this.producer, 0);
  }

  static async open(client: KafkaClient, options: ProducerOptions = {}): Promise<RecordProducer> {
    const self = new RecordProducer(client, options);
    self.producer = await self.connect();
    return self;
  }

  private async connect(): Promise<KjsProducer> {
    const { client, o } = this;
    const maxQueuedBytes = o.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    const compression = {
      none: KafkaJS.CompressionTypes.None,
      gzip: KafkaJS.CompressionTypes.GZIP,
      lz4: KafkaJS.CompressionTypes.LZ4,
      zstd: KafkaJS.CompressionTypes.ZSTD,
    }[o.compression ?? 'none'];
    const holder: { p?: KjsProducer } = {};
    const loss = new BrokerLossWatch({
      onStuck: (ms) => void this.replace(holder.p!, ms),
      reachable: () => clusterAnswers(client),
      // Idle, it may let its connections go (the broker closes idle ones) and open them when it sends.
      needsBroker: () => this.unacknowledged.size > 0,
    });
    const p = client.kafka.producer({
      kafkaJS: { idempotent: true, acks: -1, compression, allowAutoTopicCreation: false },
      // One produce request never exceeds the broker's record-batch limit, whatever the data density.
      'message.max.bytes': BROKER_MAX_MESSAGE_BYTES,
      // librdkafka's default batch.size (1 MB): a 1 MiB sub-timeframe travels as its own batch, and many
      // small requests pipeline better than few large ones (measured: 2× with 1 MiB records).
      'linger.ms': 2,
      'message.timeout.ms': o.deliveryTimeoutMs ?? 0,
      // librdkafka's own queue is sized above our budget, so it never refuses a record we let through.
      'queue.buffering.max.kbytes': Math.ceil((2 * maxQueuedBytes) / 1024),
      'queue.buffering.max.messages': 1_000_000,
      'statistics.interval.ms': STATS_INTERVAL_MS,
      stats_cb: (s: { message: string }) => loss.report(s.message),
    });
    holder.p = p;
    try {
      await p.connect();
    } catch (err) {
      throw new DaqError('KAFKA_UNAVAILABLE', `cannot connect a producer to ${client.brokers.join(',')}`, {
        cause: err,
      });
    }
    return p;
  }

  /**
   * Replaces a library producer that has lost its way to the brokers with a new one, and sends again, in their
   * order, the records it held unacknowledged (at least once: a record it did deliver comes twice).
   */
  private async replace(old: KjsProducer, forMs: number): Promise<void> {
    if (this.closed || old !== this.producer || this.replacing !== undefined) return;
    this.client.logger.warn(
      `producer has had no Kafka broker connection for ${forMs} ms while the cluster answers, and does ` +
        `not reconnect by itself: replaced, its ${this.unacknowledged.size} unacknowledged send(s) sent again`,
      {},
    );
    // From here on the old producer's answers do not count: all it holds is sent again.
    this.generation++;
    this.replacing = (async () => {
      const next = await openWithBackoff(
        () => this.connect(),
        () => this.closed,
        (err) => this.client.logger.warn(`replacing a producer: ${err.message}`, {}),
      );
      if (next !== undefined) {
        this.producer = next;
        this.replaced++;
      }
      for (const s of this.unacknowledged) {
        if (this.closed)
          s.failed(new DaqError('KAFKA_UNAVAILABLE', 'producer closed while it was being replaced'));
        else this.issue(s);
      }
      // What the old one still holds fails as it disconnects; those sends are answered by the new one.
      void settledWithin(old.disconnect(), 2000);
    })().finally(() => (this.replacing = undefined));
    await this.replacing;
  }

  /** Hands a send to the producer in use; only that producer's answer counts, and only until it is replaced. */
  private issue(s: InFlightSend): void {
    const generation = this.generation;
    // Fresh message objects each time: the library turns a message's headers into its own form in place,
    // and a send issued again (after a replacement) must hand it the headers as the caller gave them.
    const topicMessages = s.topicMessages.map((t) => ({
      topic: t.topic,
      messages: t.messages.map((m) => ({ ...m })),
    }));
    this.producer.sendBatch({ topicMessages }).then(
      () => {
        if (generation === this.generation) s.acknowledged();
      },
      (err: unknown) => {
        if (generation === this.generation) s.failed(err);
      },
    );
  }

  /**
   * Sends records to several topics; resolves when all are acknowledged. Waits first while more than the
   * budget is unacknowledged. A record over the size limit goes to the dead-letter topic when one is set
   * (and `onTooLarge` is told), else the send fails with RECORD_TOO_LARGE before anything is sent.
   */
  async send(batches: readonly { topic: string; records: readonly OutRecord[] }[]): Promise<void> {
    const topicMessages: KafkaJS.TopicMessages[] = [];
    const setAside: OutRecord[] = [];
    let bytes = 0;
    for (const b of batches) {
      const messages: KafkaJS.Message[] = [];
      for (const r of b.records) {
        const size = recordBytes(r);
        if (size > this.maxRecordBytes) {
          if (this.o.deadletterTopic === undefined || b.topic === this.o.deadletterTopic) {
            throw new DaqError(
              'RECORD_TOO_LARGE',
              `a record of ${size} bytes for ${b.topic} exceeds the limit of ${this.maxRecordBytes} bytes`,
              { field: b.topic },
            );
          }
          setAside.push(tooLargeRecord(b.topic, r, size, this.maxRecordBytes));
          this.o.onTooLarge?.(b.topic, size, this.maxRecordBytes);
          continue;
        }
        bytes += size + RECORD_MEMORY_OVERHEAD_BYTES;
        messages.push({ key: r.key ?? null, value: r.value, headers: r.headers ?? {} });
      }
      if (messages.length > 0) topicMessages.push({ topic: b.topic, messages });
    }
    if (setAside.length > 0)
      topicMessages.push({ topic: this.o.deadletterTopic!, messages: setAside.map(toMessage) });
    if (topicMessages.length === 0) return;
    // Backpressure: one send larger than the whole budget still goes, alone.
    while (this.queuedBytes > 0 && this.queuedBytes + bytes > this.maxQueuedBytes) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    this.queuedBytes += bytes;
    let s: InFlightSend | undefined;
    try {
      // Behind the records a replacement is sending again, never ahead of them.
      while (this.replacing !== undefined) await this.replacing;
      const answered = new Promise<void>((resolve, reject) => {
        s = { topicMessages, acknowledged: resolve, failed: reject };
      });
      this.unacknowledged.add(s!);
      this.issue(s!);
      await answered;
    } finally {
      if (s !== undefined) this.unacknowledged.delete(s);
      this.queuedBytes -= bytes;
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Flushes and disconnects; bounded like RecordConsumer.stop (librdkafka itself gives a flush 5 s). */
  async close(timeoutMs = 8000): Promise<void> {
    this.closed = true;
    await settledWithin(this.replacing ?? Promise.resolve(), timeoutMs);
    await settledWithin(this.producer.disconnect(), timeoutMs);
  }
}

/** One `send` until a producer answers it: what to send again should its producer be replaced. */
interface InFlightSend {
  readonly topicMessages: KafkaJS.TopicMessages[];
  readonly acknowledged: () => void;
  readonly failed: (err: unknown) => void;
}

function toMessage(r: OutRecord): KafkaJS.Message {
  return { key: r.key ?? null, value: r.value, headers: r.headers ?? {} };
}

/** What stands on the dead-letter topic for a record too large to produce: its key, headers and reason. */
function tooLargeRecord(topic: string, r: OutRecord, size: number, limit: number): OutRecord {
  return deadletterRecord(
    { ...r, value: Buffer.alloc(0) },
    'too-large',
    `${size} bytes > limit ${limit} bytes`,
    topic,
  );
}

/**
 * A record set aside on a dead-letter topic, as every stage writes one: its key, value and headers as
 * they were (received header values as text), why (`reason`), what exactly (`detail`), and the topic it
 * came from or was meant for, when that is not obvious from where it was read.
 */
export function deadletterRecord(
  r: { readonly key?: string | undefined; readonly value: Buffer; readonly headers?: InRecord['headers'] },
  reason: string,
  detail: string,
  topic?: string,
): OutRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) headers[k] = typeof first === 'string' ? first : first.toString('latin1');
  }
  headers[DEADLETTER_REASON_HEADER] = reason;
  headers[DEADLETTER_DETAIL_HEADER] = detail;
  if (topic !== undefined) headers[DEADLETTER_TOPIC_HEADER] = topic;
  return { ...(r.key === undefined ? {} : { key: r.key }), value: r.value, headers };
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning?: boolean;
  /** Called for each fetched batch, one partition at a time; offsets are committed only by `commit`. */
  readonly onBatch: (batch: InBatch) => Promise<void>;
  /** Most bytes fetched from one partition in one request. Default 8 MiB. */
  readonly maxBytesPerPartition?: number;
  /** Most records handed to one `onBatch`. Default 64. */
  readonly maxBatchRecords?: number;
  /** Bytes prefetched and held by the client, in all (bounds the consumer's memory). Default 32 MiB. */
  readonly maxPrefetchBytes?: number;
  readonly sessionTimeoutMs?: number;
  /** Called after every rebalance with the partitions this member now owns, per topic. */
  readonly onAssignment?: (assignment: Readonly<Record<string, readonly number[]>>) => void;
  /**
   * Told when the member has stopped consuming while there are records for it (lib/consumer-watch.ts):
   * nothing handed over for `stallAfterMs` (default 30 s), no batch being handled. Without it, no watch.
   */
  readonly onStalled?: (stall: ConsumerStall) => void;
  readonly stallAfterMs?: number;
}

/** The native consumer's methods its type declarations leave out. */
type NativeConsumer = RdKafka.KafkaConsumer & NativeConsumerExtras;
interface NativeConsumerExtras {
  commitCb(
    offsets: RdKafka.TopicPartitionOffsetAndMetadata[],
    cb: (err: RdKafka.LibrdKafkaError | null) => void,
  ): void;
  setDefaultIsTimeoutOnlyForFirstMessage?(only: boolean): void;
}

/** Most records one poll of the group consumer takes (split per partition into `maxBatchRecords`). */
const POLL_MAX_RECORDS = 1024;
/** How long a commit may wait for the group's coordinator before it counts as refused. */
const COMMIT_TIMEOUT_MS = 10_000;
/** How long a group member waits before reading a batch its owner refused again. */
const REFUSED_BATCH_BACKOFF_MS = 200;

/**
 * A consumer-group member that never commits by itself: the caller commits what it has safely handled.
 *
 * It is librdkafka's own consumer under a poll loop of ours, not the library's KafkaJS-style runner: that
 * runner defers the unassign of a lost assignment until its worker ends, and its worker can wait for
 * records of the partitions it lost; after a broker stalled longer than the session timeout a member then
 * never rejoined its group and took no record again, while its process looked healthy (seen in the
 * SIGSTOP outage test; docs/decisions.md "Kafka client"). Here a rebalance is answered at once
 * (assign/unassign in the callback), and records are handed over only for partitions the member owns.
 */
export class RecordConsumer {
  private stopped = false;
  private readonly owned = new Map<string, Set<number>>();
  /** Rebalances so far: records of a poll are handed over only under the assignment they came with. */
  private rebalances = 0;
  private loop: Promise<void> = Promise.resolve();
  private watchTimer: NodeJS.Timeout | undefined;
  /** The native consumer in use; replaced when it has lost its way to the brokers (lib/broker-loss.ts). */
  private consumer!: NativeConsumer;
  /** Set while a replacement is under way; the poll loop waits for it. */
  private replacing: Promise<void> | undefined;
  private replaced = 0;
  /** Native consumers replaced: what they say of their assignment no longer counts. */
  private readonly retired = new WeakSet<NativeConsumer>();

  private constructor(
    private readonly client: KafkaClient,
    private readonly o: ConsumerOptions,
    private readonly watch: ConsumerWatch | undefined,
    private readonly logger: KafkaJS.Logger,
  ) {}

  /** How many times this member replaced a native consumer that had lost its way to the brokers. */
  get replacements(): number {
    return this.replaced;
  }

  /** @internal Replaces the native consumer as when it had lost its way to the brokers (for tests). */
  replaceClient(): Promise<void> {
    return this.replace(this.consumer, 0);
  }

  static async start(client: KafkaClient, o: ConsumerOptions): Promise<RecordConsumer> {
    const member: { self?: RecordConsumer } = {};
    const watch =
      o.onStalled === undefined
        ? undefined
        : new ConsumerWatch({
            stallAfterMs: o.stallAfterMs ?? 30_000,
            onStalled: o.onStalled,
            ends: async (topic) =>
              new Map(
                (await client.topicOffsets(topic)).map((p) => [
                  p.partition,
                  { low: Number(p.low), high: Number(p.high) },
                ]),
              ),
            // The member's own committed(): the watch asks only once the member exists.
            committed: async (topic, partitions) =>
              new Map(
                (await member.self!.committed(topic, partitions)).map((p) => [p.partition, Number(p.offset)]),
              ),
          });
    const self = new RecordConsumer(client, o, watch, client.logger);
    member.self = self;
    self.consumer = await self.openNative();
    if (watch !== undefined) {
      self.watchTimer = setInterval(
        () => void watch.check(),
        Math.min(10_000, (o.stallAfterMs ?? 30_000) / 3),
      );
      self.watchTimer.unref();
    }
    self.loop = self.pollLoop();
    return self;
  }

  /** A native consumer of the group, connected and subscribed; KAFKA_UNAVAILABLE when it cannot join. */
  private async openNative(): Promise<NativeConsumer> {
    const { client, o } = this;
    const debug = envString('DAQOPS_KAFKA_DEBUG');
    const prefetchKiB = Math.ceil((o.maxPrefetchBytes ?? 32 * 1024 * 1024) / 1024);
    const holder: { consumer?: NativeConsumer } = {};
    const consumer = new RdKafka.KafkaConsumer(
      {
        'bootstrap.servers': client.brokers.join(','),
        'client.id': client.clientId,
        'group.id': o.groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'enable.partition.eof': false,
        'allow.auto.create.topics': false,
        'session.timeout.ms': o.sessionTimeoutMs ?? 10_000,
        'heartbeat.interval.ms': 1000,
        'max.partition.fetch.bytes': o.maxBytesPerPartition ?? 8 * 1024 * 1024,
        'fetch.max.bytes': 32 * 1024 * 1024,
        // Fewer, fuller fetches: the broker answers once 1 MiB is there or after 100 ms, whichever first
        // (a quiet stream waits no longer than that; a busy one costs the broker fewer requests).
        'fetch.wait.max.ms': 100,
        'fetch.min.bytes': 1024 * 1024,
        'queued.max.messages.kbytes': prefetchKiB,
        // A restarted broker is tried again within a second, as by every client of KafkaClient.
        'reconnect.backoff.ms': 100,
        'reconnect.backoff.max.ms': 1000,
        'statistics.interval.ms': STATS_INTERVAL_MS,
        // Answered for the instance it comes from: one being replaced still gives up its assignment.
        rebalance_cb: (err: RdKafka.LibrdKafkaError, assignment: RdKafka.Assignment[]) =>
          this.rebalanced(holder.consumer!, err, assignment),
        ...(debug === undefined ? {} : { debug }),
      },
      { 'auto.offset.reset': (o.fromBeginning ?? true) ? 'earliest' : 'latest' },
    ) as NativeConsumer;
    holder.consumer = consumer;
    consumer.on('event.error', (err) => this.logger.error(err.message, {}));
    if (debug !== undefined)
      consumer.on('event.log', (l: { message: string; fac: string }) =>
        this.logger.debug(l.message, { fac: l.fac }),
      );
    const loss = new BrokerLossWatch({
      onStuck: (ms) => void this.replace(consumer, ms),
      reachable: () => clusterAnswers(client),
    });
    consumer.on('event.stats', (s: { message: string }) => loss.report(s.message));
    const timeout = client.requestTimeoutMs;
    const refused = (err: unknown): DaqError =>
      new DaqError('KAFKA_UNAVAILABLE', `cannot join consumer group ${o.groupId}`, { cause: err });
    try {
      await new Promise<void>((resolve, reject) =>
        consumer.connect({ timeout }, (err) => (err ? reject(refused(err)) : resolve())),
      );
      consumer.subscribe([...o.topics]);
    } catch (err) {
      await closeNative(consumer);
      throw isDaqError(err) ? err : refused(err);
    }
    // Wait for the first record of a poll only, then take what is there.
    consumer.setDefaultConsumeTimeout(500);
    consumer.setDefaultIsTimeoutOnlyForFirstMessage?.(true);
    return consumer;
  }

  /**
   * Replaces a native consumer that has lost its way to the brokers (lib/broker-loss.ts) with a new member of
   * the same group. Nothing it fetched is handed over any more; the new one reads from the last commit.
   */
  private async replace(old: NativeConsumer, forMs: number): Promise<void> {
    if (this.stopped || old !== this.consumer || this.replacing !== undefined) return;
    this.logger.warn(
      `consumer of group ${this.o.groupId} has had no Kafka broker connection for ${forMs} ms while ` +
        `the cluster answers, and does not reconnect by itself: replaced by a new member`,
      {},
    );
    this.retired.add(old);
    this.replacing = (async () => {
      this.rebalances++;
      this.assignedNow(new Map());
      const next = await openWithBackoff(
        () => this.openNative(),
        () => this.stopped,
        (err) => this.logger.warn(`replacing the consumer of ${this.o.groupId}: ${err.message}`, {}),
      );
      if (next !== undefined) {
        this.consumer = next;
        this.replaced++;
      }
      // Bounded: it may wait for a group it can no longer reach.
      void closeNative(old, 5000);
    })().finally(() => (this.replacing = undefined));
    await this.replacing;
  }

  /** librdkafka's rebalance, answered at once: the assignment taken or given up before anything else. */
  private rebalanced(
    from: NativeConsumer,
    err: RdKafka.LibrdKafkaError,
    assignment: RdKafka.Assignment[],
  ): void {
    const assigned = err.code === RdKafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS;
    try {
      if (assigned) from.assign(assignment);
      else from.unassign();
    } catch (e) {
      // Only while disconnecting, when the assignment no longer matters.
      this.logger.warn(`rebalance not applied: ${(e as Error).message}`, {});
    }
    // An instance being replaced has nothing more to say about what this member owns (its successor
    // does, even before it is the one in use: the poll loop waits for it meanwhile).
    if (this.retired.has(from)) return;
    this.rebalances++;
    const owned = new Map<string, Set<number>>();
    if (assigned) {
      for (const tp of assignment) {
        let s = owned.get(tp.topic);
        if (s === undefined) owned.set(tp.topic, (s = new Set()));
        s.add(tp.partition);
      }
    }
    this.assignedNow(owned);
  }

  private assignedNow(owned: Map<string, Set<number>>): void {
    this.owned.clear();
    for (const [t, s] of owned) this.owned.set(t, s);
    const view: Record<string, number[]> = {};
    for (const [t, s] of this.owned) view[t] = [...s].sort((a, b) => a - b);
    this.watch?.assigned(view);
    this.o.onAssignment?.(view);
  }

  private poll(
    from: NativeConsumer,
  ): Promise<{ err: RdKafka.LibrdKafkaError | null; messages: RdKafka.Message[] }> {
    return new Promise((resolve) =>
      from.consume(POLL_MAX_RECORDS, (err, messages) =>
        resolve({ err: err ?? null, messages: messages ?? [] }),
      ),
    );
  }

  private async pollLoop(): Promise<void> {
    const maxBatch = this.o.maxBatchRecords ?? 64;
    while (!this.stopped) {
      if (this.replacing !== undefined) await this.replacing;
      const from = this.consumer;
      const { err, messages } = await this.poll(from);
      if (this.stopped) return;
      // Fetched by an instance replaced meanwhile: the new one reads them again from the last commit.
      if (from !== this.consumer || this.replacing !== undefined) continue;
      if (err !== null) {
        // librdkafka rides out what it can by itself; a poll that failed is tried again shortly.
        this.logger.warn(`consume: ${err.message}`, {});
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (messages.length === 0) continue;
      // Records fetched for the assignment of this moment: a rebalance while they are handed over ends
      // it (eager: every rebalance revokes all), and what is left of them is the new owner's to read from
      // the last commit. Handed over under a later assignment of the same partition, they would be taken
      // for where that assignment starts, and a commit past them would skip the records before them.
      const assignment = this.rebalances;
      // Per partition, in order; each partition's records in batches of at most maxBatch.
      const byPartition = new Map<string, RdKafka.Message[]>();
      for (const m of messages) {
        const key = `${m.topic}\u0000${m.partition}`;
        let list = byPartition.get(key);
        if (list === undefined) byPartition.set(key, (list = []));
        list.push(m);
      }
      for (const list of byPartition.values()) {
        for (let i = 0; i < list.length && !this.stopped; i += maxBatch) {
          const chunk = list.slice(i, i + maxBatch);
          const { topic, partition } = chunk[0]!;
          // Given up by a rebalance (librdkafka drops what it fetched for an assignment that ended, but a
          // poll may return before its callback ran here): the new owner reads it from the last commit.
          if (this.rebalances !== assignment || !(this.owned.get(topic)?.has(partition) ?? false)) break;
          if (from !== this.consumer || this.replacing !== undefined) break;
          // A batch its owner could not take is read again from its first record, never skipped.
          if (!(await this.handOver(from, topic, partition, chunk))) break;
        }
      }
    }
  }

  /** Hands one batch to the owner; false when the owner failed it (the partition is then read again from it). */
  private async handOver(
    from: NativeConsumer,
    topic: string,
    partition: number,
    chunk: RdKafka.Message[],
  ): Promise<boolean> {
    const records = chunk.map(fromNative);
    const last = chunk.at(-1)!.offset;
    let lag = 0;
    try {
      // The watermarks librdkafka keeps from its fetches: no request.
      lag = Math.max(0, from.getWatermarkOffsets(topic, partition).highOffset - (last + 1));
    } catch {
      // Not known yet: no lag to report.
    }
    this.watch?.batchStarted();
    try {
      await this.o.onBatch({ topic, partition, records, lag });
      this.watch?.batchDone(topic, partition, last + 1);
      return true;
    } catch (err) {
      this.watch?.batchDone(topic, partition, undefined);
      // The owner says what went wrong (and ends the workload if it must). Nothing of the batch counts as
      // handed over: the partition goes back to its first record, so nothing after it is taken first.
      this.logger.warn(`a batch of ${topic}[${partition}] was not taken: ${(err as Error).message}`, {});
      await new Promise<void>((resolve) =>
        from.seek({ topic, partition, offset: chunk[0]!.offset }, 0, (e) => {
          if (e) this.logger.warn(`seek back in ${topic}[${partition}]: ${e.message}`, {});
          resolve();
        }),
      );
      // Not at once again: an owner that refuses while Kafka is away would otherwise spin on the batch.
      await new Promise((r) => setTimeout(r, REFUSED_BATCH_BACKOFF_MS));
      return false;
    }
  }

  /** Commits `nextOffset` (the first offset not yet safely handled) for a partition, with metadata. */
  async commit(topic: string, partition: number, nextOffset: string, metadata?: string): Promise<void> {
    const refused = (err: { message: string }): DaqError =>
      new DaqError('KAFKA_UNAVAILABLE', `commit of ${topic}[${partition}] refused: ${err.message}`, {
        cause: err,
      });
    // Bounded: a commit waits for the group's coordinator, and commits go one after another (a member
    // that lost its brokers would hold every later one, and its owner's STOP, behind it).
    const done = new Promise<void>((resolve, reject) => {
      try {
        this.consumer.commitCb(
          [{ topic, partition, offset: Number(nextOffset), ...(metadata === undefined ? {} : { metadata }) }],
          (err) => (err ? reject(refused(err)) : resolve()),
        );
      } catch (err) {
        reject(refused(err as Error));
      }
    });
    await within(done, COMMIT_TIMEOUT_MS, `commit of ${topic}[${partition}]`);
  }

  /** The group's committed offset and metadata for each partition of a topic this member owns. */
  async committed(
    topic: string,
    partitions: readonly number[],
  ): Promise<{ partition: number; offset: string; metadata: string | null }[]> {
    const got = await new Promise<RdKafka.TopicPartitionOffsetAndMetadata[]>((resolve, reject) =>
      this.consumer.committed(
        partitions.map((partition) => ({ topic, partition })),
        5_000,
        (err, tps) =>
          err
            ? reject(
                new DaqError(
                  'KAFKA_UNAVAILABLE',
                  `cannot read the committed offsets of ${topic} [${partitions.join(', ')}]: ${err.message}`,
                  { cause: err },
                ),
              )
            : resolve(tps),
      ),
    );
    return got.map((p) => ({
      partition: p.partition,
      offset: String(p.offset),
      metadata: p.metadata ?? null,
    }));
  }

  /**
   * Leaves the group. Bounded: librdkafka can wait for a rebalance that a broker outage left half-done,
   * and a workload must still answer STOP; past `timeoutMs` it stops waiting (the broker drops the member
   * after its session timeout, and uncommitted records are read again by the next owner).
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchTimer);
    // The poll in flight returns within its consume timeout; a batch being handled ends as its owner says.
    await settledWithin(this.loop, timeoutMs);
    await settledWithin(this.replacing ?? Promise.resolve(), timeoutMs);
    await closeNative(this.consumer, timeoutMs);
  }
}

/** `p`, or a KAFKA_UNAVAILABLE rejection once `ms` passed without it settling. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DaqError('KAFKA_UNAVAILABLE', `${what}: no answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * A replacement client: `open` tried until it succeeds, 1 s after a failure and doubling to 10 s between
 * tries; undefined once `gaveUp` (its owner stopped meanwhile).
 */
async function openWithBackoff<T>(
  open: () => Promise<T>,
  gaveUp: () => boolean,
  failed: (err: Error) => void,
): Promise<T | undefined> {
  for (let attempt = 0; !gaveUp(); attempt++) {
    try {
      return await open();
    } catch (err) {
      failed(err as Error);
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 10_000)));
    }
  }
  return undefined;
}

/** Whether the cluster answers the client's own admin connection (a fresh one after any failure). */
async function clusterAnswers(client: KafkaClient): Promise<boolean> {
  try {
    await client.ping();
    return true;
  } catch {
    return false;
  }
}

/** Waits for `p` at most `ms`; a rejection or the time running out both just end the wait. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Reads a topic from its beginning to the end it has now; returns the number of records read. */
export async function readTopicToEnd(
  client: KafkaClient,
  topic: string,
  onRecord: (r: InRecord) => void,
): Promise<number> {
  const r = await readTopicFrom(client, topic, new Map(), onRecord);
  if (!r.complete)
    throw new DaqError(
      'TIMEOUT',
      `read ${r.count} records of ${topic}; not to its end within the time limit`,
    );
  return r.count;
}

/** Where a read of a topic got to: the next offset per partition, and whether that is the end it had. */
export interface TopicRead {
  readonly next: ReadonlyMap<number, number>;
  readonly count: number;
  /** Every partition read to the end it had when the read began (false: the time limit came first). */
  readonly complete: boolean;
  /**
   * Records the broker no longer had (retention) when the read asked for them: per partition, offsets
   * `from` up to (not including) `to` are gone, and the read went on from `to`.
   */
  readonly skipped: readonly { readonly partition: number; readonly from: number; readonly to: number }[];
}

/** librdkafka's logical offset for "the oldest record the partition has". */
const OFFSET_BEGINNING = -2;

/**
 * Reads a topic from the offsets in `from` (a partition not named there: from its oldest record) to the
 * end it has when the read begins, handing each record to `onRecord` as it comes (nothing is kept). One
 * connection, no group: the caller keeps its own position. Bounded in time: after ten request timeouts
 * it returns what it reached (`complete: false`), and the next read goes on from there.
 *
 * Records count as gone (retention) only when the broker refuses the offset the read asks for, never on
 * the strength of a watermark answer alone: librdkafka's low watermark is two ListOffsets answers taken
 * in the order they arrived, and right after a broker stall one of them can come back empty and make the
 * low watermark the high one. Jumping to such a "low" would skip records that are there.
 */
export async function readTopicFrom(
  client: KafkaClient,
  topic: string,
  from: ReadonlyMap<number, number>,
  onRecord: (r: InRecord) => void,
): Promise<TopicRead> {
  // A read that ran out of time may have a reader the broker left in a bad way: the next one connects anew.
  return client.withReader(
    (consumer) => readWith(client, consumer, topic, from, onRecord),
    (r) => r.complete,
  );
}

async function readWith(
  client: KafkaClient,
  consumer: RdKafka.KafkaConsumer,
  topic: string,
  from: ReadonlyMap<number, number>,
  onRecord: (r: InRecord) => void,
): Promise<TopicRead> {
  const timeout = client.requestTimeoutMs;
  const unavailable = (err: unknown): DaqError =>
    new DaqError('KAFKA_UNAVAILABLE', `cannot read ${topic}: ${(err as Error).message}`, { cause: err });
  const watermarks = (partition: number): Promise<RdKafka.WatermarkOffsets> =>
    new Promise((resolve, reject) => {
      consumer.queryWatermarkOffsets(topic, partition, timeout, (err, o) =>
        err ? reject(unavailable(err)) : resolve(o),
      );
    });
  // One connection answers the metadata, the watermarks and the reads: no admin client, no group join.
  const meta = await new Promise<RdKafka.Metadata>((resolve, reject) => {
    consumer.getMetadata({ topic, timeout }, (err, data: RdKafka.Metadata) =>
      err ? reject(unavailable(err)) : resolve(data),
    );
  });
  const next = new Map(from);
  const skipped: { partition: number; from: number; to: number }[] = [];
  let count = 0;
  try {
    const partitions = meta.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    /** Per partition still to read: where the read starts, and the end it had when the read began. */
    const remaining = new Map<number, { start: number; high: number; seen: boolean }>();
    for (const partition of partitions) {
      const w = await watermarks(partition);
      const at = from.get(partition);
      // A known position is read from exactly there; a new partition from whatever its oldest record is.
      if (w.highOffset > (at ?? w.lowOffset))
        remaining.set(partition, { start: at ?? OFFSET_BEGINNING, high: w.highOffset, seen: false });
    }
    if (remaining.size === 0) return { next, count, complete: true, skipped };
    // (Again after a refused offset: a partition read from already goes on after its last record.)
    const assign = (): void => {
      consumer.assign(
        [...remaining].map(([partition, r]) => ({
          topic,
          partition,
          offset: r.seen ? (next.get(partition) ?? r.start) : r.start,
        })),
      );
    };
    assign();
    // Wait for the first record of a batch only, then take what is there: once caught up, a batch must not
    // wait a full timeout per record it does not get (a read of 5 new records would take a second).
    consumer.setDefaultConsumeTimeout(500);
    (
      consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage?: (only: boolean) => void }
    ).setDefaultIsTimeoutOnlyForFirstMessage?.(true);
    const deadline = Date.now() + 10 * timeout;
    while (remaining.size > 0) {
      if (Date.now() > deadline) return { next, count, complete: false, skipped };
      const got = await new Promise<{ err: RdKafka.LibrdKafkaError | null; messages: RdKafka.Message[] }>(
        (resolve) => consumer.consume(1000, (err, ms) => resolve({ err, messages: ms ?? [] })),
      );
      if (got.err) {
        if (got.err.code !== RdKafka.CODES.ERRORS.ERR__AUTO_OFFSET_RESET) throw unavailable(got.err);
        // The broker refused a start offset: those records are gone. Which partition is not said, so every
        // partition not read from yet is asked where its log starts now; those that start past where the
        // read wanted to begin lost the records in between, and are read on from their oldest record.
        let moved = false;
        for (const [partition, r] of remaining) {
          if (r.seen || r.start < 0) continue;
          const w = await watermarks(partition);
          if (w.lowOffset <= r.start) continue;
          skipped.push({ partition, from: r.start, to: w.lowOffset });
          moved = true;
          next.set(partition, Math.min(w.lowOffset, r.high));
          if (w.lowOffset >= r.high) remaining.delete(partition);
          else r.start = w.lowOffset;
        }
        if (!moved) return { next, count, complete: false, skipped };
        if (remaining.size === 0) break;
        assign();
        continue;
      }
      for (const m of got.messages) {
        const r = remaining.get(m.partition);
        if (r === undefined || m.topic !== topic || m.offset >= r.high) continue;
        // Never a record before where the partition's read stands (the reader is reused: nothing of an
        // earlier assignment counts).
        if (m.offset < (r.seen ? (next.get(m.partition) ?? 0) : Math.max(0, r.start))) continue;
        r.seen = true;
        onRecord(fromNative(m));
        count++;
        next.set(m.partition, m.offset + 1);
        if (m.offset + 1 >= r.high) remaining.delete(m.partition);
      }
    }
  } finally {
    // The reader goes back to the client's pool with nothing assigned: it fetches nothing meanwhile.
    consumer.unassign();
  }
  return { next, count, complete: true, skipped };
}

/** A consumer for reads without a group (readTopicFrom), connected. */
async function connectReader(client: KafkaClient): Promise<RdKafka.KafkaConsumer> {
  const timeout = client.requestTimeoutMs;
  const consumer = new RdKafka.KafkaConsumer(
    {
      'bootstrap.servers': client.brokers.join(','),
      'client.id': `${client.clientId}-reader`,
      'group.id': `daqops-reader-${process.pid}`,
      'enable.auto.commit': false,
      'enable.partition.eof': false,
      'allow.auto.create.topics': false,
      // What it reads is small records folded one by one (the platform's feed): 16 MiB ahead is
      // tens of thousands of them; between reads nothing is assigned, so nothing is fetched.
      'fetch.max.bytes': 16 * 1024 * 1024,
      'max.partition.fetch.bytes': 4 * 1024 * 1024,
      'queued.max.messages.kbytes': 16 * 1024,
    },
    // An offset the broker no longer has is an error to the read (the records are gone), not a quiet
    // jump to wherever the log starts now.
    { 'auto.offset.reset': 'error' },
  );
  try {
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout }, (err) =>
        err
          ? reject(
              new DaqError('KAFKA_UNAVAILABLE', `cannot connect to Kafka: ${err.message}`, { cause: err }),
            )
          : resolve(),
      ),
    );
  } catch (err) {
    await closeNative(consumer);
    throw err;
  }
  return consumer;
}

/** Disconnects a native consumer (a reader, a group member), bounded in time. */
async function closeNative(c: RdKafka.KafkaConsumer, timeoutMs = 5000): Promise<void> {
  await settledWithin(new Promise<void>((resolve) => c.disconnect(() => resolve())), timeoutMs);
}

function fromNative(m: RdKafka.Message): InRecord {
  const headers: Record<string, Buffer | string> = {};
  for (const h of m.headers ?? []) for (const [k, v] of Object.entries(h)) headers[k] = v;
  return {
    topic: m.topic,
    partition: m.partition,
    offset: String(m.offset),
    key: m.key === undefined || m.key === null ? undefined : m.key.toString(),
    value: m.value ?? Buffer.alloc(0),
    headers,
    timestampMs: m.timestamp ?? 0,
  };
}

/** A header as text (Kafka hands them back as Buffers). */
export function headerText(headers: InRecord['headers'], name: string): string | undefined {
  const raw = headers[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');
}
