/**
 * Data-quality detection on the full untriggered stream (docs/data-quality.md): what no trigger-based
 * DAQ can see, because every hit of every channel passes through the processors (seed 001).
 *
 * Each monitoring interval the processor hands in what it counted (hits per channel, unassigned hits,
 * built events per chamber and layer, timeframes per link). Over a sliding window of intervals this
 * finds noisy channels (far above their chamber's median), dead channels and dead chambers (silent
 * while their neighbours fire), links silent in the timeframes, the hit rate and the noise drifting
 * from the run's own baseline, and layers whose efficiency (from built events) dropped. A finding is
 * raised after `raiseAfter` intervals in a row and cleared after `clearAfter` intervals without it, so
 * one quiet interval neither raises nor clears anything.
 *
 * Rates are per second of detector time (timeframes × their length), not wall time: a processor that
 * owns half the partitions, or catches up after an outage, sees the same rates as any other.
 */
import {
  LAYERS_PER_CHAMBER,
  chamberLayerIndex,
  packLocation,
  type ChannelMap,
} from '../../../protocol/index.js';

import { DEFAULT_DATA_QUALITY, type DataQualityConfig } from './data-quality-config.js';

export { DEFAULT_DATA_QUALITY, type DataQualityConfig };

export const findingKinds = [
  'noisy-channel',
  'dead-channel',
  'dead-chamber',
  'link-silent',
  'rate-drift',
  'noise-rising',
  'layer-efficiency',
] as const;
export type FindingKind = (typeof findingKinds)[number];

export interface Finding {
  readonly kind: FindingKind;
  /** Identifies the finding across intervals, e.g. `noisy-channel/2/3/7`. */
  readonly key: string;
  /** The readout link (FPGA) it is about, when it is about part of the detector. */
  readonly link?: number;
  readonly chamber?: number;
  readonly layer?: number;
  readonly cell?: number;
  /** What was measured, and the limit it crossed (units in the message). */
  readonly value: number;
  readonly limit: number;
  readonly message: string;
}

/** What one processor counted in one monitoring interval. */
export interface IntervalCounts {
  readonly run: number;
  /**
   * The interval is not the detector's picture (Kafka was away, or its backlog is being caught up):
   * nothing is judged, raised or cleared, and the window starts again after it.
   */
  readonly disturbed?: boolean;
  /** Detector time covered: timeframes × timeframe length. */
  readonly detectorSeconds: number;
  readonly timeframes: number;
  /** Hits per channel key (fpga << 9 | channel). */
  readonly hitsPerChannel: Float64Array;
  /** Main hits in no event. */
  readonly unassignedHits: number;
  /** Events with a segment in chamber c, at index c. */
  readonly eventsPerChamber: Float64Array;
  /** Such events that also have a hit in layer l of chamber c, at chamberLayerIndex(c, l). */
  readonly eventLayerHits: Float64Array;
  /** Timeframes in which each link (index) sent its part. */
  readonly linkTimeframes: Float64Array;
}

export interface DataQualityResult {
  readonly raised: Finding[];
  readonly cleared: Finding[];
  readonly active: Finding[];
  /** Current hit rate over the run's baseline (undefined until there is one). */
  readonly hitRateRatio: number | undefined;
  /** Hits in no event, per second of detector time, over the window. */
  readonly noiseRateHz: number;
  /** Efficiency per `chamber/layer`, where judged. */
  readonly efficiency: ReadonlyMap<string, number>;
}

export class DataQuality {
  private window: IntervalCounts[] = [];
  private run: number | undefined;
  private runIntervals = 0;
  private baselineRate: number | undefined;
  private baselineNoise: number | undefined;
  private baselineSums = { rate: 0, noise: 0, n: 0 };
  private readonly streak = new Map<string, { seen: number; missed: number; finding: Finding }>();
  private readonly active = new Map<string, Finding>();
  private readonly channels: { key: number; chamber: number; layer: number; cell: number; fpga: number }[];
  private readonly chambers: readonly number[];

  constructor(
    map: ChannelMap,
    private readonly links: readonly number[],
    readonly config: DataQualityConfig = DEFAULT_DATA_QUALITY,
    /** Cells masked for the run (packLocation): silent on purpose, never judged. */
    masked: ReadonlySet<number> = new Set(),
  ) {
    this.channels = map.entries
      .filter((e) => !masked.has(packLocation(e)))
      .map((e) => ({
        key: (e.fpga << 9) | e.channel,
        chamber: e.chamber,
        layer: e.layer,
        cell: e.cell,
        fpga: e.fpga,
      }));
    this.chambers = map.chambers;
  }

  /** Takes one interval's counts; returns what was raised and cleared by it. */
  observe(counts: IntervalCounts): DataQualityResult {
    const cleared: Finding[] = [];
    if (counts.run !== this.run) {
      // A new run: its own baseline, and nothing carried over from the last one.
      cleared.push(...this.active.values());
      this.active.clear();
      this.streak.clear();
      this.window = [];
      this.run = counts.run;
      this.runIntervals = 0;
      this.baselineRate = undefined;
      this.baselineNoise = undefined;
      this.baselineSums = { rate: 0, noise: 0, n: 0 };
    }
    if (counts.disturbed === true) {
      this.window = [];
      return {
        raised: [],
        cleared,
        active: [...this.active.values()],
        hitRateRatio: undefined,
        noiseRateHz: 0,
        efficiency: new Map(),
      };
    }
    this.runIntervals++;
    this.window.push(counts);
    if (this.window.length > this.config.windowIntervals) this.window.shift();
    const w = this.sum();
    const found =
      w.seconds > 0
        ? this.judge(w)
        : { findings: [], ratio: undefined, rateExcl: undefined, noiseHz: 0, eff: new Map<string, number>() };
    // The baseline: after the run's first interval (links joining, partitions assigned), the next ones.
    const c = this.config;
    if (this.baselineRate === undefined && this.runIntervals > 1 && counts.detectorSeconds > 0) {
      this.baselineSums.rate += found.rateExcl ?? 0;
      this.baselineSums.noise += found.noiseHz;
      this.baselineSums.n++;
      if (this.baselineSums.n >= c.baselineIntervals) {
        this.baselineRate = this.baselineSums.rate / this.baselineSums.n;
        this.baselineNoise = this.baselineSums.noise / this.baselineSums.n;
      }
    }
    const raised: Finding[] = [];
    const now = new Set(found.findings.map((f) => f.key));
    for (const f of found.findings) {
      const s = this.streak.get(f.key) ?? { seen: 0, missed: 0, finding: f };
      s.seen++;
      s.missed = 0;
      s.finding = f;
      this.streak.set(f.key, s);
      if (!this.active.has(f.key) && s.seen >= c.raiseAfter) {
        this.active.set(f.key, f);
        raised.push(f);
      } else if (this.active.has(f.key)) this.active.set(f.key, f);
    }
    for (const [key, s] of this.streak) {
      if (now.has(key)) continue;
      s.missed++;
      s.seen = 0;
      if (s.missed >= c.clearAfter) {
        this.streak.delete(key);
        const was = this.active.get(key);
        if (was !== undefined) {
          this.active.delete(key);
          cleared.push(was);
        }
      }
    }
    // Specific findings first: the part of the detector before the whole of it, so the incident of a
    // fault opens on the part that has it (docs/data-quality.md).
    const order = (f: Finding): number => (f.link === undefined ? 1 : 0);
    raised.sort((a, b) => order(a) - order(b));
    return {
      raised,
      cleared,
      active: [...this.active.values()],
      hitRateRatio: found.ratio,
      noiseRateHz: found.noiseHz,
      efficiency: found.eff,
    };
  }

  private sum(): {
    seconds: number;
    timeframes: number;
    hits: Float64Array;
    unassigned: number;
    events: Float64Array;
    layerHits: Float64Array;
    linkTfs: Float64Array;
  } {
    const first = this.window[0]!;
    const hits = new Float64Array(first.hitsPerChannel.length);
    const events = new Float64Array(first.eventsPerChamber.length);
    const layerHits = new Float64Array(first.eventLayerHits.length);
    const linkTfs = new Float64Array(first.linkTimeframes.length);
    let seconds = 0;
    let timeframes = 0;
    let unassigned = 0;
    for (const x of this.window) {
      seconds += x.detectorSeconds;
      timeframes += x.timeframes;
      unassigned += x.unassignedHits;
      for (const ch of this.channels) hits[ch.key]! += x.hitsPerChannel[ch.key]!;
      for (let i = 0; i < events.length; i++) events[i]! += x.eventsPerChamber[i]!;
      for (let i = 0; i < layerHits.length; i++) layerHits[i]! += x.eventLayerHits[i]!;
      for (let i = 0; i < linkTfs.length; i++) linkTfs[i]! += x.linkTimeframes[i]!;
    }
    return { seconds, timeframes, hits, unassigned, events, layerHits, linkTfs };
  }

  private judge(w: ReturnType<DataQuality['sum']>): {
    findings: Finding[];
    ratio: number | undefined;
    rateExcl: number | undefined;
    noiseHz: number;
    eff: Map<string, number>;
  } {
    const c = this.config;
    const findings: Finding[] = [];
    // Links missing from the timeframes: their chambers cannot be judged (silence is the link's).
    const silentLinks = new Set<number>();
    for (const link of this.links) {
      const present = w.timeframes === 0 ? 1 : (w.linkTfs[link] ?? 0) / w.timeframes;
      if (w.timeframes >= 10 && present < c.linkPresenceMin) {
        silentLinks.add(link);
        findings.push({
          kind: 'link-silent',
          key: `link-silent/${link}`,
          link,
          value: present,
          limit: c.linkPresenceMin,
          message: `link ${link} sent its part in ${(present * 100).toFixed(0)} % of the last ${w.timeframes} timeframes`,
        });
      }
    }
    const byChamber = new Map<number, typeof this.channels>();
    for (const ch of this.channels) {
      if (silentLinks.has(ch.fpga)) continue;
      const list = byChamber.get(ch.chamber) ?? [];
      list.push(ch);
      byChamber.set(ch.chamber, list);
    }
    const chamberTotals = new Map<number, number>();
    for (const [chamber, list] of byChamber)
      chamberTotals.set(
        chamber,
        list.reduce((n, ch) => n + w.hits[ch.key]!, 0),
      );
    const medianChamber = median([...chamberTotals.values()]);
    const deadChambers = new Set<number>();
    for (const [chamber, total] of chamberTotals) {
      if (total === 0 && medianChamber >= c.deadMinExpected) {
        deadChambers.add(chamber);
        const link = byChamber.get(chamber)![0]!.fpga;
        findings.push({
          kind: 'dead-chamber',
          key: `dead-chamber/${chamber}`,
          link,
          chamber,
          value: 0,
          limit: medianChamber,
          message: `chamber ${chamber} sent no hit in ${w.seconds.toFixed(2)} s of detector time while the median chamber sent ${medianChamber}`,
        });
      }
    }
    let noisyHits = 0;
    for (const [chamber, list] of byChamber) {
      if (deadChambers.has(chamber)) continue;
      const med = median(list.map((ch) => w.hits[ch.key]!));
      for (const ch of list) {
        const n = w.hits[ch.key]!;
        const rate = n / w.seconds;
        if (rate > c.noisyMinHz && n > c.noisyFactor * med) {
          noisyHits += n;
          findings.push({
            kind: 'noisy-channel',
            key: `noisy-channel/${ch.chamber}/${ch.layer}/${ch.cell}`,
            link: ch.fpga,
            chamber: ch.chamber,
            layer: ch.layer,
            cell: ch.cell,
            value: rate,
            limit: Math.max(c.noisyMinHz, (c.noisyFactor * med) / w.seconds),
            message: `chamber ${ch.chamber} layer ${ch.layer} cell ${ch.cell} fires at ${rate.toFixed(0)} Hz, ${(n / Math.max(med, 1)).toFixed(1)}× its chamber's median`,
          });
        } else if (n === 0 && med >= c.deadMinExpected) {
          findings.push({
            kind: 'dead-channel',
            key: `dead-channel/${ch.chamber}/${ch.layer}/${ch.cell}`,
            link: ch.fpga,
            chamber: ch.chamber,
            layer: ch.layer,
            cell: ch.cell,
            value: 0,
            limit: med,
            message: `chamber ${ch.chamber} layer ${ch.layer} cell ${ch.cell} sent no hit while its chamber's median channel sent ${med}`,
          });
        }
      }
    }
    // Rates of the whole detector, without what the findings above already explain.
    let judgedHits = 0;
    for (const list of byChamber.values()) for (const ch of list) judgedHits += w.hits[ch.key]!;
    const rateExcl = (judgedHits - noisyHits) / w.seconds;
    const noiseHz = Math.max(0, w.unassigned - noisyHits) / w.seconds;
    let ratio: number | undefined;
    const partial = silentLinks.size > 0 || deadChambers.size > 0;
    if (this.baselineRate !== undefined && this.baselineRate > 0) {
      ratio = rateExcl / this.baselineRate;
      if (!partial && Math.abs(ratio - 1) > c.rateDriftFraction) {
        findings.push({
          kind: 'rate-drift',
          key: 'rate-drift',
          value: ratio,
          limit: c.rateDriftFraction,
          message: `hit rate ${rateExcl.toFixed(0)} Hz is ${(ratio * 100).toFixed(0)} % of the run's baseline ${this.baselineRate.toFixed(0)} Hz`,
        });
      }
    }
    if (this.baselineNoise !== undefined && this.baselineNoise > 0 && !partial) {
      const r = noiseHz / this.baselineNoise;
      if (r > c.noiseRiseFactor) {
        findings.push({
          kind: 'noise-rising',
          key: 'noise-rising',
          value: r,
          limit: c.noiseRiseFactor,
          message: `noise (hits in no event) ${noiseHz.toFixed(0)} Hz is ${r.toFixed(1)}× the run's baseline ${this.baselineNoise.toFixed(0)} Hz`,
        });
      }
    }
    const eff = new Map<string, number>();
    for (const chamber of this.chambers) {
      const n = w.events[chamber] ?? 0;
      if (n < c.efficiencyMinEvents || deadChambers.has(chamber)) continue;
      const link = byChamber.get(chamber)?.[0]?.fpga;
      if (link === undefined) continue;
      for (let layer = 1; layer <= LAYERS_PER_CHAMBER; layer++) {
        const e = w.layerHits[chamberLayerIndex(chamber, layer)]! / n;
        eff.set(`${chamber}/${layer}`, e);
        if (e < c.efficiencyMin) {
          findings.push({
            kind: 'layer-efficiency',
            key: `layer-efficiency/${chamber}/${layer}`,
            link,
            chamber,
            layer,
            value: e,
            limit: c.efficiencyMin,
            message: `chamber ${chamber} layer ${layer} has a hit in ${(e * 100).toFixed(0)} % of the ${n} events crossing the chamber`,
          });
        }
      }
    }
    return { findings, ratio, rateExcl, noiseHz, eff };
  }
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
