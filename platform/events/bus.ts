/**
 * The platform's voice on Kafka: control events to `<ns>.control` and its own ERS issues to `<ns>.ers`,
 * per environment namespace, keyed by environment so each environment's records stay in order. Records
 * are buffered and sent every `flushMs`; the bus never blocks run control — when Kafka is away the records
 * are counted as dropped and an ERS Warning says so (once per outage), and the store keeps the truth.
 */
import type { ErsIssue } from '../../protocol/ers.js';
import { topicNames } from '../../protocol/topics.js';
import type { KafkaClient, OutRecord, RecordProducer } from '../../lib/kafka.js';
import type { Metrics } from '../../lib/metrics.js';
import type { ControlEvent } from '../control/types.js';

export type BusKind = 'control' | 'ers';

export interface ControlBusOptions {
  readonly client: KafkaClient;
  readonly metrics?: Metrics;
  readonly flushMs?: number;
  readonly maxBuffered?: number;
  /** Told once per outage that records are being dropped (the platform raises an ERS Warning). */
  readonly onOutage?: (err: unknown) => void;
}

export class ControlBus {
  private buffer: { topic: string; kind: BusKind; record: OutRecord }[] = [];
  private producer: Promise<RecordProducer> | undefined;
  private readonly ensured = new Map<string, Promise<void>>();
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private down = false;

  constructor(private readonly o: ControlBusOptions) {
    this.timer = setInterval(() => void this.flush(), o.flushMs ?? 200);
    this.timer.unref();
  }

  control(namespace: string, e: ControlEvent): void {
    this.push(namespace, 'control', e.environment, e);
  }

  ers(namespace: string, issue: ErsIssue): void {
    this.push(namespace, 'ers', issue.context.environment ?? '', issue);
  }

  private push(namespace: string, kind: BusKind, key: string, body: unknown): void {
    if (this.buffer.length >= (this.o.maxBuffered ?? 10_000)) {
      this.count(kind, 'dropped', 1);
      return;
    }
    const t = topicNames(namespace);
    this.buffer.push({
      topic: kind === 'control' ? t.control : t.ers,
      kind,
      record: { key, value: Buffer.from(JSON.stringify(body)), headers: { 'daq-kind': kind } },
    });
  }

  /** Sends what is buffered; resolves when Kafka acknowledged it (or it was counted as dropped). */
  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.sending;
    const batch = this.buffer;
    this.buffer = [];
    this.sending = this.sending.then(() => this.send(batch));
    return this.sending;
  }

  private async send(batch: { topic: string; kind: BusKind; record: OutRecord }[]): Promise<void> {
    try {
      const { RecordProducer: P } = await import('../../lib/kafka.js');
      const { ensureNamespaceTopics } = await import('../../lib/topics.js');
      for (const topic of new Set(batch.map((b) => b.topic))) {
        const ns = topic.slice(0, topic.indexOf('.'));
        let ready = this.ensured.get(ns);
        if (ready === undefined) {
          ready = ensureNamespaceTopics(this.o.client, ns);
          this.ensured.set(ns, ready);
          ready.catch(() => this.ensured.delete(ns));
        }
        await ready;
      }
      this.producer ??= P.open(this.o.client);
      const producer = await this.producer.catch((err: unknown) => {
        this.producer = undefined;
        throw err;
      });
      const byTopic = new Map<string, OutRecord[]>();
      for (const b of batch) byTopic.set(b.topic, [...(byTopic.get(b.topic) ?? []), b.record]);
      await producer.send([...byTopic].map(([topic, records]) => ({ topic, records })));
      this.down = false;
      for (const kind of ['control', 'ers'] as const)
        this.count(kind, 'ok', batch.filter((b) => b.kind === kind).length);
    } catch (err) {
      for (const kind of ['control', 'ers'] as const)
        this.count(kind, 'dropped', batch.filter((b) => b.kind === kind).length);
      if (!this.down) this.o.onOutage?.(err);
      this.down = true;
    }
  }

  private count(kind: BusKind, result: 'ok' | 'dropped', n: number): void {
    if (n > 0) this.o.metrics?.counter('daq_platform_bus_records_total').labels({ kind, result }).inc(n);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    const p = await this.producer?.catch(() => undefined);
    await p?.close();
  }
}
