/**
 * What a processor counts once its outputs are acknowledged (never for a send that was lost): its totals,
 * the Prometheus counters of timeframes, events, hits, corrupt and dead-lettered words and the latency,
 * and the ERS issue for corrupt words.
 */
import { WORD_FAULT_COUNT, faultField } from '../../../protocol/index.js';
import type { ErsReporter } from '../../../lib/ers.js';
import type { Metrics } from '../../../lib/metrics.js';
import type { AssembledTimeframe } from './assembler.js';
import type { TimeframeResult } from './kernel.js';

export interface ProcessorTotals {
  timeframes: number;
  incomplete: number;
  events: number;
  hits: number;
  corrupt: number;
  deadlettered: number;
}

export class ProcessorCounts {
  readonly totals: ProcessorTotals = {
    timeframes: 0,
    incomplete: 0,
    events: 0,
    hits: 0,
    corrupt: 0,
    deadlettered: 0,
  };
  private readonly m;

  constructor(
    metrics: Metrics,
    private readonly ers: ErsReporter,
    private readonly now: () => number,
  ) {
    this.m = {
      hits: metrics.counter('daq_processor_hits_total'),
      corrupt: metrics.counter('daq_processor_corrupt_words_total'),
      deadletter: metrics.counter('daq_processor_deadletter_total'),
      timeframes: metrics.counter('daq_processor_timeframes_total'),
      incomplete: metrics.counter('daq_processor_timeframes_incomplete_total'),
      events: metrics.counter('daq_processor_events_total'),
      latency: metrics.histogram('daq_processor_latency_seconds'),
    };
    // Every fault's counters exist at 0 from the start: "no corrupt word" is a value, not a gap.
    for (let f = 1; f < WORD_FAULT_COUNT; f++) {
      this.m.corrupt.labels({ reason: faultField(f) }).inc(0);
      this.m.deadletter.labels({ reason: faultField(f) }).inc(0);
    }
  }

  /** A timeframe's outputs are out; its oldest part was produced at `producedAtMs`. */
  timeframe(tf: AssembledTimeframe, r: TimeframeResult, producedAtMs: number): void {
    const t = this.totals;
    t.timeframes++;
    t.events += r.events.length;
    this.m.timeframes.inc();
    if (!tf.complete) {
      t.incomplete++;
      this.m.incomplete.inc();
    }
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
      this.ers.raise(
        'daqops.processor.CorruptWord',
        `${r.corrupt.length} corrupt word(s) in timeframe ${tf.timeframe} dead-lettered`,
        {
          timeframe: tf.timeframe,
          count: r.corrupt.length,
          fields: [...new Set(r.corrupt.map((w) => faultField(w.fault)))].join(','),
        },
      );
    }
    if (Number.isFinite(producedAtMs))
      this.m.latency.observe(Math.max(0, (this.now() - producedAtMs) / 1000));
  }

  /** A whole record set aside (bad-header, late) is out on the dead-letter topic. */
  setAside(reason: string): void {
    this.totals.deadlettered++;
    this.m.deadletter.labels({ reason }).inc();
  }
}
