/**
 * The readout workload: one per readout link. Reads words from its source, cuts them into
 * sub-timeframes (with overlap context), splits those over the message size limit, and produces them to
 * `<ns>.raw-hits` keyed by timeframe, idempotently with acks=all. Counts only what Kafka acknowledged.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  WORD_BYTES,
  WordType,
  bytesOfWords,
  encodeSubTimeframe,
  topicNames,
} from '../../../protocol/index.js';
import type { ErsReporter } from '../../../lib/ers.js';
import { RecordProducer, recordMemoryBytes, type KafkaClient, type OutRecord } from '../../../lib/kafka.js';
import type { Metrics } from '../../../lib/metrics.js';
import { ensureNamespaceTopics } from '../../../lib/topics.js';
import { encodeAccounting, type ReadoutAccounting } from '../../../protocol/accounting.js';
import type { ReadoutConfig } from '../config.js';
import { StreamFramer, type FramedTimeframe } from './framer.js';
import { DaqError } from '../../../protocol/errors.js';
import { FaultBoard } from './faults.js';
import { describeFault, type FaultSpec } from '../../../protocol/faults.js';
import { openSource, type RunStop } from './sources.js';

// Room for the headers of a message (about 250 bytes of daq-* headers and traceparent), in words.
const HEADER_ALLOWANCE_WORDS = 64;

export interface ReadoutTotals {
  words: number;
  hits: number;
  segments: number;
  messages: number;
  bytes: number;
  timeframes: number;
  lastSequence: number;
  /** Words (hits) set aside unsent because the buffer was full (a real-time emulator cannot wait). */
  notProducedWords: number;
  notProducedHits: number;
}

export interface ReadoutDeps {
  readonly client: KafkaClient;
  readonly metrics: Metrics;
  readonly ers: ErsReporter;
}

/** Splits a framed timeframe into messages no larger than maxMessageBytes (payload + header allowance). */
export function splitTimeframe(f: FramedTimeframe, maxMessageBytes: number): { from: number; to: number }[] {
  const total = f.lead + f.main + f.trail;
  const perPart = Math.max(1, Math.floor(maxMessageBytes / WORD_BYTES) - HEADER_ALLOWANCE_WORDS);
  if (total <= perPart) return [{ from: 0, to: total }];
  const parts: { from: number; to: number }[] = [];
  for (let from = 0; from < total; from += perPart) parts.push({ from, to: Math.min(total, from + perPart) });
  return parts;
}

export class ReadoutWorkload {
  readonly totals: ReadoutTotals = {
    words: 0,
    hits: 0,
    segments: 0,
    messages: 0,
    bytes: 0,
    timeframes: 0,
    lastSequence: -1,
    notProducedWords: 0,
    notProducedHits: 0,
  };
  private readonly incarnation = randomBytes(4).toString('hex');
  private sequence = 0;
  private readonly topics;
  /** Drill faults of the emulator (protocol/faults.ts): the template's, then those injected at run time. */
  readonly faults: FaultBoard;
  /** The run's time origin (its common clock, else this link's start): templates' faults count from it. */
  private runStartMs: number;

  constructor(
    readonly config: ReadoutConfig,
    private readonly deps: ReadoutDeps,
  ) {
    this.topics = topicNames(config.namespace);
    this.faults = new FaultBoard(config.map, config.fpga, config.link);
    this.runStartMs = config.epochMs ?? Date.now();
    for (const f of config.faults) this.inject(f);
  }

  /**
   * Injects a drill fault (only the emulator has any; other sources refuse). Raises an Information ERS
   * issue so the drill is on the record next to the incident it causes.
   */
  inject(f: FaultSpec, nowMs = Date.now()): void {
    if (this.config.source.type !== 'emulator')
      throw new DaqError(
        'INVALID_FAULT',
        `link ${this.config.link} reads a ${this.config.source.type} source: drill faults need the emulator`,
        { field: 'fault' },
      );
    this.faults.inject(f, this.runStartMs, nowMs);
    this.deps.ers.raise('daqops.readout.FaultInjected', `link ${this.config.link}: ${describeFault(f)}`, {
      link: this.config.link,
      kind: f.kind,
      ...(f.atMs === undefined ? {} : { atMs: f.atMs }),
      ...(f.atSeconds === undefined ? {} : { atSeconds: f.atSeconds }),
      ...(f.durationSeconds === undefined ? {} : { durationSeconds: f.durationSeconds }),
    });
  }

  /** Runs until the source ends, the timeframe limit is reached, or `signal` aborts; then drains. */
  async run(signal: AbortSignal, stop?: RunStop): Promise<ReadoutTotals> {
    const c = this.config;
    const m = this.deps.metrics;
    const labels = { link: String(c.link) };
    const hitsTotal = m.counter('daq_readout_hits_total').labels(labels);
    const segmentsTotal = m.counter('daq_readout_segments_total').labels(labels);
    const bytesTotal = m.counter('daq_readout_bytes_total').labels(labels);
    const edge = m
      .counter('daq_dataflow_bytes_total')
      .labels({ source: `link-${c.link}`, target: 'raw-hits' });
    const stfTotal = m.counter('daq_readout_subtimeframes_total').labels(labels);
    const sendErrors = m.counter('daq_readout_send_errors_total').labels(labels);

    const buffered = m.gauge('daq_readout_buffered_bytes').labels(labels);
    const pausedSeconds = m.counter('daq_readout_backpressure_seconds_total').labels(labels);
    const notProduced = m.counter('daq_readout_not_produced_hits_total').labels(labels);

    await ensureNamespaceTopics(this.deps.client, c.namespace);
    const producer = await RecordProducer.open(this.deps.client, {
      compression: c.compression,
      maxQueuedBytes: c.bufferBytes,
    });
    const framer = new StreamFramer({ orbitsPerTimeframe: c.orbitsPerTimeframe, overlapNs: c.overlapNs });
    const recordFd = c.record === undefined ? undefined : openSync(c.record, 'a');

    let batch: OutRecord[] = [];
    let batchBytes = 0;
    /** What the batch holds in memory while unacknowledged (its bytes and each record's overhead). */
    let batchMemory = 0;
    let batchCounts = { words: 0, hits: 0, segments: 0, timeframes: 0, lastSequence: -1 };
    // Sends in flight at once (librdkafka pipelines them, in order per partition), up to bufferBytes.
    const inFlight = new Set<Promise<void>>();
    let inFlightBytes = 0;
    let failure: Error | undefined;
    let lastAccounting = performance.now();
    let accounting: Promise<void> | undefined;
    // The emulator in real time stands for a detector, which cannot pause: it drops and counts instead.
    const dropWhenFull = c.source.type === 'emulator' && c.pacing === 'realtime';
    let full = false;
    // A failed send is rethrown by the next ship() or the final drain (never left unhandled).
    const rethrow = (): void => {
      if (failure !== undefined) throw failure;
    };
    const fail = (err: unknown): void => {
      failure ??= err instanceof Error ? err : new Error(String(err));
    };

    const ship = async (): Promise<void> => {
      rethrow();
      if (batch.length === 0) return;
      const records = batch;
      const counts = batchCounts;
      const bytes = batchBytes;
      const memory = batchMemory;
      batch = [];
      batchBytes = 0;
      batchMemory = 0;
      batchCounts = { words: 0, hits: 0, segments: 0, timeframes: 0, lastSequence: -1 };
      if (inFlight.size > 0 && inFlightBytes + memory > c.bufferBytes && dropWhenFull) {
        // A front end cannot stop its detector: what does not fit is not produced — counted, reported
        // in the run's balance, and said once per episode.
        this.totals.notProducedWords += counts.words;
        this.totals.notProducedHits += counts.hits;
        notProduced.inc(counts.hits);
        if (!full) {
          full = true;
          this.deps.ers.raise(
            'daqops.readout.BufferFull',
            `link ${c.link}: buffer of ${c.bufferBytes} bytes full (Kafka slow or away); timeframes not produced until it drains`,
            { link: c.link, bufferBytes: c.bufferBytes },
          );
        }
        return;
      }
      full = false;
      // Backpressure: with the buffer full (Kafka slow or away) the source waits here, so a TCP source
      // stops reading and a replay stops reading its file — nothing is dropped, and the wait is counted.
      if (inFlight.size > 0 && inFlightBytes + memory > c.bufferBytes) {
        const t0 = performance.now();
        while (inFlight.size > 0 && inFlightBytes + memory > c.bufferBytes) await Promise.race(inFlight);
        pausedSeconds.inc((performance.now() - t0) / 1000);
        rethrow();
      }
      inFlightBytes += memory;
      buffered.set(inFlightBytes);
      const sent: Promise<void> = producer.send([{ topic: this.topics.rawHits, records }]).then(
        () => {
          const t = this.totals;
          t.words += counts.words;
          t.hits += counts.hits;
          t.segments += counts.segments;
          t.messages += records.length;
          t.bytes += bytes;
          t.timeframes += counts.timeframes;
          t.lastSequence = Math.max(t.lastSequence, counts.lastSequence);
          hitsTotal.inc(counts.hits);
          segmentsTotal.inc(counts.segments);
          bytesTotal.inc(bytes);
          edge.inc(bytes);
          stfTotal.inc(records.length);
        },
        (err: unknown) => {
          sendErrors.inc();
          this.deps.ers.raise(
            'daqops.readout.SendFailed',
            `link ${c.link}: ${records.length} sub-timeframes not acknowledged`,
            { link: c.link },
            { cause: err },
          );
          fail(err);
        },
      );
      inFlight.add(sent);
      void sent.finally(() => {
        inFlight.delete(sent);
        inFlightBytes -= memory;
        buffered.set(inFlightBytes);
      });
    };
    const drain = async (): Promise<void> => {
      await ship();
      while (inFlight.size > 0) await Promise.race(inFlight);
      rethrow();
    };

    const take = async (framed: FramedTimeframe[]): Promise<void> => {
      for (const f of framed) {
        if (recordFd !== undefined && f.main > 0) {
          writeSync(recordFd, bytesOfWords(f.words.subarray(2 * f.lead, 2 * (f.lead + f.main))));
        }
        const parts = splitTimeframe(f, c.maxMessageBytes);
        parts.forEach((range, part) => {
          const lead = Math.max(0, Math.min(range.to, f.lead) - range.from);
          const mainEnd = f.lead + f.main;
          const trail = Math.max(0, range.to - Math.max(range.from, mainEnd));
          const words = range.to - range.from;
          let hits = f.hits;
          if (parts.length > 1) {
            hits = 0;
            for (let i = Math.max(range.from, f.lead); i < Math.min(range.to, mainEnd); i++) {
              if (f.words[2 * i + 1]! >>> 29 === WordType.HIT) hits++;
            }
          }
          // A view, not a copy: each framed timeframe owns its words, and the client copies them on send.
          const value = bytesOfWords(f.words.subarray(2 * range.from, 2 * range.to));
          const seq = this.sequence++;
          const msg = encodeSubTimeframe(
            {
              run: c.run,
              link: c.link,
              timeframe: f.timeframe,
              sequence: seq,
              words,
              hits,
              part,
              parts: parts.length,
              lead,
              trail,
              overlapNs: c.overlapNs,
            },
            value,
          );
          batch.push(msg);
          batchBytes += value.byteLength;
          batchMemory += recordMemoryBytes(msg);
          batchCounts.lastSequence = seq;
        });
        batchCounts.words += f.main;
        batchCounts.hits += f.hits;
        batchCounts.segments += f.segments;
        batchCounts.timeframes++;
        if (batchBytes >= c.batchBytes) await ship();
      }
      // Real time: ship each timeframe at once (librdkafka gathers what arrives within its linger time).
      if (c.pacing === 'realtime') await ship();
      const now = performance.now();
      if (now - lastAccounting >= c.accountingIntervalMs && accounting === undefined) {
        lastAccounting = now;
        // Not awaited: its acknowledgement queues behind the data in flight (up to bufferBytes), and a
        // readout waiting for it would stall its link. One report in flight at a time, in order (one
        // partition, one idempotent producer); a failure waits for the next ship() like a data send.
        accounting = this.publishAccounting(producer, false).then(
          () => (accounting = undefined),
          (err: unknown) => {
            fail(err);
            accounting = undefined;
          },
        );
      }
    };

    try {
      try {
        for await (const chunk of openSource(c, signal, stop, this.faults)) {
          await take(framer.push(chunk.words, chunk.count));
          if (signal.aborted) break;
        }
      } catch (err) {
        if (!signal.aborted) {
          this.deps.ers.raise(
            'daqops.readout.SourceFailed',
            `link ${c.link}: source ${c.source.type} failed`,
            { link: c.link },
            { cause: err },
          );
          throw err;
        }
      }
      await take(framer.flush());
      await drain();
      await accounting;
      await this.publishAccounting(producer, true);
    } finally {
      if (recordFd !== undefined) closeSync(recordFd);
      await producer.close();
    }
    return this.totals;
  }

  private async publishAccounting(producer: RecordProducer, final: boolean): Promise<void> {
    const t = this.totals;
    const record: ReadoutAccounting = {
      stage: 'readout',
      run: this.config.run,
      link: this.config.link,
      incarnation: this.incarnation,
      words: t.words,
      hits: t.hits,
      segments: t.segments,
      messages: t.messages,
      bytes: t.bytes,
      timeframes: t.timeframes,
      lastSequence: t.lastSequence,
      final,
      notProducedWords: t.notProducedWords,
      notProducedHits: t.notProducedHits,
    };
    await producer.send([
      {
        topic: this.topics.monitoring,
        records: [encodeAccounting(record)],
      },
    ]);
  }
}
