/**
 * A buffered, fire-and-forget publisher of JSON records to namespace topics (`<ns>.control`, `<ns>.ers`):
 * records are sent every `flushMs` in one acknowledged request, the namespace's topics are created on
 * first use, and an outage never blocks the caller — records are counted as dropped and the outage is
 * told once. The platform publishes its control events and ERS issues with it, the agent its workloads'
 * ERS issues.
 */
import type { KafkaClient, OutRecord, RecordProducer } from './kafka.js';

export interface RecordBusOptions {
  readonly client: KafkaClient;
  readonly flushMs?: number;
  readonly maxBuffered?: number;
  /** Records sent (ok) or dropped, by the kind given to `push`. */
  readonly count?: (kind: string, result: 'ok' | 'dropped', n: number) => void;
  /** Told once per outage (until a send succeeds again). */
  readonly onOutage?: (err: unknown) => void;
}

interface Pending {
  readonly topic: string;
  readonly kind: string;
  readonly record: OutRecord;
}

export class RecordBus {
  private buffer: Pending[] = [];
  private producer: Promise<RecordProducer> | undefined;
  private readonly ensured = new Map<string, Promise<void>>();
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private down = false;

  constructor(private readonly o: RecordBusOptions) {
    this.timer = setInterval(() => void this.flush(), o.flushMs ?? 200);
    this.timer.unref();
  }

  /** Queues one record for `topic` (a `<ns>.<kind>` topic), keyed so one key's records stay in order. */
  push(topic: string, kind: string, key: string, body: unknown): void {
    if (this.buffer.length >= (this.o.maxBuffered ?? 10_000)) {
      this.o.count?.(kind, 'dropped', 1);
      return;
    }
    this.buffer.push({
      topic,
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

  private async send(batch: Pending[]): Promise<void> {
    try {
      const [{ RecordProducer: P }, { ensureNamespaceTopics }] = await Promise.all([
        import('./kafka.js'),
        import('./topics.js'),
      ]);
      for (const topic of new Set(batch.map((b) => b.topic))) {
        const ns = topic.slice(0, topic.indexOf('.'));
        let ready = this.ensured.get(ns);
        if (ready === undefined) {
          ready = ensureNamespaceTopics(this.o.client, ns).then(() => undefined);
          this.ensured.set(ns, ready);
          ready.catch(() => this.ensured.delete(ns));
        }
        await ready;
      }
      // A finite delivery timeout: an outage drops (and counts) records instead of holding them for ever.
      this.producer ??= P.open(this.o.client, {
        deliveryTimeoutMs: 10_000,
        maxQueuedBytes: 16 * 1024 * 1024,
      });
      const producer = await this.producer.catch((err: unknown) => {
        this.producer = undefined;
        throw err;
      });
      const byTopic = new Map<string, OutRecord[]>();
      for (const b of batch) byTopic.set(b.topic, [...(byTopic.get(b.topic) ?? []), b.record]);
      await producer.send([...byTopic].map(([topic, records]) => ({ topic, records })));
      this.down = false;
      this.countBy(batch, 'ok');
    } catch (err) {
      this.countBy(batch, 'dropped');
      if (!this.down) this.o.onOutage?.(err);
      this.down = true;
    }
  }

  private countBy(batch: Pending[], result: 'ok' | 'dropped'): void {
    const n = new Map<string, number>();
    for (const b of batch) n.set(b.kind, (n.get(b.kind) ?? 0) + 1);
    for (const [kind, k] of n) this.o.count?.(kind, result, k);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    const p = await this.producer?.catch(() => undefined);
    await p?.close();
  }
}
