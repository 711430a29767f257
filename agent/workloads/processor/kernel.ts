/**
 * The processor's per-timeframe kernel: decode and validate every word, count hits per channel and
 * occupancy, and build events (DESIGN.md data path step 4, seed 001).
 *
 * Events: segments (the back-end FPGA's track segments) whose crossing times lie within `toleranceNs` of
 * the previous one form one muon; its crossing time t is the earliest of them, and it needs segments in
 * `minChambers` chambers to count. Every valid hit whose drift
 * time (hit time − t) lies in [windowMinNs, windowMaxNs] joins the latest muon with that property, so a hit
 * is in at most one event. The timeframe owns the events whose t lies inside it; the lead and trail words
 * (neighbouring timeframes' data within the overlap) are read only so that events at the boundaries come
 * out the same whichever processor owns them — no state crosses timeframes or processors.
 *
 * The hot loop allocates nothing: scratch arrays grow once and are reused.
 */
import {
  BX_PER_ORBIT,
  TDC_MAX,
  WordFault,
  checkWord,
  segmentChamber,
  segmentQuality,
  timeNs,
  wordBx,
  wordOrbit,
  wordTdc,
  type ChannelMap,
} from '../../../protocol/index.js';

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
  toleranceNs: 25,
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

export interface EventHit {
  readonly chamber: number;
  readonly layer: number;
  readonly cell: number;
  readonly timeNs: number;
  readonly driftNs: number;
}

export interface EventSegment {
  readonly chamber: number;
  readonly quality: number;
  readonly timeNs: number;
}

export interface DaqEvent {
  /** Deterministic: run, crossing orbit, bx, tdc and chamber set — a replay makes the same id. */
  readonly id: string;
  readonly run: number;
  readonly timeframe: number;
  readonly orbit: number;
  readonly bx: number;
  readonly tdc: number;
  readonly timeNs: number;
  /** Bit c set when chamber c has a segment. */
  readonly chamberMask: number;
  readonly segments: EventSegment[];
  readonly hits: EventHit[];
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
  /** Index chamber * 8 + layer. */
  readonly hitsPerLayer = new Float64Array(16 * 8);
  readonly driftHistogram: Float64Array;
  readonly faults = new Float64Array(8);
  unassignedHits = 0;
  timeframes = 0;

  constructor(readonly config: Pick<KernelConfig, 'windowMinNs' | 'windowMaxNs' | 'driftBinNs'>) {
    this.driftHistogram = new Float64Array(
      Math.ceil((config.windowMaxNs - config.windowMinNs) / config.driftBinNs) + 1,
    );
  }

  reset(): void {
    this.hitsPerChannel.fill(0);
    this.hitsPerLayer.fill(0);
    this.driftHistogram.fill(0);
    this.faults.fill(0);
    this.unassignedHits = 0;
    this.timeframes = 0;
  }
}

const NS_PER_ORBIT = BX_PER_ORBIT * 25;

export class TimeframeKernel {
  private hitTime = new Float64Array(1 << 16);
  private hitLoc = new Int32Array(1 << 16);
  private hitMain = new Uint8Array(1 << 16);
  private hitEvent = new Int32Array(1 << 16);
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

  process(
    run: number,
    timeframe: number,
    sections: readonly LinkSection[],
    acc: MonitoringAccumulator,
  ): TimeframeResult {
    const { map } = this.config;
    const hitTable = map.hitTable;
    const perChannel = acc.hitsPerChannel;
    const perLayer = acc.hitsPerLayer;
    const perLink = new Map<number, LinkCounts>();
    const corrupt: CorruptWord[] = [];
    this.reserve(sections.reduce((n, s) => n + s.lead + s.main + s.trail, 0));
    const hitTime = this.hitTime;
    const hitLoc = this.hitLoc;
    const hitMain = this.hitMain;
    let n = 0;
    this.segTime.length = 0;
    this.segChamber.length = 0;
    this.segQuality.length = 0;
    this.segLo.length = 0;
    this.segHi.length = 0;

    for (const s of sections) {
      let counts = perLink.get(s.link);
      if (counts === undefined) {
        counts = { words: 0, hits: 0, segments: 0, corrupt: 0 };
        perLink.set(s.link, counts);
      }
      const words = s.words;
      const mainStart = s.lead;
      const mainEnd = s.lead + s.main;
      const end = mainEnd + s.trail;
      let hits = 0;
      for (let j = 0; j < end; j++) {
        const lo = words[2 * j]!;
        const hi = words[2 * j + 1]!;
        const isMain = j >= mainStart && j < mainEnd ? 1 : 0;
        const top = hi >>> 17;
        const loc = hitTable[top]!;
        if (loc >= 0 && (lo & 0x1f) <= TDC_MAX && (lo & 0x1ffe0) < BX_PER_ORBIT << 5) {
          const orbit = (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
          hitTime[n] = (orbit * BX_PER_ORBIT + ((lo >>> 5) & 0xfff)) * 25 + ((lo & 0x1f) * 25) / 30;
          hitLoc[n] = loc;
          hitMain[n] = isMain;
          n++;
          if (isMain === 1) {
            hits++;
            perChannel[top & 0xfff]!++;
            perLayer[((loc >>> 8) << 3) | ((loc >>> 5) & 7)]!++;
          }
          continue;
        }
        const fault = checkWord(lo, hi, map);
        if (fault === WordFault.OK) {
          this.segTime.push(timeNs(wordOrbit(lo, hi), wordBx(lo), wordTdc(lo)));
          this.segChamber.push(segmentChamber(hi));
          this.segQuality.push(segmentQuality(hi));
          this.segLo.push(lo);
          this.segHi.push(hi);
          if (isMain === 1) counts.segments++;
        } else if (isMain === 1) {
          corrupt.push({ link: s.link, index: j - mainStart, lo, hi, fault });
          counts.corrupt++;
          acc.faults[fault]!++;
        }
      }
      counts.hits += hits;
      counts.words += s.main;
    }

    const events = this.buildEvents(run, timeframe, n, acc);
    let hitsInEvents = 0;
    for (const e of events) hitsInEvents += e.hits.length;
    let unassigned = 0;
    const hitEvent = this.hitEvent;
    for (let i = 0; i < n; i++) if (hitMain[i] === 1 && hitEvent[i]! < 0) unassigned++;
    acc.unassignedHits += unassigned;
    acc.timeframes++;
    return { run, timeframe, perLink, corrupt, events, hitsInEvents, unassignedHits: unassigned };
  }

  private buildEvents(
    run: number,
    timeframe: number,
    hitCount: number,
    acc: MonitoringAccumulator,
  ): DaqEvent[] {
    const { toleranceNs, windowMinNs, windowMaxNs, driftBinNs } = this.config;
    const hitEvent = this.hitEvent;
    hitEvent.fill(-1, 0, hitCount);
    const segs = this.segTime.length;
    if (segs === 0) return [];
    const order = Array.from({ length: segs }, (_, i) => i).sort(
      (a, b) => this.segTime[a]! - this.segTime[b]!,
    );

    // Clusters: a segment more than toleranceNs after the previous one starts a new muon. Clusters with
    // segments in fewer than minChambers chambers are dropped before hits are assigned.
    const clusterStart: number[] = [];
    const clusterEnd: number[] = [];
    const clusterTime: number[] = [];
    const clusterMask: number[] = [];
    let prev = -Infinity;
    let k0 = 0;
    let mask = 0;
    const close = (end: number): void => {
      if (end > k0 && popcount(mask) >= this.config.minChambers) {
        clusterStart.push(k0);
        clusterEnd.push(end);
        clusterTime.push(this.segTime[order[k0]!]!);
        clusterMask.push(mask);
      }
    };
    for (let k = 0; k < segs; k++) {
      const s = order[k]!;
      const t = this.segTime[s]!;
      if (t - prev > toleranceNs) {
        close(k);
        k0 = k;
        mask = 0;
      }
      mask |= 1 << this.segChamber[s]!;
      prev = t;
    }
    close(segs);
    const clusters = clusterTime.length;

    // Each hit joins the latest muon that crossed no later than (hit − windowMin) and within windowMax.
    const hitTime = this.hitTime;
    for (let i = 0; i < hitCount; i++) {
      const limit = hitTime[i]! - windowMinNs;
      let lo = 0;
      let hi = clusters - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (clusterTime[mid]! <= limit) {
          found = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      if (found >= 0 && hitTime[i]! - clusterTime[found]! <= windowMaxNs) hitEvent[i] = found;
    }

    const tfStart = this.timeframeStartNs(timeframe);
    const tfEnd = this.timeframeStartNs(timeframe + 1);
    const owned = new Map<number, DaqEvent>();
    for (let c = 0; c < clusters; c++) {
      const t = clusterTime[c]!;
      if (t < tfStart || t >= tfEnd) continue;
      const first = order[clusterStart[c]!]!;
      const segments: EventSegment[] = [];
      for (let k = clusterStart[c]!; k < clusterEnd[c]!; k++) {
        const s = order[k]!;
        segments.push({
          chamber: this.segChamber[s]!,
          quality: this.segQuality[s]!,
          timeNs: this.segTime[s]!,
        });
      }
      const mask = clusterMask[c]!;
      const lo = this.segLo[first]!;
      const hiWord = this.segHi[first]!;
      const orbit = wordOrbit(lo, hiWord);
      const bx = wordBx(lo);
      const tdc = wordTdc(lo);
      owned.set(c, {
        id: `${run}-${orbit}-${bx}-${tdc}-${mask.toString(16)}`,
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
    }
    if (owned.size === 0) return [];
    const hitLoc = this.hitLoc;
    const bins = acc.driftHistogram;
    for (let i = 0; i < hitCount; i++) {
      const c = hitEvent[i]!;
      if (c < 0) continue;
      const e = owned.get(c);
      if (e === undefined) continue;
      const loc = hitLoc[i]!;
      const drift = hitTime[i]! - e.timeNs;
      e.hits.push({
        chamber: loc >>> 8,
        layer: (loc >>> 5) & 7,
        cell: loc & 0x1f,
        timeNs: hitTime[i]!,
        driftNs: drift,
      });
      const bin = Math.floor((drift - windowMinNs) / driftBinNs);
      if (bin >= 0 && bin < bins.length) bins[bin]!++;
    }
    return [...owned.values()];
  }

  private reserve(words: number): void {
    if (this.hitTime.length >= words) return;
    let size = this.hitTime.length;
    while (size < words) size *= 2;
    this.hitTime = new Float64Array(size);
    this.hitLoc = new Int32Array(size);
    this.hitMain = new Uint8Array(size);
    this.hitEvent = new Int32Array(size);
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}
