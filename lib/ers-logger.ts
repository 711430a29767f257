/**
 * The ERS logger (winston): human-readable lines to the console, JSON records to a file, and records to
 * Kafka `<ns>.ers` keyed by environment — behind a throttle like ERS `throttle(30,100)`: after 30
 * identical issues only one in 100 passes, carrying how many were suppressed, so a flood cannot drown the
 * bus. "Identical" means the same issue name from the same application and task.
 */
import winston from 'winston';
import Transport from 'winston-transport';
import type { ErsIssue, ErsSeverity } from '../protocol/ers.js';
import { validateErsIssue } from '../protocol/ers.js';
import { ErsThrottle } from './ers.js';
import type { KafkaClient, RecordProducer } from './kafka.js';

const LEVELS: Record<ErsSeverity, number> = {
  Fatal: 0,
  Error: 1,
  Warning: 2,
  Information: 3,
  Log: 4,
  Debug: 5,
};

export function throttleKey(issue: ErsIssue): string {
  return `${issue.name}|${issue.context.application}|${issue.context.task ?? ''}`;
}

/** One line for a human: time, severity, issue, message, where, parameters. */
export function formatErsLine(i: ErsIssue): string {
  const where = [i.context.environment, i.context.task].filter((x) => x !== undefined).join('/');
  const params = Object.entries(i.parameters)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  const cause = i.causes.length > 0 ? ` ← ${i.causes.map((c) => `${c.name}: ${c.message}`).join(' ← ')}` : '';
  return `${i.time} ${i.severity.toUpperCase().padEnd(11)} ${i.name} ${where === '' ? '' : `[${where}] `}${i.message}${params === '' ? '' : ` (${params})`}${cause}`;
}

class KafkaErsTransport extends Transport {
  private buffer: { key: string; value: Buffer }[] = [];
  private producer: Promise<RecordProducer> | undefined;
  private timer: NodeJS.Timeout;
  private sending: Promise<void> = Promise.resolve();
  dropped = 0;

  constructor(
    private readonly client: KafkaClient,
    private readonly topic: string,
    private readonly maxBuffered = 10_000,
  ) {
    super();
    this.timer = setInterval(() => void this.flush(), 200);
    this.timer.unref();
  }

  override log(info: { ers: ErsIssue }, next: () => void): void {
    if (this.buffer.length >= this.maxBuffered) this.dropped++;
    else
      this.buffer.push({
        key: info.ers.context.environment ?? '',
        value: Buffer.from(JSON.stringify(info.ers)),
      });
    next();
  }

  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.sending;
    const records = this.buffer;
    this.buffer = [];
    // The Kafka client is loaded on the first record for the bus, not at start.
    this.producer ??= import('./kafka.js').then(({ RecordProducer: P }) =>
      P.open(this.client, { deliveryTimeoutMs: 10_000, maxQueuedBytes: 16 * 1024 * 1024 }),
    );
    this.sending = this.sending
      .then(async () => (await this.producer!).send([{ topic: this.topic, records }]))
      .catch(() => {
        // The bus is unreachable: ERS still reaches the console and the file; count what Kafka missed.
        this.dropped += records.length;
      });
    return this.sending;
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.producer !== undefined) await (await this.producer.catch(() => undefined))?.close();
  }
}

export interface ErsLoggerOptions {
  /** Console lines at and above this severity; false for none. */
  readonly console?: ErsSeverity | false;
  /** JSON records, one per line. */
  readonly file?: string;
  readonly kafka?: { readonly client: KafkaClient; readonly topic: string };
  readonly throttle?: ErsThrottle;
}

export class ErsLogger {
  private readonly logger: winston.Logger;
  private readonly throttle: ErsThrottle;
  private readonly kafka: KafkaErsTransport | undefined;
  suppressed = 0;

  constructor(o: ErsLoggerOptions = {}) {
    this.throttle = o.throttle ?? new ErsThrottle();
    const transports: Transport[] = [];
    if (o.console !== false) {
      transports.push(
        new winston.transports.Console({
          level: o.console ?? 'Information',
          stderrLevels: ['Fatal', 'Error', 'Warning', 'Information', 'Log', 'Debug'],
          format: winston.format.printf((info) => formatErsLine((info as unknown as { ers: ErsIssue }).ers)),
        }),
      );
    }
    if (o.file !== undefined) {
      transports.push(
        new winston.transports.File({
          filename: o.file,
          level: 'Debug',
          format: winston.format.printf((info) => JSON.stringify((info as unknown as { ers: ErsIssue }).ers)),
        }),
      );
    }
    if (o.kafka !== undefined) {
      this.kafka = new KafkaErsTransport(o.kafka.client, o.kafka.topic);
      this.kafka.level = 'Warning';
      transports.push(this.kafka);
    }
    this.logger = winston.createLogger({ levels: LEVELS, level: 'Debug', transports });
  }

  /** Validates and logs an issue through the throttle. Returns whether it passed. */
  emit(raw: unknown): boolean {
    const issue = validateErsIssue(raw);
    const d = this.throttle.admit(throttleKey(issue));
    if (!d.pass) {
      this.suppressed++;
      return false;
    }
    const out: ErsIssue =
      d.suppressed > 0
        ? {
            ...issue,
            qualifiers: [...issue.qualifiers, 'throttled'],
            parameters: { ...issue.parameters, suppressed: d.suppressed },
          }
        : issue;
    this.logger.log({ level: out.severity, message: out.message, ers: out });
    return true;
  }

  /** ERS records that could not reach Kafka (the bus was down or the buffer full). */
  get kafkaDropped(): number {
    return this.kafka?.dropped ?? 0;
  }

  async close(): Promise<void> {
    await this.kafka?.shutdown();
    await new Promise<void>((resolve) => {
      this.logger.on('finish', () => resolve());
      this.logger.end();
      setTimeout(resolve, 500).unref();
    });
  }
}
