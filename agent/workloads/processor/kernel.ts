/**
 * The processor's per-timeframe kernel: decode and validate every word, count hits per channel and
 * occupancy, and build events (docs/data-path.md "Processor", seed 001).
 *
 * Events: segments (the back-end FPGA's track segments) whose crossing times lie within `toleranceNs` of
 * the previous one form one muon; its crossing time t is the earliest of them, and it needs segments in
 * `minChambers` chambers to count. Every valid hit whose drift
 * time (hit time − t) lies in [windowMinNs, windowMaxNs] joins the latest muon with that property, so a hit
 * is in at most one event. The timeframe owns the events whose t lies inside it; the lead and trail words
 * (neighbouring timeframes' data within the overlap) are read only so that events at the boundaries come
 * out the same whichever processor owns them — no state crosses timeframes or processors.
 *
 * The hot loop allocates nothing per word; only events and their hits are objects.
 */
import {
  BX_NS,
  BX_PER_ORBIT,
  CHAMBER_COUNT,
  LAYER_SLOTS,
  TDC_BINS_PER_BX,
  chamberLayerIndex,
  TDC_MAX,
  WordFault,
  WordType,
  checkWord,
  segmentChamber,
  segmentQuality,
  timeNs,
  wordBx,
  wordOrbit,
  wordTdc,
  type ChannelMap,
} from '../../../protocol/index.js';
import { eventId, type DaqEvent, type EventSegment } from '../../../protocol/events.js';
import type { IntervalCounts } from './data-quality.js';

export interface KernelConfig {
  readonly map: ChannelMap;
  readonly orbitsPerTimeframe: number;
  /** Segments closer in time than this belong to one muon. */
  readonly toleranceNs: number;
  /** Drift-time window of an event's hits, relative to its crossing time. */
  readonly windowMinNs: number;
  readonly windowMaxNs: number;
  /** Width of one drift-time histogram bin. */
  readonly driftBinNs: number;
  /** A muon needs segments in at least this many chambers to be an event (a coincidence, not noise). */
  readonly minChambers: number;
}

export const DEFAULT_KERNEL = {
  toleranceNs: BX_NS,
  windowMinNs: -50,
  windowMaxNs: 500,
  driftBinNs: 10,
  minChambers: 3,
} as const;

/** One link's message (or message part) for the timeframe: words = [lead | main | trail]. */
export interface LinkSection {
  readonly link: number;
  readonly words: Uint32Array;
  readonly lead: number;
  readonly main: number;
  readonly trail: number;
}

export interface CorruptWord {
  readonly link: number;
  /** Index of the word in its section's main words. */
  readonly index: number;
  readonly lo: number;
  readonly hi: number;
  readonly fault: WordFault;
}

export interface LinkCounts {
  words: number;
  hits: number;
  segments: number;
  corrupt: number;
}

export interface TimeframeResult {
  readonly run: number;
  readonly timeframe: number;
  readonly perLink: Map<number, LinkCounts>;
  readonly corrupt: CorruptWord[];
  readonly events: DaqEvent[];
  /** Hits (main or context) placed in this timeframe's events. */
  readonly hitsInEvents: number;
  /** Main hits of this timeframe in no event at all (noise candidates). */
  readonly unassignedHits: number;
}

/**
 * Accumulates what monitoring publishes per interval: hits per channel, per (chamber, layer), the
 * drift-time histogram and corrupt words by fault. The owner resets it after each publication.
 */
export class MonitoringAccumulator {
  readonly hitsPerChannel = new Float64Array(4096);
  /** Index chamberLayerIndex(chamber, layer). */
  readonly hitsPerLayer = new Float64Array(CHAMBER_COUNT * LAYER_SLOTS);
  readonly driftHistogram: Float64Array;
  readonly faults = new Float64Array(8);
  /** Events with a segment in chamber c (data quality: layer efficiency). */
  readonly eventsPerChamber = new Float64Array(16);
  /** Those of them with a hit in layer l of chamber c, at chamberLayerIndex(c, l). */
  readonly eventLayerHits = new Float64Array(CHAMBER_COUNT * LAYER_SLOTS);
  /** Timeframes in which link l sent its part (index: link, up to 4095). */
  readonly linkTimeframes = new Float64Array(4096);
  unassignedHits = 0;
  timeframes = 0;
  /** The run of the latest timeframe counted. */
  run = 0;

  constructor(readonly config: Pick<KernelConfig, 'windowMinNs' | 'windowMaxNs' | 'driftBinNs'>) {
    this.driftHistogram = new Float64Array(
      Math.ceil((config.windowMaxNs - config.windowMinNs) / config.driftBinNs) + 1,
    );
  }

  /** What data quality judges of the interval counted so far (data-quality.ts), sharing the arrays. */
  intervalCounts(detectorSeconds: number, disturbed = false): IntervalCounts {
    return {
      disturbed,
      run: this.run,
      detectorSeconds,
      timeframes: this.timeframes,
      hitsPerChannel: this.hitsPerChannel,
      unassignedHits: this.unassignedHits,
      eventsPerChamber: this.eventsPerChamber,
      eventLayerHits: this.eventLayerHits,
      linkTimeframes: this.linkTimeframes,
    };
  }

  reset(): void {
    this.hitsPerChannel.fill(0);
    this.hitsPerLayer.fill(0);
    this.driftHistogram.fill(0);
    this.faults.fill(0);
    this.eventsPerChamber.fill(0);
    this.eventLayerHits.fill(0);
    this.linkTimeframes.fill(0);
    this.unassignedHits = 0;
    this.timeframes = 0;
  }
}

const NS_PER_ORBIT = BX_PER_ORBIT * BX_NS;
const TDC_NS = BX_NS / TDC_BINS_PER_BX;

interface ScanTally {
  hitsInEvents: number;
  unassigned: number;
}

export class TimeframeKernel {
  private segTime: number[] = [];
  private segChamber: number[] = [];
  private segQuality: number[] = [];
  private segLo: number[] = [];
  private segHi: number[] = [];

  constructor(readonly config: KernelConfig) {}

  /** Start of a timeframe in ns since orbit 0. */
  timeframeStartNs(timeframe: number): number {
    return timeframe * this.config.orbitsPerTimeframe * NS_PER_ORBIT;
  }

  /**
   * Passes over the words: the first collects the (rare) segments and builds the muons; then the main
   * words are validated and counted in a tight loop, and the hits are handed to muons in another (skipped
   * when the timeframe has no muon) — nothing per hit is stored in between.
   */
  process(
    run: number,
    timeframe: number,
    sections: readonly LinkSection[],
    acc: MonitoringAccumulator,
  ): TimeframeResult {
    const perLink = new Map<number, LinkCounts>();
    const corrupt: CorruptWord[] = [];

    this.collectSegments(sections);
    const muons = this.buildMuons(run, timeframe);
    // Hit times are compared in TDC units (BX_NS / TDC_BINS_PER_BX = 25/30 ns) so the hot loop needs no division.
    const clusterTdc = muons.time.map((t) => t / TDC_NS);
    const owned = muons.owned;
    const tally: ScanTally = { hitsInEvents: 0, unassigned: 0 };

    for (const s of sections) {
      let counts = perLink.get(s.link);
      if (counts === undefined) {
        counts = { words: 0, hits: 0, segments: 0, corrupt: 0 };
        perLink.set(s.link, counts);
      }
      const end = s.lead + s.main + s.trail;
      this.scanMain(s, counts, corrupt, acc, clusterTdc, owned, tally);
      // Lead and trail: only hits, only for events (their own timeframe validates and counts them).
      this.assign(s.words, 0, s.lead, clusterTdc, owned, tally, acc, false);
      this.assign(s.words, s.lead + s.main, end, clusterTdc, owned, tally, acc, false);
      counts.words += s.main;
    }
    const unassigned = tally.unassigned;
    const hitsInEvents = tally.hitsInEvents;
    acc.unassignedHits += unassigned;
    acc.timeframes++;
    acc.run = run;
    const events = owned.filter((e): e is DaqEvent => e !== undefined);
    for (const link of perLink.keys()) acc.linkTimeframes[link]!++;
    // Layer efficiency: of the events crossing a chamber (a segment in it), those with a hit per layer.
    const seen = new Set<number>();
    for (const e of events) {
      seen.clear();
      for (const h of e.hits)
        if ((e.chamberMask >>> h.chamber) & 1) seen.add(chamberLayerIndex(h.chamber, h.layer));
      for (let c = 0; c < 16; c++) if ((e.chamberMask >>> c) & 1) acc.eventsPerChamber[c]!++;
      for (const k of seen) acc.eventLayerHits[k]!++;
    }
    return { run, timeframe, perLink, corrupt, events, hitsInEvents, unassignedHits: unassigned };
  }

  /** Pass 2 over the main words: validate, count, dead-letter, and hand each hit to its muon. */
  private scanMain(
    s: LinkSection,
    counts: LinkCounts,
    corrupt: CorruptWord[],
    acc: MonitoringAccumulator,
    clusterTdc: number[],
    owned: (DaqEvent | undefined)[],
    tally: ScanTally,
  ): void {
    const { map, windowMinNs, windowMaxNs } = this.config;
    const hitTable = map.hitTable;
    const perChannel = acc.hitsPerChannel;
    const perLayer = acc.hitsPerLayer;
    const bins = acc.driftHistogram;
    const words = s.words;
    const from = s.lead;
    const to = s.lead + s.main;
    const clusters = clusterTdc.length;
    const minTdc = windowMinNs / TDC_NS;
    const maxTdc = windowMaxNs / TDC_NS;
    // With no muon, every hit fails this test at once.
    const firstTdc = clusters > 0 ? clusterTdc[0]! : Infinity;
    let cur = -1;
    let hits = 0;
    let unassigned = 0;
    let inEvents = 0;
    for (let j = from; j < to; j++) {
      const lo = words[2 * j]!;
      const hi = words[2 * j + 1]!;
      const top = hi >>> 17;
      const loc = hitTable[top]!;
      if (loc >= 0 && (lo & 0x1f) <= TDC_MAX && (lo & 0x1ffe0) < BX_PER_ORBIT << 5) {
        hits++;
        perChannel[top & 0xfff]!++;
        perLayer[((loc >>> 8) << 3) | ((loc >>> 5) & 7)]!++;
        const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
        const t = (orbit * BX_PER_ORBIT + ((lo >>> 5) & 0xfff)) * TDC_BINS_PER_BX + (lo & 0x1f);
        const limit = t - minTdc;
        if (limit < firstTdc) {
          unassigned++;
          continue;
        }
        while (cur + 1 < clusters && clusterTdc[cur + 1]! <= limit) cur++;
        while (cur >= 0 && clusterTdc[cur]! > limit) cur--;
        if (cur < 0 || t - clusterTdc[cur]! > maxTdc) {
          unassigned++;
          continue;
        }
        const e = owned[cur];
        if (e === undefined) continue; // the neighbouring timeframe's event: it counts this hit
        this.addHit(e, loc, t, bins);
        inEvents++;
        continue;
      }
      const fault = checkWord(lo, hi, map);
      if (fault === WordFault.OK) {
        counts.segments++;
      } else {
        corrupt.push({ link: s.link, index: j - from, lo, hi, fault });
        counts.corrupt++;
        acc.faults[fault]!++;
      }
    }
    counts.hits += hits;
    tally.unassigned += unassigned;
    tally.hitsInEvents += inEvents;
  }

  /**
   * (Lead and trail only. scanMain repeats this search inline for the main words: a call per hit there
   * costs a measurable share of the kernel's throughput, so the duplication is deliberate.)
   * Hands each valid hit in words [from, to) to the latest muon crossing at or before (t − windowMin) and
   * within windowMax of it. Words arrive nearly in time order, so a cursor moving both ways finds the muon
   * in O(1) amortised.
   */
  private assign(
    words: Uint32Array,
    from: number,
    to: number,
    clusterTdc: number[],
    owned: (DaqEvent | undefined)[],
    tally: ScanTally,
    acc: MonitoringAccumulator,
    isMain: boolean,
  ): void {
    const clusters = clusterTdc.length;
    if (clusters === 0 || to <= from) return;
    const { windowMinNs, windowMaxNs } = this.config;
    const hitTable = this.config.map.hitTable;
    const bins = acc.driftHistogram;
    const minTdc = windowMinNs / TDC_NS;
    const maxTdc = windowMaxNs / TDC_NS;
    const firstTdc = clusterTdc[0]!;
    let cur = -1;
    let unassigned = 0;
    let inEvents = 0;
    for (let j = from; j < to; j++) {
      const lo = words[2 * j]!;
      const hi = words[2 * j + 1]!;
      const loc = hitTable[hi >>> 17]!;
      if (loc < 0 || (lo & 0x1f) > TDC_MAX || (lo & 0x1ffe0) >= BX_PER_ORBIT << 5) continue;
      const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
      const t = (orbit * BX_PER_ORBIT + ((lo >>> 5) & 0xfff)) * TDC_BINS_PER_BX + (lo & 0x1f);
      const limit = t - minTdc;
      if (limit < firstTdc) {
        unassigned++;
        continue;
      }
      while (cur + 1 < clusters && clusterTdc[cur + 1]! <= limit) cur++;
      while (cur >= 0 && clusterTdc[cur]! > limit) cur--;
      if (cur < 0 || t - clusterTdc[cur]! > maxTdc) {
        unassigned++;
        continue;
      }
      const e = owned[cur];
      if (e === undefined) continue; // the neighbouring timeframe's event: it counts this hit
      this.addHit(e, loc, t, bins);
      inEvents++;
    }
    tally.hitsInEvents += inEvents;
    if (isMain) tally.unassigned += unassigned;
  }

  /** Puts a hit (time in TDC units) into an event and the drift-time histogram. */
  private addHit(e: DaqEvent, loc: number, tdcTime: number, bins: Float64Array): void {
    const { windowMinNs, driftBinNs } = this.config;
    const timeNs = tdcTime * TDC_NS;
    const driftNs = timeNs - e.timeNs;
    e.hits.push({ chamber: loc >>> 8, layer: (loc >>> 5) & 7, cell: loc & 0x1f, timeNs, driftNs });
    const bin = Math.floor((driftNs - windowMinNs) / driftBinNs);
    if (bin >= 0 && bin < bins.length) bins[bin]!++;
  }

  /** Pass 1: every valid segment word of every section (lead, main and trail). */
  private collectSegments(sections: readonly LinkSection[]): void {
    const { map } = this.config;
    this.segTime.length = 0;
    this.segChamber.length = 0;
    this.segQuality.length = 0;
    this.segLo.length = 0;
    this.segHi.length = 0;
    for (const s of sections) {
      const words = s.words;
      const end = s.lead + s.main + s.trail;
      for (let j = 0; j < end; j++) {
        const hi = words[2 * j + 1]!;
        if (hi >>> 29 !== WordType.SEGMENT) continue;
        const lo = words[2 * j]!;
        if (checkWord(lo, hi, map) !== WordFault.OK) continue;
        this.segTime.push(timeNs(wordOrbit(lo, hi), wordBx(lo), wordTdc(lo)));
        this.segChamber.push(segmentChamber(hi));
        this.segQuality.push(segmentQuality(hi));
        this.segLo.push(lo);
        this.segHi.push(hi);
      }
    }
  }

  /**
   * Muons from the segments: a segment more than toleranceNs after the previous one starts a new muon;
   * muons with segments in fewer than minChambers chambers are dropped. Returns the crossing times in
   * order and, at the same index, the event when this timeframe owns the muon.
   */
  private buildMuons(run: number, timeframe: number): { time: number[]; owned: (DaqEvent | undefined)[] } {
    const segs = this.segTime.length;
    const time: number[] = [];
    const owned: (DaqEvent | undefined)[] = [];
    if (segs === 0) return { time, owned };
    const order = Array.from({ length: segs }, (_, i) => i).sort(
      (a, b) => this.segTime[a]! - this.segTime[b]!,
    );
    const tfStart = this.timeframeStartNs(timeframe);
    const tfEnd = this.timeframeStartNs(timeframe + 1);
    let k0 = 0;
    let mask = 0;
    let prev = -Infinity;
    const close = (end: number): void => {
      if (end <= k0 || popcount(mask) < this.config.minChambers) return;
      const first = order[k0]!;
      const t = this.segTime[first]!;
      time.push(t);
      if (t < tfStart || t >= tfEnd) {
        owned.push(undefined);
        return;
      }
      const segments: EventSegment[] = [];
      for (let k = k0; k < end; k++) {
        const s = order[k]!;
        segments.push({
          chamber: this.segChamber[s]!,
          quality: this.segQuality[s]!,
          timeNs: this.segTime[s]!,
        });
      }
      const lo = this.segLo[first]!;
      const orbit = wordOrbit(lo, this.segHi[first]!);
      const bx = wordBx(lo);
      const tdc = wordTdc(lo);
      owned.push({
        id: eventId(run, orbit, bx, tdc, mask),
        run,
        timeframe,
        orbit,
        bx,
        tdc,
        timeNs: t,
        chamberMask: mask,
        segments,
        hits: [],
      });
    };
    for (let k = 0; k < segs; k++) {
      const s = order[k]!;
      const t = this.segTime[s]!;
      if (t - prev > this.config.toleranceNs) {
        close(k);
        k0 = k;
        mask = 0;
      }
      mask |= 1 << this.segChamber[s]!;
      prev = t;
    }
    close(segs);
    return { time, owned };
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}
