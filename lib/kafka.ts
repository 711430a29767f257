/**
 * Every Kafka call daqops makes goes through this module, so the client library (kafkajs today) can be
 * swapped if measurements demand it without touching the agent, platform or workloads.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
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

// Conditions every client rides out by retrying while a broker starts or a group rebalances; logged by
// kafkajs as errors, they would otherwise page nobody yet scare everybody.
const TRANSIENT =
  /coordinator is loading|coordinator is not available|not the leader|no leader for this|rebalanc/i;

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
    return this.kafka.consumer({
      groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
      allowAutoTopicCreation: false,
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
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: -1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
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
