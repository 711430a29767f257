/**
 * The processor workload: a member of the `<ns>.processor` consumer group on `<ns>.raw-hits`. It assembles
 * each timeframe from all links, runs the kernel, and publishes events, dead-letter records, accounting
 * and monitoring aggregates. Offsets are committed only after every output of the records below them is
 * acknowledged, and event ids are deterministic, so a crash and replay duplicates nothing downstream.
 */
import { DaqError } from '../../../protocol/errors.js';
import { DataQuality, type Finding, type FindingKind } from './data-quality.js';
import type { ErsIssueName } from '../../../protocol/ers.js';
import {
  BX_NS,
  BX_PER_ORBIT,
  LAYERS_PER_CHAMBER,
  WORD_BYTES,
  WORD_FAULT_COUNT,
  chamberLayerIndex,
  decodeSubTimeframe,
  faultField,
  faultReason,
  isDaqError,
  topicNames,
  wordToBigInt,
  wordsOf,
} from '../../../protocol/index.js';
import type { ErsReporter } from '../../../lib/ers.js';
import { SerialQueue } from '../serial-queue.js';
import {
  DEADLETTER_DETAIL_HEADER,
  DEADLETTER_REASON_HEADER,
  KafkaProbe,
  RecordConsumer,
  deadletterRecord,
  RecordProducer,
  type InBatch,
  type InRecord,
  type KafkaClient,
  type OutRecord,
} from '../../../lib/kafka.js';
import type { Metrics } from '../../../lib/metrics.js';
import { ensureNamespaceTopics } from '../../../lib/topics.js';
import {
  encodeAccounting,
  AGGREGATE_KIND,
  KIND_HEADER,
  type DeadletterAccounting,
  type ProcessorAccounting,
} from '../../../protocol/accounting.js';
import type { ProcessorConfig } from '../config.js';
import {
  OffsetTracker,
  TimeframeAssembler,
  decodeHandled,
  encodeHandled,
  type AssembledTimeframe,
  type Fragment,
} from './assembler.js';
import { MonitoringAccumulator, TimeframeKernel } from './kernel.js';
import { OutageClock } from './outage-clock.js';
import { KafkaWatch } from '../../../lib/kafka-watch.js';
import { EVENT_FORMAT, encodeEventRecords } from '../../../protocol/events.js';

/** Batches whose outputs may be unacknowledged at once before the batch loop waits. */
const MAX_DELIVERIES = 8;
/** How often the processor asks whether Kafka answers, and how long it waits for the answer. */
const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 1000;
/** Corrupt words of one link and timeframe per dead-letter record at most (about 100 bytes each as JSON). */
const CORRUPT_WORDS_PER_RECORD = 10_000;

/** How long after its partitions moved a processor's data quality holds its judgement. */
const DQ_AFTER_REBALANCE_MS = 10_000;

/** Drift-time observations per monitoring interval at most (daq_processor_drift_time_seconds). */
const DRIFT_SAMPLES = 2000;

/** How long after Kafka is back data quality still holds its judgement (the backlog is being caught up). */
const DQ_AFTER_OUTAGE_MS = 20_000;

/** The ERS issue of each data-quality finding. */
const DQ_ISSUES: Record<FindingKind, ErsIssueName> = {
  'noisy-channel': 'daqops.processor.NoisyChannel',
  'dead-channel': 'daqops.processor.DeadChannel',
  'dead-chamber': 'daqops.processor.DeadChamber',
  'link-silent': 'daqops.processor.LinkSilent',
  'rate-drift': 'daqops.processor.HitRateDrift',
  'noise-rising': 'daqops.processor.NoiseRising',
  'layer-efficiency': 'daqops.processor.LayerEfficiencyLow',
};

export interface ProcessorTotals {
  timeframes: number;
  incomplete: number;
  events: number;
  hits: number;
  corrupt: number;
  deadlettered: number;
}

export interface ProcessorDeps {
  readonly client: KafkaClient;
  readonly metrics: Metrics;
  readonly ers: ErsReporter;
  readonly now?: () => number;
}

interface Outputs {
  events: OutRecord[];
  deadletter: OutRecord[];
  monitoring: OutRecord[];
  /** (partition, offset) handled once these outputs are acknowledged. */
  offsets: { partition: number; offset: number }[];
  after: (() => void)[];
}

export class ProcessorWorkload {
  readonly totals: ProcessorTotals = {
    timeframes: 0,
    incomplete: 0,
    events: 0,
    hits: 0,
    corrupt: 0,
    deadlettered: 0,
  };
  private readonly topics;
  private readonly kernel: TimeframeKernel;
  private readonly acc: MonitoringAccumulator;
  private readonly dq: DataQuality;
  private readonly assembler: TimeframeAssembler;
  private readonly offsets = new OffsetTracker();
  private readonly loaded = new Set<number>();
  private readonly queue = new SerialQueue();
  /** Output deliveries in flight (deliver), and the chain their commits go through in order. */
  private readonly deliveries = new Set<Promise<void>>();
  private commits: Promise<void> = Promise.resolve();
  private stopping = false;
  private producer: RecordProducer | undefined;
  private consumer: RecordConsumer | undefined;
  private readonly now: () => number;
  private readonly clock: OutageClock;
  /** Whether Kafka answers, and since when it does again after an outage (the clock still stopped). */
  private watch: KafkaWatch | undefined;
  private backSinceMs: number | undefined;
  /**
   * Data quality holds its judgement while Kafka is away and for a while after (the backlog arrives
   * link by link, timeframes in bursts): until then, what it would see is the outage, not the detector.
   */
  private outageEndsAtMs = -Infinity;
  /** Data quality also holds its judgement until then after the partitions moved (a rebalance). */
  private dqQuietUntilMs = -Infinity;
  private readonly m;

  constructor(
    readonly config: ProcessorConfig,
    private readonly deps: ProcessorDeps,
  ) {
    this.topics = topicNames(config.namespace);
    this.now = deps.now ?? (() => Date.now());
    this.kernel = new TimeframeKernel(config);
    this.acc = new MonitoringAccumulator(config);
    this.dq = new DataQuality(config.map, config.links, config.dataQuality, config.maskedCells);
    this.clock = new OutageClock(this.now);
    this.assembler = new TimeframeAssembler(config.links, config.assemblyTimeoutMs, () => this.clock.now());
    const m = deps.metrics;
    this.m = {
      hits: m.counter('daq_processor_hits_total'),
      bytes: m.counter('daq_processor_bytes_total'),
      corrupt: m.counter('daq_processor_corrupt_words_total'),
      deadletter: m.counter('daq_processor_deadletter_total'),
      timeframes: m.counter('daq_processor_timeframes_total'),
      incomplete: m.counter('daq_processor_timeframes_incomplete_total'),
      events: m.counter('daq_processor_events_total'),
      lag: m.gauge('daq_processor_consumer_lag_messages'),
      latency: m.histogram('daq_processor_latency_seconds'),
      channelHits: m.counter('daq_processor_channel_hits_total'),
      drift: m.histogram('daq_processor_drift_time_seconds'),
      commitErrors: m.counter('daq_processor_commit_errors_total'),
      edgeIn: m.counter('daq_dataflow_bytes_total').labels({ source: 'raw-hits', target: 'processors' }),
      edgeOut: m.counter('daq_dataflow_bytes_total').labels({ source: 'processors', target: 'events' }),
      dqFindings: m.gauge('daq_dq_findings'),
      dqRate: m.gauge('daq_dq_hit_rate_ratio'),
      dqNoise: m.gauge('daq_dq_noise_rate_hz'),
      dqEfficiency: m.gauge('daq_dq_layer_efficiency_ratio'),
      tooLarge: m.counter('daq_kafka_records_too_large_total'),
    };
    // Every fault's counters exist at 0 from the start: "no corrupt word" is a value, not a gap.
    for (let f = 1; f < WORD_FAULT_COUNT; f++) {
      this.m.corrupt.labels({ reason: faultField(f) }).inc(0);
      this.m.deadletter.labels({ reason: faultField(f) }).inc(0);
    }
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
      onAssignment: (a) => {
        const owned = new Set(a[this.topics.rawHits] ?? []);
        // Partitions moved (a member joined, left or crashed): timeframes come incomplete or re-read for
        // a while, which is the group's doing, not the detector's.
        this.dqQuietUntilMs = Math.max(this.dqQuietUntilMs, this.now() + DQ_AFTER_REBALANCE_MS);
        this.loaded.clear();
        this.assembler.dropPartitions(owned);
        for (const p of this.offsets.partitionsSeen()) if (!owned.has(p)) this.offsets.forget(p);
      },
    });
    const expiry = setInterval(
      () => void this.queue.run(() => this.onExpiry()).catch(() => undefined),
      Math.min(100, c.assemblyTimeoutMs),
    );
    // Kafka away stops the assembly clock (outage-clock.ts): no timeframe is given up for an outage. The
    // clock stands still from Kafka's last answer; it runs again with the first data once Kafka is back.
    const probe = new KafkaProbe(this.deps.client);
    const watch = new KafkaWatch({
      ping: async () => {
        if (!(await probe.check(PROBE_TIMEOUT_MS)))
          throw new DaqError('KAFKA_UNAVAILABLE', 'no Kafka broker answers');
      },
      intervalMs: PROBE_INTERVAL_MS,
      failures: 1,
      now: this.now,
      onChange: (reachable) => {
        if (reachable) this.backSinceMs = this.now();
        else {
          this.outageEndsAtMs = Infinity;
          this.clock.pause(watch.lastAnsweredMs);
          this.backSinceMs = undefined;
        }
      },
    });
    this.watch = watch;
    watch.start();
    const monitor = setInterval(
      () => void this.queue.run(() => this.publishAggregate()).catch(() => undefined),
      c.monitoringIntervalMs,
    );
    try {
      await this.queue.untilStopped(signal);
    } finally {
      this.stopping = true;
      clearInterval(expiry);
      clearInterval(monitor);
      watch.stop();
      await probe.close();
      // Timeframes still waiting for links are not processed: their offsets stay uncommitted, so the next
      // member of the group picks them up.
      await this.queue.drain();
      await Promise.all(this.deliveries);
      await this.commits;
      await this.consumer.stop();
      await this.producer.close();
    }
    return this.totals;
  }

  private async onBatch(batch: InBatch): Promise<void> {
    // Stopping: records fetched now stay uncommitted for the next owner instead of holding up the stop.
    if (this.stopping) return;
    // Data again after an outage: the assembly clock runs on (not for a batch prefetched before it).
    if (this.watch?.reachable !== false) this.clock.resume();
    await this.loadHandled(batch.partition);
    this.m.lag.labels({ topic: batch.topic, partition: String(batch.partition) }).set(batch.lag);
    const out: Outputs = { events: [], deadletter: [], monitoring: [], offsets: [], after: [] };
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
          {
            partition: rec.partition,
            offset: rec.offset,
            field,
          },
        );
        this.deadletterMessage(out, rec, 'bad-header', (err as Error).message, {
          run: -1,
          link: -1,
          timeframe: -1,
          sequence: -1,
          part: -1,
          words: Math.floor(rec.value.length / WORD_BYTES),
        });
        out.offsets.push({ partition: rec.partition, offset });
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
          {
            link: header.link,
            timeframe: header.timeframe,
            sequence: header.sequence,
          },
        );
        this.deadletterMessage(out, rec, 'late', 'timeframe already processed', {
          run: header.run,
          link: header.link,
          timeframe: header.timeframe,
          sequence: header.sequence,
          part: header.part,
          words: header.words - header.lead - header.trail,
        });
        out.offsets.push({ partition: rec.partition, offset });
      } else if (r === 'duplicate') {
        // Handled by the member before a restart or rebalance: its outputs are out already.
        out.offsets.push({ partition: rec.partition, offset });
      } else if (r !== undefined) {
        this.process(r, out);
      }
    }
    await this.deliver(out);
  }

  /** Once per partition and group generation: learn which timeframes the previous owner handled. */
  private async loadHandled(partition: number): Promise<void> {
    if (this.loaded.has(partition)) return;
    this.loaded.add(partition);
    const committed = await this.consumer!.committed(this.topics.rawHits, [partition]);
    const mine = committed.find((c) => c.partition === partition);
    for (const h of decodeHandled(mine?.metadata)) this.assembler.markHandled(h.run, h.timeframe);
  }

  private async onExpiry(): Promise<void> {
    // Kafka is back but no data came for a full timeout: nothing was in flight, the clock runs on.
    if (this.clock.paused && this.backSinceMs !== undefined) {
      if (this.now() - this.backSinceMs >= this.config.assemblyTimeoutMs) this.clock.resume();
    }
    const expired = this.assembler.expire();
    if (expired.length === 0) return;
    const out: Outputs = { events: [], deadletter: [], monitoring: [], offsets: [], after: [] };
    for (const tf of expired) {
      this.deps.ers.raise(
        'daqops.processor.TimeframeIncomplete',
        `timeframe ${tf.timeframe} processed without link(s) ${tf.missingLinks.join(', ')} after ${this.config.assemblyTimeoutMs} ms`,
        {
          timeframe: tf.timeframe,
          missingLinks: tf.missingLinks.join(','),
        },
      );
      this.process(tf, out);
    }
    await this.deliver(out);
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
    const links: Record<string, { words: number; hits: number; segments: number; corrupt: number }> = {};
    for (const [link, counts] of r.perLink) links[String(link)] = { ...counts };
    for (const value of encodeEventRecords(tf.run, tf.timeframe, r.events, this.config.maxRecordBytes)) {
      out.events.push({ key: `${tf.run}-${tf.timeframe}`, value, headers: { 'daq-format': EVENT_FORMAT } });
    }
    // Corrupt words: dead-letter records per link, each word with the field that failed.
    const byLink = new Map<number, typeof r.corrupt>();
    for (const cw of r.corrupt) byLink.set(cw.link, [...(byLink.get(cw.link) ?? []), cw]);
    for (const [link, words] of byLink) {
      for (let from = 0; from < words.length; from += CORRUPT_WORDS_PER_RECORD) {
        const part = words.slice(from, from + CORRUPT_WORDS_PER_RECORD);
        out.deadletter.push({
          key: `${tf.run}-${tf.timeframe}-${link}`,
          value: Buffer.from(
            JSON.stringify({
              run: tf.run,
              link,
              timeframe: tf.timeframe,
              words: part.map((w) => ({
                index: w.index,
                word: wordToBigInt(w.lo, w.hi).toString(16).padStart(16, '0'),
                field: faultField(w.fault),
                reason: faultReason(w.fault),
              })),
            }),
          ),
          headers: {
            [DEADLETTER_REASON_HEADER]: 'corrupt-words',
            [DEADLETTER_DETAIL_HEADER]: [...new Set(part.map((w) => faultField(w.fault)))].join(','),
          },
        });
      }
    }
    const accounting: ProcessorAccounting = {
      stage: 'processor',
      run: tf.run,
      timeframe: tf.timeframe,
      links,
      missingLinks: tf.missingLinks,
      events: r.events.length,
      hitsInEvents: r.hitsInEvents,
    };
    out.monitoring.push(encodeAccounting(accounting));
    for (const f of tf.fragments) out.offsets.push({ partition: f.partition, offset: f.offset });
    const key = `${tf.run}/${tf.timeframe}`;
    out.after.push(() => {
      for (const f of tf.fragments) this.offsets.handledTimeframe(f.partition, key, f.offset);
    });
    const producedAt = Math.min(...tf.fragments.map((f) => f.timestampMs));
    out.after.push(() => {
      const t = this.totals;
      t.timeframes++;
      if (!tf.complete) t.incomplete++;
      t.events += r.events.length;
      this.m.timeframes.inc();
      if (!tf.complete) this.m.incomplete.inc();
      this.m.events.inc(r.events.length);
      for (const [link, counts] of r.perLink) {
        t.hits += counts.hits;
        t.corrupt += counts.corrupt;
        this.m.hits.labels({ link: String(link) }).inc(counts.hits);
      }
      for (const cw of r.corrupt) {
        this.m.corrupt.labels({ reason: faultField(cw.fault) }).inc();
        this.m.deadletter.labels({ reason: faultField(cw.fault) }).inc();
      }
      if (r.corrupt.length > 0) {
        this.deps.ers.raise(
          'daqops.processor.CorruptWord',
          `${r.corrupt.length} corrupt word(s) in timeframe ${tf.timeframe} dead-lettered`,
          {
            timeframe: tf.timeframe,
            count: r.corrupt.length,
            fields: [...new Set(r.corrupt.map((w) => faultField(w.fault)))].join(','),
          },
        );
      }
      if (Number.isFinite(producedAt)) this.m.latency.observe(Math.max(0, (this.now() - producedAt) / 1000));
    });
  }

  private deadletterMessage(
    out: Outputs,
    rec: InRecord,
    reason: string,
    detail: string,
    a: Omit<DeadletterAccounting, 'stage' | 'reason'>,
  ): void {
    out.deadletter.push(deadletterRecord(rec, reason, detail));
    const accounting: DeadletterAccounting = { stage: 'deadletter', reason, ...a };
    out.monitoring.push(encodeAccounting(accounting));
    out.after.push(() => {
      this.totals.deadlettered++;
      this.m.deadletter.labels({ reason }).inc();
    });
  }

  /**
   * Sends the outputs of a batch and returns once they are on their way: up to MAX_DELIVERIES batches'
   * outputs are in flight at once (the next batch is processed meanwhile), then the batch loop waits for
   * the oldest. Once acknowledged, their input records are marked handled and the offsets committed, in
   * order. A delivery that fails ends the workload, committing nothing more.
   */
  private async deliver(out: Outputs): Promise<void> {
    if (out.offsets.length === 0) return;
    while (this.deliveries.size >= MAX_DELIVERIES) await Promise.race(this.deliveries);
    const d: Promise<void> = this.send(out).then(
      () => {
        this.deliveries.delete(d);
        return this.acknowledged(out);
      },
      (err: unknown) => {
        this.deliveries.delete(d);
        void this.queue.run(() => Promise.reject(err instanceof Error ? err : new Error(String(err))));
      },
    );
    this.deliveries.add(d);
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

  /** Outputs acknowledged: their records are handled; commit what that allows, one commit at a time. */
  private acknowledged(out: Outputs): Promise<void> {
    for (const fn of out.after) fn();
    for (const e of out.events) this.m.edgeOut.inc(e.value.byteLength);
    const partitions = new Set<number>();
    for (const o of out.offsets) {
      this.offsets.done(o.partition, o.offset);
      partitions.add(o.partition);
    }
    this.commits = this.commits.then(() => this.commit(partitions));
    return this.commits;
  }

  private async commit(partitions: ReadonlySet<number>): Promise<void> {
    for (const p of partitions) {
      const next = this.offsets.committable(p);
      if (next === undefined) continue;
      const metadata = encodeHandled(this.offsets.handledAhead(p, next));
      try {
        // Over Kafka's metadata limit (4 KiB by default) the list is left out: a restart then reprocesses
        // those timeframes, which downstream de-duplication by event id absorbs.
        await this.consumer!.commit(
          this.topics.rawHits,
          p,
          String(next),
          metadata.length <= 4000 ? metadata : undefined,
        );
      } catch (err) {
        // A rebalance moved the partition, or the broker is away: the next commit covers this one, and a
        // new owner re-reads from the last commit and skips what the metadata lists. Nothing is lost.
        this.m.commitErrors.inc();
        this.deps.ers.raise(
          'daqops.processor.CommitFailed',
          `offset commit for partition ${p} refused: ${(err as Error).message}`,
          { partition: p },
        );
      }
    }
  }

  /**
   * Data quality of the interval (data-quality.ts): an ERS issue for each finding raised (about the link
   * it concerns, or the environment), again at Information when it clears, and the gauges Prometheus
   * alerts on.
   */
  private judgeQuality(acc: MonitoringAccumulator, seconds: number): void {
    if (this.outageEndsAtMs === Infinity && this.watch?.reachable !== false && this.backSinceMs !== undefined)
      this.outageEndsAtMs = this.backSinceMs + DQ_AFTER_OUTAGE_MS;
    const disturbed =
      this.watch?.reachable === false ||
      this.clock.paused ||
      this.now() < this.outageEndsAtMs ||
      this.now() < this.dqQuietUntilMs;
    const r = this.dq.observe(acc.intervalCounts(seconds, disturbed));
    const ers = (f: Finding, cleared: boolean): void => {
      const component = f.link === undefined ? `environment:${this.config.environment}` : `link:${f.link}`;
      this.deps.ers.raise(
        DQ_ISSUES[f.kind],
        cleared ? `cleared: ${f.message}` : f.message,
        {
          kind: f.kind,
          component,
          value: Number(f.value.toPrecision(4)),
          limit: Number(f.limit.toPrecision(4)),
          ...(f.link === undefined ? {} : { link: f.link }),
          ...(f.chamber === undefined ? {} : { chamber: f.chamber }),
          ...(f.layer === undefined ? {} : { layer: f.layer }),
          ...(f.cell === undefined ? {} : { cell: f.cell }),
        },
        cleared ? { severity: 'Information' } : {},
      );
    };
    for (const f of r.raised) ers(f, false);
    for (const f of r.cleared) ers(f, true);
    // Rebuilt from the active findings each interval: a cleared finding leaves no series behind.
    this.m.dqFindings.reset();
    for (const f of r.active) {
      this.m.dqFindings
        .labels({
          kind: f.kind,
          link: f.link === undefined ? '' : String(f.link),
          chamber: f.chamber === undefined ? '' : String(f.chamber),
        })
        .inc();
    }
    if (r.hitRateRatio !== undefined) this.m.dqRate.set(r.hitRateRatio);
    this.m.dqNoise.set(r.noiseRateHz);
    for (const [key, e] of r.efficiency) {
      const [chamber, layer] = key.split('/');
      this.m.dqEfficiency.labels({ chamber: chamber!, layer: layer! }).set(e);
    }
  }

  private async publishAggregate(): Promise<void> {
    const acc = this.acc;
    if (acc.timeframes === 0) return;
    const seconds = (acc.timeframes * this.config.orbitsPerTimeframe * BX_PER_ORBIT * BX_NS) / 1e9;
    const ratesHz: Record<string, number> = {};
    for (const e of this.config.map.entries) {
      const n = acc.hitsPerChannel[(e.fpga << 9) | e.channel]!;
      if (n > 0) ratesHz[`${e.chamber}/${e.layer}/${e.cell}`] = n / seconds;
    }
    const occupancy: Record<string, number> = {};
    for (let chamber = 0; chamber < 16; chamber++) {
      for (let layer = 1; layer <= LAYERS_PER_CHAMBER; layer++) {
        const n = acc.hitsPerLayer[chamberLayerIndex(chamber, layer)]!;
        if (n === 0) continue;
        occupancy[`${chamber}/${layer}`] = n;
      }
    }
    for (const e of this.config.map.entries) {
      const n = acc.hitsPerChannel[(e.fpga << 9) | e.channel]!;
      if (n > 0)
        this.m.channelHits
          .labels({ chamber: String(e.chamber), layer: String(e.layer), cell: String(e.cell) })
          .inc(n);
    }
    // The drift-time histogram of the interval into Prometheus' buckets (bin centres), scaled down to at
    // most DRIFT_SAMPLES observations: the shape is what it is for, and an observation costs a microsecond.
    const { windowMinNs, driftBinNs } = this.config;
    const total = acc.driftHistogram.reduce((a, b) => a + b, 0);
    const scale = total > DRIFT_SAMPLES ? DRIFT_SAMPLES / total : 1;
    acc.driftHistogram.forEach((n, bin) => {
      const t = (windowMinNs + (bin + 0.5) * driftBinNs) / 1e9;
      for (let k = Math.round(n * scale); k > 0; k--) this.m.drift.observe(t);
    });
    const faults: Record<string, number> = {};
    for (let f = 1; f < WORD_FAULT_COUNT; f++) if (acc.faults[f]! > 0) faults[faultField(f)] = acc.faults[f]!;
    this.judgeQuality(acc, seconds);
    const aggregate = {
      kind: AGGREGATE_KIND,
      environment: this.config.environment,
      task: this.config.task,
      at: new Date(this.now()).toISOString(),
      timeframes: acc.timeframes,
      detectorSeconds: seconds,
      ratesHz,
      occupancy,
      noiseRateHz: acc.unassignedHits / seconds,
      driftHistogram: {
        minNs: this.config.windowMinNs,
        binNs: this.config.driftBinNs,
        counts: Array.from(acc.driftHistogram),
      },
      faults,
    };
    acc.reset();
    await this.producer!.send([
      {
        topic: this.topics.monitoring,
        records: [
          {
            key: `aggregate/${this.config.task}`,
            value: Buffer.from(JSON.stringify(aggregate)),
            headers: { [KIND_HEADER]: AGGREGATE_KIND },
          },
        ],
      },
    ]);
  }
}
