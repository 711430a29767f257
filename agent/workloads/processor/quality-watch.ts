/**
 * A processor's data quality as the operator sees it (docs/data-quality.md): each monitoring interval's
 * counts judged by DataQuality (data-quality.ts), an ERS issue for each finding raised (about the link it
 * concerns, or the environment) and again at Information when it clears, and the gauges Prometheus alerts
 * on. It also knows when what the processor sees is not the detector: while Kafka is away and for a while
 * after (the backlog arrives link by link, timeframes in bursts), and after the partitions moved.
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
  rebalanced(): void {
    this.quietUntilMs = Math.max(this.quietUntilMs, this.deps.now() + DQ_AFTER_REBALANCE_MS);
  }

  /** Kafka went away, or answers again. */
  kafka(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) this.backSinceMs = this.deps.now();
    else {
      this.outageEndsAtMs = Infinity;
      this.backSinceMs = undefined;
    }
  }

  /** Whether this interval is the outage's or the group's doing rather than the detector's. */
  disturbed(clockPaused: boolean): boolean {
    if (this.outageEndsAtMs === Infinity && this.reachable && this.backSinceMs !== undefined)
      this.outageEndsAtMs = this.backSinceMs + DQ_AFTER_OUTAGE_MS;
    const now = this.deps.now();
    return !this.reachable || clockPaused || now < this.outageEndsAtMs || now < this.quietUntilMs;
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
