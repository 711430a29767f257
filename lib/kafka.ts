/**
 * Every Kafka call daqops makes goes through this module, so the client library (kafkajs today) can be
 * swapped if measurements demand it without touching the agent, platform or workloads.
 */
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import type {
  Admin,
  Consumer,
  KafkaMessage,
  LogEntry,
  Producer,
  ProducerRecord,
  RecordMetadata,
} from 'kafkajs';
import { DaqError } from '../protocol/errors.js';

export type { KafkaMessage, RecordMetadata };

export interface KafkaLogRecord {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Where the client's own log lines go; default: errors and warnings to stderr as one JSON line each. */
  readonly log?: (record: KafkaLogRecord) => void;
  readonly connectionTimeoutMs?: number;
  /** How often a failed request is retried (kafkajs default 5, with backoff). */
  readonly retries?: number;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config?: Readonly<Record<string, string>>;
}

const LEVELS: Record<number, KafkaLogRecord['level']> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// Conditions every client rides out by retrying while a broker starts or a group rebalances, and topic
// creation races that ensureTopics resolves (it throws if a topic is really missing). kafkajs logs them
// as errors; shown, they would page nobody yet scare everybody.
const TRANSIENT = new RegExp(
  [
    'coordinator is loading',
    'coordinator is not available',
    'not the leader',
    'no leader for this',
    'rebalanc',
    'Topic creation errors',
  ].join('|'),
  'i',
);

function stderrLog(r: KafkaLogRecord): void {
  const error = r.fields['error'];
  const transient = TRANSIENT.test(`${r.message} ${typeof error === 'string' ? error : ''}`);
  if ((r.level === 'error' || r.level === 'warn') && !transient) {
    process.stderr.write(
      `${JSON.stringify({ level: r.level, logger: 'kafka', message: r.message, ...r.fields })}\n`,
    );
  }
}

/** A connected-on-demand handle to one Kafka cluster. */
export class KafkaClient {
  readonly brokers: readonly string[];
  private readonly kafka: Kafka;

  constructor(options: KafkaClientOptions) {
    if (options.brokers.length === 0) {
      throw new DaqError('INVALID_CONFIG', 'at least one Kafka broker is required', { field: 'brokers' });
    }
    this.brokers = [...options.brokers];
    const sink = options.log ?? stderrLog;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      ...(options.retries === undefined ? {} : { retry: { retries: options.retries } }),
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log }: LogEntry) => {
          const { message, timestamp: _t, logger: _l, ...fields } = log;
          sink({ level: LEVELS[level] ?? 'info', message, fields });
        },
    });
  }

  /** An idempotent producer (acks=all, one request in flight so retries never reorder). */
  producer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  consumer(
    groupId: string,
    options: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number } = {},
  ): Consumer {
    return this.consumerWith(groupId, options);
  }

  consumerWith(
    groupId: string,
    options: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number; maxBytesPerPartition?: number },
  ): Consumer {
    return this.kafka.consumer({
      groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      maxWaitTimeInMs: 100,
    });
  }

  admin(options: { retries?: number } = {}): Admin {
    return this.kafka.admin(options.retries === undefined ? {} : { retry: { retries: options.retries } });
  }

  /** Creates the topics that do not exist yet and waits for their leaders. */
  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = this.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({
            topic: t.topic,
            numPartitions: t.partitions,
            replicationFactor: -1,
            configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (err) {
        // Another workload may have created them at the same moment: fine if they all exist now.
        const now = new Set(await admin.listTopics());
        if (!missing.every((t) => now.has(t.topic))) throw err;
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Reads `count` messages of a topic from the beginning with a fresh consumer group, then disconnects.
   * For checks and tools (read-back, inspection), not for the data path, which commits as it goes.
   */
  async readMessages(
    topic: string,
    count: number,
    options: { groupId: string; timeoutMs?: number },
  ): Promise<{ message: KafkaMessage; partition: number }[]> {
    const consumer = this.consumer(options.groupId);
    const got: { message: KafkaMessage; partition: number }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timeoutMs = options.timeoutMs ?? 30_000;
        const timer = setTimeout(
          () =>
            reject(
              new DaqError(
                'TIMEOUT',
                `read ${got.length} of ${count} messages from ${topic} in ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
        consumer
          .run({
            eachMessage: ({ message, partition }) => {
              got.push({ message, partition });
              if (got.length >= count) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch((err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          });
      });
    } finally {
      await consumer.disconnect();
    }
    return got;
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    const admin = this.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [...topics] });
    } finally {
      await admin.disconnect();
    }
  }

  /** Cluster id, controller and brokers; throws KAFKA_UNAVAILABLE when no broker answers. */
  async describe(): Promise<{ clusterId: string; controller: number | null; brokers: string[] }> {
    // One quick retry: callers (readiness probes, `kafka status`) poll or report, they do not wait minutes.
    const admin = this.admin({ retries: 1 });
    try {
      await admin.connect();
      const c = await admin.describeCluster();
      return {
        clusterId: c.clusterId,
        controller: c.controller,
        brokers: c.brokers.map((b) => `${b.host}:${b.port}`),
      };
    } catch (err) {
      throw new DaqError('KAFKA_UNAVAILABLE', `no Kafka broker answers at ${this.brokers.join(',')}`, {
        cause: err,
      });
    } finally {
      await admin.disconnect();
    }
  }
}

/** Sends a batch and returns the broker's acknowledgement (acks=all). */
export async function sendAcked(
  producer: Producer,
  record: Omit<ProducerRecord, 'acks'>,
): Promise<RecordMetadata[]> {
  return producer.send({ ...record, acks: -1 });
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

export type Compression = 'none' | 'gzip';

/** An idempotent, acks=all producer. `send` resolves when every record is acknowledged. */
export class RecordProducer {
  private constructor(
    private readonly producer: Producer,
    private readonly compression: Compression,
  ) {}

  static async open(
    client: KafkaClient,
    options: { compression?: Compression } = {},
  ): Promise<RecordProducer> {
    const p = client.producer();
    try {
      await p.connect();
    } catch (err) {
      throw new DaqError('KAFKA_UNAVAILABLE', `cannot connect a producer to ${client.brokers.join(',')}`, {
        cause: err,
      });
    }
    return new RecordProducer(p, options.compression ?? 'none');
  }

  /** Sends records to several topics in one request. */
  async send(batches: readonly { topic: string; records: readonly OutRecord[] }[]): Promise<void> {
    const topicMessages = batches
      .filter((b) => b.records.length > 0)
      .map((b) => ({
        topic: b.topic,
        messages: b.records.map((r) => ({ key: r.key ?? null, value: r.value, headers: r.headers })),
      }));
    if (topicMessages.length === 0) return;
    await this.producer.sendBatch({
      topicMessages,
      acks: -1,
      compression: this.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning?: boolean;
  /** Called for each fetched batch, one partition at a time; offsets are committed only by `commit`. */
  readonly onBatch: (batch: InBatch) => Promise<void>;
  readonly maxBytesPerPartition?: number;
  readonly sessionTimeoutMs?: number;
  /** Called after every group join with the partitions this member now owns, per topic. */
  readonly onAssignment?: (assignment: Readonly<Record<string, readonly number[]>>) => void;
}

/** A consumer-group member that never commits by itself: the caller commits what it has safely handled. */
export class RecordConsumer {
  private constructor(
    private readonly consumer: Consumer,
    private readonly client: KafkaClient,
    private readonly groupId: string,
  ) {}

  static async start(client: KafkaClient, o: ConsumerOptions): Promise<RecordConsumer> {
    const consumer = client.consumerWith(o.groupId, {
      sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 16 * 1024 * 1024,
    });
    if (o.onAssignment !== undefined) {
      const cb = o.onAssignment;
      consumer.on(consumer.events.GROUP_JOIN, (e) => cb(e.payload.memberAssignment));
    }
    await consumer.connect();
    for (const topic of o.topics) await consumer.subscribe({ topic, fromBeginning: o.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const records: InRecord[] = batch.messages.map((m) => toInRecord(batch.topic, batch.partition, m));
        await o.onBatch({
          topic: batch.topic,
          partition: batch.partition,
          records,
          lag: Number(batch.offsetLag()),
        });
        await payload.heartbeat();
      },
    });
    return new RecordConsumer(consumer, client, o.groupId);
  }

  /** Commits `nextOffset` (the first offset not yet safely handled) for a partition, with metadata. */
  async commit(topic: string, partition: number, nextOffset: string, metadata?: string): Promise<void> {
    await this.consumer.commitOffsets([
      { topic, partition, offset: nextOffset, ...(metadata === undefined ? {} : { metadata }) },
    ]);
  }

  /** The group's committed offset and metadata for each partition of a topic. */
  async committed(topic: string): Promise<{ partition: number; offset: string; metadata: string | null }[]> {
    const admin = this.client.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: this.groupId, topics: [topic] });
      return (t?.partitions ?? []).map((p) => ({
        partition: p.partition,
        offset: p.offset,
        metadata: p.metadata,
      }));
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/** Reads a topic from the beginning up to its current end (high watermarks), without a consumer group. */
export async function readTopicToEnd(
  client: KafkaClient,
  topic: string,
  onRecord: (r: InRecord) => void,
): Promise<number> {
  const admin = client.admin();
  await admin.connect();
  let ends: { partition: number; high: string; low: string }[];
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0;
    ends = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const remaining = new Map(
    ends.filter((e) => BigInt(e.high) > BigInt(e.low)).map((e) => [e.partition, BigInt(e.high)]),
  );
  if (remaining.size === 0) return 0;
  let count = 0;
  const groupId = `daqops-reader-${process.pid}-${Date.now()}`;
  const consumer = client.consumerWith(groupId, { maxBytesPerPartition: 16 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            const end = remaining.get(batch.partition);
            for (const m of batch.messages) {
              if (end === undefined || BigInt(m.offset) >= end) break;
              onRecord(toInRecord(topic, batch.partition, m));
              count++;
              if (BigInt(m.offset) + 1n >= end) remaining.delete(batch.partition);
            }
            if (remaining.size === 0) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
    const cleanup = client.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return count;
}

/** A kafkajs message as the library-independent InRecord. */
function toInRecord(topic: string, partition: number, m: KafkaMessage): InRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key === null ? undefined : m.key.toString(),
    value: m.value ?? Buffer.alloc(0),
    headers: m.headers ?? {},
    timestampMs: Number(m.timestamp),
  };
}

/** A header as text (Kafka hands them back as Buffers). */
export function headerText(headers: InRecord['headers'], name: string): string | undefined {
  const raw = headers[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('utf8');
}
