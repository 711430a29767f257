/**
 * The writer workload: consumes `<ns>.events` and stores them per run (run-store.ts), dropping events whose
 * id is already stored. Offsets are committed only after the chunk holding the events is durable.
 */
import { mkdirSync } from 'node:fs';
import { DaqError } from '../../../protocol/errors.js';
import { topicNames } from '../../../protocol/index.js';
import type { ErsReporter } from '../../../lib/ers.js';
import { SerialQueue } from '../serial-queue.js';
import { consumerStalled } from '../consumer-stalled.js';
import {
  RecordConsumer,
  deadletterRecord,
  headerText,
  RecordProducer,
  type InBatch,
  type InRecord,
  type KafkaClient,
  type OutRecord,
} from '../../../lib/kafka.js';
import type { Metrics } from '../../../lib/metrics.js';
import { ensureNamespaceTopics } from '../../../lib/topics.js';
import { encodeAccounting, type WriterAccounting } from '../../../protocol/accounting.js';
import type { WriterConfig } from '../config.js';
import { OutputPipeline } from '../output-pipeline.js';
import {
  EVENT_LINKS_HEADER,
  EVENT_PARTS_HEADER,
  EVENT_PART_HEADER,
  decodeEventRecord,
  type DaqEvent,
} from '../../../protocol/events.js';
import { RunStore, diskFreeBytes, type RecordRef } from './run-store.js';

/** A flush: the accounting of the chunks it stored, and the offsets they make committable. */
interface Flushed {
  readonly accounting: OutRecord[];
  readonly offsets: ReadonlyMap<number, string>;
}

export interface WriterTotals {
  events: number;
  duplicates: number;
  chunks: number;
  bytes: number;
}

/** Below this much free space the writer raises DiskFilling. */
const DISK_LOW_BYTES = 1024 ** 3;

export class WriterWorkload {
  readonly totals: WriterTotals = { events: 0, duplicates: 0, chunks: 0, bytes: 0 };
  private readonly stores = new Map<number, RunStore>();
  /** Per run: the events waiting for the next chunk, and the records they came in. */
  private buffer = new Map<number, { events: DaqEvent[]; records: RecordRef[] }>();
  private readonly bufferedRecords = new Set<string>();
  private buffered = 0;
  private readonly bufferedIds = new Set<string>();
  private readonly consumed = new Map<number, string>();
  private readonly queue = new SerialQueue();
  private readonly pipeline: OutputPipeline<Flushed>;
  private consumer: RecordConsumer | undefined;
  private producer: RecordProducer | undefined;
  private lastFlush = Date.now();
  private readonly topics;
  private readonly m;

  constructor(
    readonly config: WriterConfig,
    private readonly deps: { client: KafkaClient; metrics: Metrics; ers: ErsReporter },
  ) {
    this.topics = topicNames(config.namespace);
    const m = deps.metrics;
    this.m = {
      events: m.counter('daq_writer_events_total'),
      duplicates: m.counter('daq_writer_duplicate_events_total'),
      bytes: m.counter('daq_writer_bytes_total'),
      diskFree: m.gauge('daq_writer_disk_free_bytes'),
      deadletter: m.counter('daq_writer_deadletter_total'),
      commitErrors: m.counter('daq_writer_commit_errors_total'),
      edgeIn: m.counter('daq_dataflow_bytes_total').labels({ source: 'events', target: 'writer' }),
    };
    // Born at 0: "nothing set aside" is a value for the dead-letter rate, not a gap.
    this.m.deadletter.labels({ reason: 'bad-event-record' }).inc(0);
    this.pipeline = new OutputPipeline<Flushed>(1, {
      send: async (f) => {
        if (f.accounting.length > 0)
          await this.producer!.send([{ topic: this.topics.monitoring, records: f.accounting }]);
      },
      acknowledged: (f) => f.offsets.keys(),
      commit: async (f, partition) => {
        const next = f.offsets.get(partition)!;
        await this.consumer!.commit(this.topics.events, partition, next);
        if (this.consumed.get(partition) === next) this.consumed.delete(partition);
      },
      refused: (partition, err) => {
        this.m.commitErrors.inc();
        this.deps.ers.raise(
          'daqops.writer.CommitFailed',
          `offset commit for partition ${partition} refused (tried again at the next flush): ${err.message}`,
          { partition },
        );
      },
      failed: (err) => void this.queue.run(() => Promise.reject(err)),
    });
  }

  async run(signal: AbortSignal): Promise<WriterTotals> {
    const c = this.config;
    mkdirSync(c.dataDir, { recursive: true });
    await ensureNamespaceTopics(this.deps.client, c.namespace);
    this.producer = await RecordProducer.open(this.deps.client);
    this.consumer = await RecordConsumer.start(this.deps.client, {
      groupId: c.groupId,
      topics: [this.topics.events],
      onBatch: (b) => this.queue.run(() => this.onBatch(b)),
      onStalled: (stall) => {
        const err = consumerStalled(this.deps.ers, 'writer', stall);
        void this.queue.run(() => Promise.reject(err)).catch(() => undefined);
      },
    });
    const flusher = setInterval(
      () => void this.queue.run(() => this.flushIfDue()).catch(() => undefined),
      Math.max(10, Math.floor(c.flushIntervalMs / 2)),
    );
    const disk = setInterval(() => this.checkDisk(), c.diskFreeIntervalMs);
    this.checkDisk();
    try {
      await this.queue.untilStopped(signal);
      // Store what is buffered before leaving: it is acknowledged input.
      await this.queue.run(() => this.flush());
    } finally {
      clearInterval(flusher);
      clearInterval(disk);
      await this.queue.drain();
      await this.pipeline.settle();
      await this.consumer.stop();
      await this.producer.close();
    }
    return this.totals;
  }

  private store(run: number): RunStore {
    let s = this.stores.get(run);
    if (s === undefined) {
      const g = this.config.generation;
      try {
        s = new RunStore(
          this.config.dataDir,
          run,
          g === undefined ? undefined : { generation: g, task: this.config.task },
        );
      } catch (err) {
        this.superseded(err);
        throw err;
      }
      this.stores.set(run, s);
    }
    return s;
  }

  /** Says so when `err` is the fence's refusal (a newer copy owns the run); whether it was. */
  private superseded(err: unknown): boolean {
    if (!(err instanceof DaqError) || err.code !== 'SUPERSEDED') return false;
    this.deps.ers.raise('daqops.writer.Superseded', err.message, {
      generation: this.config.generation ?? -1,
    });
    return true;
  }

  private async onBatch(batch: InBatch): Promise<void> {
    const bad: OutRecord[] = [];
    for (const rec of batch.records) {
      this.m.edgeIn.inc(rec.value.byteLength);
      let msg: ReturnType<typeof decodeEventRecord>;
      try {
        msg = decodeEventRecord(rec.value);
      } catch (err) {
        // Bad input loses nothing: the record is set aside with its reason, and the stream goes on.
        const reason = (err as Error).message;
        this.m.deadletter.labels({ reason: 'bad-event-record' }).inc();
        this.deps.ers.raise(
          'daqops.writer.BadEventRecord',
          `${batch.topic}[${rec.partition}]@${rec.offset}: ${reason}`,
          { partition: rec.partition, offset: rec.offset },
        );
        bad.push(
          deadletterRecord({ key: rec.key, value: rec.value }, 'bad-event-record', reason, batch.topic),
        );
        this.consumed.set(rec.partition, String(Number(rec.offset) + 1));
        continue;
      }
      const ref = recordRef(rec.headers, msg.timeframe);
      const store = this.store(msg.run);
      const key = ref === undefined ? undefined : `${msg.run}/${ref[0]}/${ref[3]}/${ref[1]}`;
      // A record stored already (replayed after a processor's or this writer's restart): its events are.
      if (
        key !== undefined &&
        (store.hasRecord(ref![0], ref![1], ref![3]) || this.bufferedRecords.has(key))
      ) {
        this.totals.duplicates += msg.events.length;
        this.m.duplicates.inc(msg.events.length);
        this.consumed.set(rec.partition, String(Number(rec.offset) + 1));
        continue;
      }
      let pending = this.buffer.get(msg.run);
      if (pending === undefined) {
        pending = { events: [], records: [] };
        this.buffer.set(msg.run, pending);
      }
      if (ref !== undefined) {
        pending.records.push(ref);
        this.bufferedRecords.add(key!);
      }
      for (const e of msg.events) {
        // Records without part headers (an older processor): by event id, against this buffer and the
        // store's chunks of older versions.
        if (ref === undefined && (store.hasLegacyEvent(e.id) || this.bufferedIds.has(e.id))) {
          this.totals.duplicates++;
          this.m.duplicates.inc();
          continue;
        }
        pending.events.push(e);
        if (ref === undefined) this.bufferedIds.add(e.id);
        this.buffered++;
      }
      this.consumed.set(rec.partition, String(Number(rec.offset) + 1));
    }
    if (bad.length > 0) await this.producer!.send([{ topic: this.topics.deadletter, records: bad }]);
    if (this.buffered >= this.config.flushEvents) await this.flush();
  }

  private async flushIfDue(): Promise<void> {
    if (Date.now() - this.lastFlush >= this.config.flushIntervalMs) await this.flush();
  }

  private async flush(): Promise<void> {
    this.lastFlush = Date.now();
    const buffer = this.buffer;
    this.buffer = new Map();
    this.buffered = 0;
    this.bufferedIds.clear();
    this.bufferedRecords.clear();
    const accounting: WriterAccounting[] = [];
    for (const [run, { events, records }] of buffer) {
      if (events.length === 0 && records.length === 0) continue;
      const store = this.store(run);
      try {
        if (events.length === 0) store.markStored(records);
        else {
          const chunk = store.append(events, records);
          this.totals.events += chunk.events;
          this.totals.chunks++;
          this.totals.bytes += chunk.bytes;
          this.m.events.inc(chunk.events);
          this.m.bytes.inc(chunk.bytes);
        }
      } catch (err) {
        // A newer copy owns the run: nothing is stored and nothing committed, the records are its.
        if (this.superseded(err)) throw err;
        this.deps.ers.raise(
          'daqops.writer.WriteFailed',
          `run ${run}: a chunk of ${events.length} events could not be stored`,
          { run },
          { cause: err },
        );
        throw err;
      }
      accounting.push({
        stage: 'writer',
        run,
        task: this.config.task,
        events: store.storedEvents,
        hits: store.storedHits,
        duplicates: this.totals.duplicates,
      });
    }
    // Everything consumed so far is durable now: once its accounting is acknowledged, its offsets are
    // committed (output-pipeline.ts). A refused commit is tried again at the next flush; if the partition
    // moved, its new owner re-reads and drops the duplicates.
    if (accounting.length === 0 && this.consumed.size === 0) return;
    await this.pipeline.push({
      accounting: accounting.map(encodeAccounting),
      offsets: new Map(this.consumed),
    });
  }

  private checkDisk(): void {
    try {
      const free = diskFreeBytes(this.config.dataDir);
      this.m.diskFree.set(free);
      if (free < DISK_LOW_BYTES) {
        this.deps.ers.raise(
          'daqops.writer.DiskFilling',
          `only ${(free / 1024 ** 2).toFixed(0)} MiB free under ${this.config.dataDir}`,
          { freeBytes: free },
        );
      }
    } catch {
      // statfs unsupported here: the gauge stays unset rather than wrong.
    }
  }
}

/** Which record of its timeframe an event record is (headers daq-part, daq-parts); undefined without them. */
function recordRef(headers: InRecord['headers'], timeframe: number): RecordRef | undefined {
  const part = Number(headerText(headers, EVENT_PART_HEADER));
  const parts = Number(headerText(headers, EVENT_PARTS_HEADER));
  if (!Number.isSafeInteger(part) || !Number.isSafeInteger(parts) || part < 0 || parts < 1 || part >= parts)
    return undefined;
  return [timeframe, part, parts, headerText(headers, EVENT_LINKS_HEADER) ?? ''];
}
