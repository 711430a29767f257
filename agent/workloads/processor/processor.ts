/**
 * The processor workload: a member of the `<ns>.processor` consumer group on `<ns>.raw-hits`. It assembles
 * each timeframe from all links, runs the kernel, and publishes events, dead-letter records, accounting
 * and monitoring aggregates. Offsets are committed only after every output of the records below them is
 * acknowledged, and event ids are deterministic, so a crash and replay duplicates nothing downstream.
 */
import { WORD_BYTES, decodeSubTimeframe, isDaqError, topicNames, wordsOf } from '../../../protocol/index.js';
import type { DeadletterAccounting } from '../../../protocol/accounting.js';
import { encodeAggregate } from '../../../protocol/monitoring.js';
import type { ErsReporter } from '../../../lib/ers.js';
import {
  RecordConsumer,
  RecordProducer,
  type InBatch,
  type InRecord,
  type KafkaClient,
} from '../../../lib/kafka.js';
import type { Metrics } from '../../../lib/metrics.js';
import { ensureNamespaceTopics } from '../../../lib/topics.js';
import type { ProcessorConfig } from '../config.js';
import { OutputPipeline } from '../output-pipeline.js';
import { SerialQueue } from '../serial-queue.js';
import { untilAnswered } from '../../../lib/poll.js';
import { consumerStalled } from '../consumer-stalled.js';
import {
  OffsetTracker,
  TimeframeAssembler,
  decodeHandled,
  encodeHandled,
  type AssembledTimeframe,
  type Fragment,
} from './assembler.js';
import { IntervalMetrics, detectorSeconds, intervalAggregate } from './interval.js';
import { MonitoringAccumulator, TimeframeKernel } from './kernel.js';
import { KafkaOutage } from './kafka-outage.js';
import { addDeadletter, addTimeframe, noOutputs, type Outputs } from './outputs.js';
import { QualityWatch } from './quality-watch.js';
import { ProcessorCounts, type ProcessorTotals } from './counts.js';

/** Batches whose outputs may be unacknowledged at once before the batch loop waits. */
const MAX_DELIVERIES = 8;
/** Kafka's offset-commit metadata limit (4 KiB by default), with room to spare. */
const COMMIT_METADATA_BYTES = 4000;

export type { ProcessorTotals };

export interface ProcessorDeps {
  readonly client: KafkaClient;
  readonly metrics: Metrics;
  readonly ers: ErsReporter;
  readonly now?: () => number;
}

export class ProcessorWorkload {
  private readonly counts: ProcessorCounts;
  private readonly topics;
  private readonly kernel: TimeframeKernel;
  private readonly acc: MonitoringAccumulator;
  private readonly quality: QualityWatch;
  private readonly interval: IntervalMetrics;
  private readonly assembler: TimeframeAssembler;
  private readonly offsets = new OffsetTracker();
  private readonly loaded = new Set<number>();
  private readonly queue = new SerialQueue();
  /** A fetch's outputs sent, acknowledged, then its offsets committed (output-pipeline.ts). */
  private readonly pipeline: OutputPipeline<Outputs>;
  private stopping = false;
  private producer: RecordProducer | undefined;
  private consumer: RecordConsumer | undefined;
  private readonly now: () => number;
  private readonly outage: KafkaOutage;
  private readonly m;
  /** Partitions this member has reported a consumer lag for. */
  private readonly lagReported = new Set<number>();

  constructor(
    readonly config: ProcessorConfig,
    private readonly deps: ProcessorDeps,
  ) {
    this.topics = topicNames(config.namespace);
    this.now = deps.now ?? (() => Date.now());
    this.kernel = new TimeframeKernel(config);
    this.acc = new MonitoringAccumulator(config);
    this.quality = new QualityWatch(config, { ers: deps.ers, metrics: deps.metrics, now: this.now });
    this.interval = new IntervalMetrics(deps.metrics, config);
    this.outage = new KafkaOutage(deps.client, this.now, (reachable) => this.quality.kafka(reachable));
    const clock = this.outage.clock;
    this.assembler = new TimeframeAssembler(config.links, config.assemblyTimeoutMs, () => clock.now());
    const m = deps.metrics;
    this.m = {
      bytes: m.counter('daq_processor_bytes_total'),
      lag: m.gauge('daq_processor_consumer_lag_messages'),
      assemblyTimeframes: m.gauge('daq_processor_assembly_timeframes'),
      assemblyBytes: m.gauge('daq_processor_assembly_bytes'),
      commitErrors: m.counter('daq_processor_commit_errors_total'),
      edgeIn: m.counter('daq_dataflow_bytes_total').labels({ source: 'raw-hits', target: 'processors' }),
      edgeOut: m.counter('daq_dataflow_bytes_total').labels({ source: 'processors', target: 'events' }),
      tooLarge: m.counter('daq_kafka_records_too_large_total'),
    };
    this.counts = new ProcessorCounts(m, deps.ers, this.now);
    this.pipeline = new OutputPipeline<Outputs>(MAX_DELIVERIES, {
      send: (out) => this.send(out),
      acknowledged: (out) => this.acknowledged(out),
      commit: (_out, p) => this.commit(p),
      refused: (p, err) => {
        // A rebalance moved the partition, or the broker is away: the next commit covers this one, and a
        // new owner re-reads from the last commit and skips what the metadata lists. Nothing is lost.
        this.m.commitErrors.inc();
        this.deps.ers.raise(
          'daqops.processor.CommitFailed',
          `offset commit for partition ${p} refused: ${err.message}`,
          { partition: p },
        );
      },
      // A delivery that failed ends the workload, committing nothing more.
      failed: (err) => void this.queue.run(() => Promise.reject(err)),
    });
  }

  /** Runs until `signal` aborts or an output cannot be delivered (then rejects, committing nothing more). */
  async run(signal: AbortSignal): Promise<ProcessorTotals> {
    const c = this.config;
    await ensureNamespaceTopics(this.deps.client, c.namespace);
    this.producer = await RecordProducer.open(this.deps.client, {
      deadletterTopic: this.topics.deadletter,
      onTooLarge: (topic, bytes, limit) => {
        this.m.tooLarge.labels({ topic }).inc();
        this.deps.ers.raise(
          'daqops.kafka.RecordTooLarge',
          `a record of ${bytes} bytes for ${topic} exceeds the limit of ${limit} bytes; set aside on ${this.topics.deadletter}`,
          { topic, bytes, limit },
        );
      },
    });
    this.consumer = await RecordConsumer.start(this.deps.client, {
      groupId: c.groupId,
      topics: [this.topics.rawHits],
      onBatch: (b) => this.queue.run(() => this.onBatch(b)),
      onStalled: (stall) => {
        const err = consumerStalled(this.deps.ers, 'processor', stall);
        void this.queue.run(() => Promise.reject(err)).catch(() => undefined);
      },
      onAssignment: (a) => {
        const owned = new Set(a[this.topics.rawHits] ?? []);
        this.quality.rebalanced(owned);
        this.loaded.clear();
        this.assembler.dropPartitions(owned);
        for (const p of this.offsets.partitionsSeen()) if (!owned.has(p)) this.offsets.forget(p);
        // A partition that moved away is not this member's lag any more (its new owner reports it): a
        // value left from before the rebalance would stand in the sum for ever.
        for (const p of this.lagReported)
          if (!owned.has(p)) this.m.lag.labels({ topic: this.topics.rawHits, partition: String(p) }).set(0);
      },
    });
    const expiry = setInterval(
      () => void this.queue.run(() => this.onExpiry()).catch(() => undefined),
      Math.min(100, c.assemblyTimeoutMs),
    );
    // Kafka away stops the assembly clock (kafka-outage.ts): no timeframe is given up for an outage.
    this.outage.start();
    const monitor = setInterval(
      () => void this.queue.run(() => this.publishInterval()).catch(() => undefined),
      c.monitoringIntervalMs,
    );
    try {
      await this.queue.untilStopped(signal);
    } finally {
      this.stopping = true;
      clearInterval(expiry);
      clearInterval(monitor);
      await this.outage.stop();
      // Timeframes still waiting for links are not processed: their offsets stay uncommitted, so the next
      // member of the group picks them up.
      await this.queue.drain();
      await this.pipeline.settle();
      await this.consumer.stop();
      await this.producer.close();
    }
    return this.counts.totals;
  }

  private async onBatch(batch: InBatch): Promise<void> {
    // Stopping: records fetched now stay uncommitted for the next owner instead of holding up the stop.
    if (this.stopping) return;
    this.outage.dataArrived();
    // Stopped while waiting for the partition's last commit: its records stay for the next owner.
    if (!(await this.loadHandled(batch.partition))) return;
    this.m.lag.labels({ topic: batch.topic, partition: String(batch.partition) }).set(batch.lag);
    this.lagReported.add(batch.partition);
    this.quality.lag(batch.partition, batch.lag);
    const out = noOutputs();
    for (const rec of batch.records) {
      const offset = Number(rec.offset);
      this.offsets.add(rec.partition, offset);
      let header;
      try {
        header = decodeSubTimeframe(rec.headers, rec.value);
      } catch (err) {
        const field = isDaqError(err) ? (err.field ?? 'headers') : 'headers';
        this.deps.ers.raise(
          'daqops.processor.BadSubTimeframe',
          `${batch.topic}[${rec.partition}]@${rec.offset}: ${(err as Error).message}`,
          { partition: rec.partition, offset: rec.offset, field },
        );
        this.setAside(out, 'bad-header', (err as Error).message, rec, {
          run: -1,
          link: -1,
          timeframe: -1,
          sequence: -1,
          part: -1,
          words: Math.floor(rec.value.length / WORD_BYTES),
        });
        continue;
      }
      this.m.bytes.labels({ link: String(header.link) }).inc(rec.value.byteLength);
      this.m.edgeIn.inc(rec.value.byteLength);
      const frag: Fragment = {
        header,
        words: wordsOf(rec.value).words,
        partition: rec.partition,
        offset,
        timestampMs: rec.timestampMs,
      };
      const r = this.assembler.add(frag);
      if (r === 'late') {
        this.deps.ers.raise(
          'daqops.processor.LateSubTimeframe',
          `link ${header.link} timeframe ${header.timeframe} arrived after the timeframe was processed`,
          { link: header.link, timeframe: header.timeframe, sequence: header.sequence },
        );
        this.setAside(out, 'late', 'timeframe already processed', rec, {
          run: header.run,
          link: header.link,
          timeframe: header.timeframe,
          sequence: header.sequence,
          part: header.part,
          words: header.words - header.lead - header.trail,
        });
      } else if (r === 'duplicate') {
        // Handled by the member before a restart or rebalance: its outputs are out already.
        out.offsets.push({ partition: rec.partition, offset });
      } else if (r !== undefined) {
        this.process(r, out);
      }
    }
    this.reportAssembly();
    if (out.offsets.length > 0) await this.pipeline.push(out);
  }

  private reportAssembly(): void {
    this.m.assemblyTimeframes.set(this.assembler.pendingCount);
    this.m.assemblyBytes.set(this.assembler.pendingBytes);
  }

  /** Once per partition and group generation: learn which timeframes the previous owner handled. */
  /**
   * Learns, once per assignment, which timeframes the group's last commit of `partition` lists as handled
   * (docs/data-path.md "Processor"): without it a new owner would build them again. This runs with the
   * first batch after a rebalance — the very moment after a broker outage, when Kafka's group coordinator
   * may still be away or loading — so a read that fails is tried again (backoff to 5 s) while the batch
   * waits, which is backpressure, never a crash. False when the processor stops meanwhile.
   */
  private async loadHandled(partition: number): Promise<boolean> {
    if (this.loaded.has(partition)) return true;
    const committed = await untilAnswered(() => this.consumer!.committed(this.topics.rawHits, [partition]), {
      stopped: () => this.stopping,
      onFirstFailure: (err) =>
        this.deps.ers.raise(
          'daqops.processor.CommittedUnavailable',
          `${this.topics.rawHits}[${partition}]: ${err.message}; its records wait until Kafka answers`,
          { partition },
        ),
    });
    if (committed === undefined) return false;
    const mine = committed.find((c) => c.partition === partition);
    for (const h of decodeHandled(mine?.metadata)) this.assembler.markHandled(h.run, h.timeframe, h.missing);
    this.loaded.add(partition);
    return true;
  }

  private async onExpiry(): Promise<void> {
    this.outage.quietFor(this.config.assemblyTimeoutMs);
    const expired = this.assembler.expire();
    this.reportAssembly();
    if (expired.length === 0) return;
    const out = noOutputs();
    for (const tf of expired) {
      this.deps.ers.raise(
        'daqops.processor.TimeframeIncomplete',
        `timeframe ${tf.timeframe} processed without link(s) ${tf.missingLinks.join(', ')} after ${this.config.assemblyTimeoutMs} ms`,
        { timeframe: tf.timeframe, missingLinks: tf.missingLinks.join(',') },
      );
      this.process(tf, out);
    }
    await this.pipeline.push(out);
  }

  private process(tf: AssembledTimeframe, out: Outputs): void {
    const sections = tf.fragments.map((f) => ({
      link: f.header.link,
      words: f.words,
      lead: f.header.lead,
      main: f.header.words - f.header.lead - f.header.trail,
      trail: f.header.trail,
    }));
    const r = this.kernel.process(tf.run, tf.timeframe, sections, this.acc);
    addTimeframe(out, tf, r, this.config.maxRecordBytes);
    const key = `${tf.run}/${tf.timeframe}`;
    const producedAt = Math.min(...tf.fragments.map((f) => f.timestampMs));
    out.after.push(() => {
      for (const f of tf.fragments)
        this.offsets.handledTimeframe(f.partition, key, f.offset, tf.missingLinks);
      this.counts.timeframe(tf, r, producedAt);
    });
  }

  private setAside(
    out: Outputs,
    reason: string,
    detail: string,
    rec: InRecord,
    a: Omit<DeadletterAccounting, 'stage' | 'reason'>,
  ): void {
    addDeadletter(out, rec, reason, detail, a);
    out.after.push(() => this.counts.setAside(reason));
  }

  private async send(out: Outputs): Promise<void> {
    try {
      await this.producer!.send([
        { topic: this.topics.events, records: out.events },
        { topic: this.topics.deadletter, records: out.deadletter },
        { topic: this.topics.monitoring, records: out.monitoring },
      ]);
    } catch (err) {
      this.deps.ers.raise(
        'daqops.processor.OutputFailed',
        `outputs of ${out.offsets.length} record(s) not acknowledged; offsets not committed`,
        {},
        { cause: err },
      );
      throw err;
    }
  }

  /** Outputs acknowledged: count them, mark their records handled; the partitions whose commit may move. */
  private acknowledged(out: Outputs): Set<number> {
    for (const fn of out.after) fn();
    for (const e of out.events) this.m.edgeOut.inc(e.value.byteLength);
    const partitions = new Set<number>();
    for (const o of out.offsets) {
      this.offsets.done(o.partition, o.offset);
      partitions.add(o.partition);
    }
    return partitions;
  }

  private async commit(p: number): Promise<void> {
    const next = this.offsets.committable(p);
    if (next === undefined) return;
    const metadata = encodeHandled(this.offsets.handledAhead(p, next));
    // Over Kafka's metadata limit the list is left out: a restart then reprocesses those timeframes, which
    // downstream de-duplication by event id absorbs.
    await this.consumer!.commit(
      this.topics.rawHits,
      p,
      String(next),
      metadata.length <= COMMIT_METADATA_BYTES ? metadata : undefined,
    );
  }

  /** One monitoring interval: Prometheus' counters, the data-quality judgement, the aggregate record. */
  private async publishInterval(): Promise<void> {
    const acc = this.acc;
    if (acc.timeframes === 0) return;
    this.interval.record(acc);
    this.quality.judge(acc, detectorSeconds(acc, this.config.orbitsPerTimeframe), this.outage.clock.paused);
    const aggregate = intervalAggregate(acc, this.config, this.now());
    acc.reset();
    await this.producer!.send([{ topic: this.topics.monitoring, records: [encodeAggregate(aggregate)] }]);
  }
}
