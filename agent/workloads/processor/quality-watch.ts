/**
 * A processor's data quality as the operator sees it (docs/data-quality.md): each monitoring interval's
 * counts judged by DataQuality (data-quality.ts), an ERS issue for each finding raised (about the link it
 * concerns, or the environment) and again at Information when it clears, and the gauges Prometheus alerts
 * on. It also knows when what the processor sees is not the detector: while Kafka is away and for a while
 * after (the backlog arrives link by link, timeframes in bursts), after the partitions moved, and in both
 * cases until the backlog is caught up.
 */
import type { ErsIssueName } from '../../../protocol/ers.js';
import type { ErsReporter } from '../../../lib/ers.js';
import type { Metrics } from '../../../lib/metrics.js';
import type { ProcessorConfig } from '../config.js';
import { DataQuality, type Finding, type FindingKind } from './data-quality.js';
import type { MonitoringAccumulator } from './kernel.js';

/** How long after its partitions moved a processor's data quality holds its judgement. */
export const DQ_AFTER_REBALANCE_MS = 10_000;
/** How long after Kafka is back data quality still holds its judgement (the backlog is being caught up). */
export const DQ_AFTER_OUTAGE_MS = 20_000;
/**
 * After an outage or a rebalance, the judgement waits on past those times while the processor is still
 * behind by more than this many messages on a partition it owns (0.1 s of data at testbed rates): a
 * backlog caught up on a busy machine can take longer than any fixed time, and what it shows meanwhile
 * (timeframes in bursts, links apart) is the catching up, not the detector.
 */
export const DQ_CAUGHT_UP_LAG_MESSAGES = 200;
/** …but never longer than this after the outage or rebalance: a processor that stays behind is still judged. */
export const DQ_CATCH_UP_MAX_MS = 120_000;

/** The ERS issue of each data-quality finding. */
export const DQ_ISSUES: Record<FindingKind, ErsIssueName> = {
  'noisy-channel': 'daqops.processor.NoisyChannel',
  'dead-channel': 'daqops.processor.DeadChannel',
  'dead-chamber': 'daqops.processor.DeadChamber',
  'link-silent': 'daqops.processor.LinkSilent',
  'rate-drift': 'daqops.processor.HitRateDrift',
  'noise-rising': 'daqops.processor.NoiseRising',
  'layer-efficiency': 'daqops.processor.LayerEfficiencyLow',
};

export class QualityWatch {
  private readonly dq: DataQuality;
  private readonly m;
  private reachable = true;
  private backSinceMs: number | undefined;
  /** Until when an outage holds the judgement (Infinity while Kafka is away and not yet back). */
  private outageEndsAtMs = -Infinity;
  private quietUntilMs = -Infinity;
  /** Until when a backlog may still hold the judgement (see DQ_CAUGHT_UP_LAG_MESSAGES). */
  private catchUpUntilMs = -Infinity;
  /** The latest consumer lag of each partition this processor owns, in messages. */
  private readonly lags = new Map<number, number>();
  /** The partitions it owns since the last rebalance (undefined before the first). */
  private owned: ReadonlySet<number> | undefined;

  constructor(
    private readonly config: ProcessorConfig,
    private readonly deps: {
      readonly ers: ErsReporter;
      readonly metrics: Metrics;
      readonly now: () => number;
    },
  ) {
    this.dq = new DataQuality(config.map, config.links, config.dataQuality, config.maskedCells);
    const m = deps.metrics;
    this.m = {
      findings: m.gauge('daq_dq_findings'),
      rate: m.gauge('daq_dq_hit_rate_ratio'),
      noise: m.gauge('daq_dq_noise_rate_hz'),
      efficiency: m.gauge('daq_dq_layer_efficiency_ratio'),
    };
  }

  /** The partitions moved (a member joined, left or crashed): timeframes come incomplete or re-read a while. */
  rebalanced(owned: ReadonlySet<number>): void {
    const now = this.deps.now();
    this.quietUntilMs = Math.max(this.quietUntilMs, now + DQ_AFTER_REBALANCE_MS);
    // Lags read before the move say nothing of the backlog now: caught up is judged on fresh ones, of
    // the partitions it owns (a batch prefetched before the move may still come in).
    this.owned = owned;
    this.lags.clear();
    this.catchUpUntilMs = now + DQ_CATCH_UP_MAX_MS;
  }

  /** How far behind the processor is on a partition (from each batch). */
  lag(partition: number, messages: number): void {
    if (this.owned !== undefined && !this.owned.has(partition)) return;
    this.lags.set(partition, messages);
  }

  /** Kafka went away, or answers again. */
  kafka(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) {
      this.backSinceMs = this.deps.now();
      this.catchUpUntilMs = this.backSinceMs + DQ_CATCH_UP_MAX_MS;
      // A lag read before the outage (0, all caught up then) would end the hold at the first interval
      // after it, before the backlog's first batch says how far behind the processor is.
      this.lags.clear();
    } else {
      this.outageEndsAtMs = Infinity;
      this.backSinceMs = undefined;
    }
  }

  /** Whether this interval is the outage's or the group's doing rather than the detector's. */
  disturbed(clockPaused: boolean): boolean {
    if (this.outageEndsAtMs === Infinity && this.reachable && this.backSinceMs !== undefined)
      this.outageEndsAtMs = this.backSinceMs + DQ_AFTER_OUTAGE_MS;
    const now = this.deps.now();
    // Only lags read since the outage or rebalance decide (stale ones were cleared); with none yet, the
    // fixed holds above apply alone — a processor that gets no batch at all is judged on time.
    const behind = this.lags.size > 0 && Math.max(...this.lags.values()) > DQ_CAUGHT_UP_LAG_MESSAGES;
    // Caught up: a later lag spike is the detector's business again.
    if (now < this.catchUpUntilMs && this.lags.size > 0 && !behind) this.catchUpUntilMs = -Infinity;
    return (
      !this.reachable ||
      clockPaused ||
      now < this.outageEndsAtMs ||
      now < this.quietUntilMs ||
      (now < this.catchUpUntilMs && behind)
    );
  }

  /** Judges one interval of `seconds` of detector time. */
  judge(acc: MonitoringAccumulator, seconds: number, clockPaused: boolean): void {
    const r = this.dq.observe(acc.intervalCounts(seconds, this.disturbed(clockPaused)));
    for (const f of r.raised) this.report(f, false);
    for (const f of r.cleared) this.report(f, true);
    // Rebuilt from the active findings each interval: a cleared finding leaves no series behind.
    this.m.findings.reset();
    for (const f of r.active) {
      this.m.findings
        .labels({
          kind: f.kind,
          link: f.link === undefined ? '' : String(f.link),
          chamber: f.chamber === undefined ? '' : String(f.chamber),
        })
        .inc();
    }
    if (r.hitRateRatio !== undefined) this.m.rate.set(r.hitRateRatio);
    this.m.noise.set(r.noiseRateHz);
    for (const [key, e] of r.efficiency) {
      const [chamber, layer] = key.split('/');
      this.m.efficiency.labels({ chamber: chamber!, layer: layer! }).set(e);
    }
  }

  private report(f: Finding, cleared: boolean): void {
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
  }
}
