/**
 * One monitoring interval of a processor, out of its accumulator (kernel.ts): the aggregate record for
 * `<ns>.monitoring` (protocol/monitoring.ts) and the per-cell hit counters and drift-time histogram for
 * Prometheus. Pure but for the metrics it is given.
 */
import {
  BX_NS,
  BX_PER_ORBIT,
  CHAMBER_COUNT,
  LAYERS_PER_CHAMBER,
  WORD_FAULT_COUNT,
  chamberLayerIndex,
  faultField,
} from '../../../protocol/index.js';
import { AGGREGATE_KIND } from '../../../protocol/accounting.js';
import type { MonitoringAggregate } from '../../../protocol/monitoring.js';
import type { Metrics } from '../../../lib/metrics.js';
import type { ProcessorConfig } from '../config.js';
import type { MonitoringAccumulator } from './kernel.js';

/** Drift-time observations per monitoring interval at most (daq_processor_drift_time_seconds). */
export const DRIFT_SAMPLES = 2000;

/** Detector time the accumulator's timeframes cover, in seconds. */
export function detectorSeconds(acc: MonitoringAccumulator, orbitsPerTimeframe: number): number {
  return (acc.timeframes * orbitsPerTimeframe * BX_PER_ORBIT * BX_NS) / 1e9;
}

/** The interval's aggregate record: rates and occupancy per detector second, noise, drift, faults. */
export function intervalAggregate(
  acc: MonitoringAccumulator,
  config: Pick<
    ProcessorConfig,
    'environment' | 'task' | 'map' | 'orbitsPerTimeframe' | 'windowMinNs' | 'driftBinNs'
  >,
  atMs: number,
): MonitoringAggregate {
  const seconds = detectorSeconds(acc, config.orbitsPerTimeframe);
  const ratesHz: Record<string, number> = {};
  for (const e of config.map.entries) {
    const n = acc.hitsPerChannel[(e.fpga << 9) | e.channel]!;
    if (n > 0) ratesHz[`${e.chamber}/${e.layer}/${e.cell}`] = n / seconds;
  }
  const occupancy: Record<string, number> = {};
  for (let chamber = 0; chamber < CHAMBER_COUNT; chamber++) {
    for (let layer = 1; layer <= LAYERS_PER_CHAMBER; layer++) {
      const n = acc.hitsPerLayer[chamberLayerIndex(chamber, layer)]!;
      if (n > 0) occupancy[`${chamber}/${layer}`] = n;
    }
  }
  const faults: Record<string, number> = {};
  for (let f = 1; f < WORD_FAULT_COUNT; f++) if (acc.faults[f]! > 0) faults[faultField(f)] = acc.faults[f]!;
  return {
    kind: AGGREGATE_KIND,
    environment: config.environment,
    task: config.task,
    at: new Date(atMs).toISOString(),
    run: acc.run,
    timeframes: acc.timeframes,
    detectorSeconds: seconds,
    ratesHz,
    occupancy,
    noiseRateHz: seconds > 0 ? acc.unassignedHits / seconds : 0,
    driftHistogram: {
      minNs: config.windowMinNs,
      binNs: config.driftBinNs,
      counts: Array.from(acc.driftHistogram),
    },
    faults,
  };
}

/** The interval into Prometheus: hits per cell, and the drift-time histogram scaled to DRIFT_SAMPLES. */
export class IntervalMetrics {
  private readonly channelHits;
  private readonly drift;

  constructor(
    metrics: Metrics,
    private readonly config: Pick<ProcessorConfig, 'map' | 'windowMinNs' | 'driftBinNs'>,
  ) {
    this.channelHits = metrics.counter('daq_processor_channel_hits_total');
    this.drift = metrics.histogram('daq_processor_drift_time_seconds');
  }

  record(acc: MonitoringAccumulator): void {
    for (const e of this.config.map.entries) {
      const n = acc.hitsPerChannel[(e.fpga << 9) | e.channel]!;
      if (n > 0)
        this.channelHits
          .labels({ chamber: String(e.chamber), layer: String(e.layer), cell: String(e.cell) })
          .inc(n);
    }
    // Bin centres, scaled down to at most DRIFT_SAMPLES observations: the shape is what it is for, and an
    // observation costs a microsecond.
    const { windowMinNs, driftBinNs } = this.config;
    const total = acc.driftHistogram.reduce((a, b) => a + b, 0);
    const scale = total > DRIFT_SAMPLES ? DRIFT_SAMPLES / total : 1;
    acc.driftHistogram.forEach((n, bin) => {
      const t = (windowMinNs + (bin + 0.5) * driftBinNs) / 1e9;
      for (let k = Math.round(n * scale); k > 0; k--) this.drift.observe(t);
    });
  }
}
