/**
 * Emulator of the Legnaro/Padova drift-tube testbed (seed 001): chambers of 4 layers × 16 cells, 42 mm
 * wide, adjacent layers staggered by half a cell. Muons at a random position and angle cross every
 * chamber; each crossed cell gives a hit at the crossing time plus the drift time (21 mm in 390 ns), and
 * the back-end FPGA's online reconstruction adds a segment word per chamber with ≥ 3 layers hit. Noise
 * hits arrive uniformly on every channel. Everything is drawn from a seed: the same seed and timeframe
 * give the same words, and every link sees the same muons (each emits the hits of its own FPGA).
 */
import {
  BX_NS,
  BX_PER_ORBIT,
  CELLS_PER_LAYER,
  LAYERS_PER_CHAMBER,
  TDC_BINS_PER_BX,
  WordType,
  channelKey,
  type ChannelMap,
} from '../../../protocol/index.js';
import { Prng } from './prng.js';
import { WordBuffer } from './word-buffer.js';

export const CELL_WIDTH_MM = 42;
export const LAYER_HEIGHT_MM = 13;
export const MAX_DRIFT_NS = 390;
const DRIFT_VELOCITY_MM_PER_NS = CELL_WIDTH_MM / 2 / MAX_DRIFT_NS;
const NS_PER_ORBIT = BX_PER_ORBIT * BX_NS;
const TDC_NS = BX_NS / TDC_BINS_PER_BX;

/** What the emulated detector does: rates, geometry, efficiency, masking and the seed. */
export interface EmulatorPhysics {
  readonly muonRateHz: number;
  readonly noiseRateHzPerChannel: number;
  /** Largest track angle from the vertical, in degrees. */
  readonly maxAngleDeg: number;
  readonly chamberSpacingMm: number;
  /** Probability that a crossed cell gives a hit. */
  readonly layerEfficiency: number;
  /** Gaussian spread of the segment crossing time, in ns. */
  readonly segmentJitterNs: number;
  /** Channels that give no hit at all (by channel key fpga << 9 | channel). */
  readonly masked: ReadonlySet<number>;
  readonly seed: number;
}

export interface EmulatorConfig extends EmulatorPhysics {
  readonly map: ChannelMap;
  /** The FPGA (readout link board) whose words this emulator emits. */
  readonly fpga: number;
  readonly chambers: number;
  readonly orbitsPerTimeframe: number;
}

/** Drill faults in effect for a timeframe (faults.ts turns the injected specs into this). */
export interface EmulatorFaults {
  /** Extra noise on single channels (channel key fpga << 9 | channel). */
  readonly noisy: readonly { readonly key: number; readonly rateHz: number }[];
  /** Chambers giving no hit and no segment. */
  readonly deadChambers: ReadonlySet<number>;
  readonly muonRateHz?: number | undefined;
  readonly noiseRateHzPerChannel?: number | undefined;
}

export const NO_FAULTS: EmulatorFaults = { noisy: [], deadChambers: new Set() };

export interface EmulatedTimeframe {
  readonly words: Uint32Array;
  readonly count: number;
  readonly hits: number;
  readonly segments: number;
  readonly muons: number;
}

interface Track {
  t0: number;
  x: number;
  slope: number;
}

export class DtEmulator {
  private readonly channelOfCell: Int32Array;
  /** Cells any link reads (mapped, not masked): what a chamber's FPGA can build a segment from. */
  private readonly readableCell: Uint8Array;
  private readonly ownChambers: ReadonlySet<number>;
  private readonly chamberByKey: Int16Array;
  private readonly noiseChannels: Int32Array;
  private readonly layerX: Float64Array;
  private readonly layerZ: Float64Array;
  private readonly out = new WordBuffer(1 << 14);
  private readonly muonWords = new WordBuffer(1 << 10);
  private readonly muonTimes: number[] = [];
  private readonly muonItems: MuonWord[] = [];

  constructor(readonly config: EmulatorConfig) {
    const { map, chambers, fpga, masked } = config;
    // (chamber, layer, cell) → channel key for this FPGA, or -1 (other FPGA, unmapped or masked).
    this.channelOfCell = new Int32Array(chambers * 8 * 32).fill(-1);
    this.readableCell = new Uint8Array(chambers * 8 * 32);
    const own = new Set<number>();
    for (const e of map.entries) {
      if (e.chamber >= chambers || masked.has(channelKey(e.fpga, e.channel))) continue;
      this.readableCell[(e.chamber * 8 + e.layer) * 32 + e.cell] = 1;
      if (e.fpga !== fpga) continue;
      own.add(e.chamber);
      this.channelOfCell[(e.chamber * 8 + e.layer) * 32 + e.cell] = channelKey(e.fpga, e.channel);
    }
    this.ownChambers = own;
    this.chamberByKey = new Int16Array(4096).fill(-1);
    for (const e of map.entries) this.chamberByKey[channelKey(e.fpga, e.channel)] = e.chamber;
    this.noiseChannels = Int32Array.from(
      map.entries
        .filter((e) => e.fpga === fpga && !masked.has(channelKey(e.fpga, e.channel)))
        .map((e) => channelKey(e.fpga, e.channel)),
    );
    this.layerX = new Float64Array(LAYERS_PER_CHAMBER + 1);
    this.layerZ = new Float64Array(chambers * 8);
    for (let l = 1; l <= LAYERS_PER_CHAMBER; l++) this.layerX[l] = l % 2 === 0 ? CELL_WIDTH_MM / 2 : 0;
    for (let c = 0; c < chambers; c++) {
      for (let l = 1; l <= LAYERS_PER_CHAMBER; l++) {
        this.layerZ[c * 8 + l] = c * config.chamberSpacingMm + (l - 0.5) * LAYER_HEIGHT_MM;
      }
    }
  }

  timeframeStartNs(timeframe: number): number {
    return timeframe * this.config.orbitsPerTimeframe * NS_PER_ORBIT;
  }

  /**
   * The words of muons crossing during `timeframe` (their drift can carry hits into the next one) and of
   * the noise inside it, in time order per source. The returned view is valid until the next call.
   */
  generate(timeframe: number, faults: EmulatorFaults = NO_FAULTS): EmulatedTimeframe {
    const c = this.config;
    const muonRateHz = faults.muonRateHz ?? c.muonRateHz;
    const dead = faults.deadChambers;
    const start = this.timeframeStartNs(timeframe);
    const duration = c.orbitsPerTimeframe * NS_PER_ORBIT;
    this.out.clear();

    // Muons: the same draw on every link (seeded by timeframe only).
    const muonRng = new Prng(mix(c.seed, timeframe, 0x6d75));
    const tracks: Track[] = [];
    for (
      let t = start + exponential(muonRng, muonRateHz);
      t < start + duration;
      t += exponential(muonRng, muonRateHz)
    ) {
      tracks.push(this.drawTrack(muonRng, t));
    }
    this.muonItems.length = 0;
    let hits = 0;
    let segments = 0;
    for (const track of tracks) {
      const r = this.emitMuon(muonRng, track, dead);
      hits += r.hits;
      segments += r.segments;
    }
    // A noisy channel: its own Poisson stream on top of everything else (drills, protocol/faults.ts).
    for (const n of faults.noisy) {
      if (n.key >>> 9 !== c.fpga || dead.has(this.chamberOfKey(n.key))) continue;
      const rng = new Prng(mix(c.seed, timeframe, 0x6e73 ^ n.key));
      for (
        let t = start + exponential(rng, n.rateHz);
        t < start + duration;
        t += exponential(rng, n.rateHz)
      ) {
        this.muonItems.push({ t, head: WordType.HIT, a: n.key >>> 9, b: n.key & 0x1ff });
        hits++;
      }
    }
    // Drift can reorder the words of neighbouring muons: sort once, then merge with the noise below.
    this.muonItems.sort((p, q) => p.t - q.t);
    this.muonWords.clear();
    this.muonTimes.length = 0;
    for (const it of this.muonItems) {
      pushWord(this.muonWords, it.head, it.a, it.b, it.t);
      this.muonTimes.push(it.t);
    }
    // Noise: one Poisson process over this link's channels, already in time order.
    const noiseRng = new Prng(mix(c.seed, timeframe, 0x6e6f ^ (c.fpga << 8)));
    const noiseRate = (faults.noiseRateHzPerChannel ?? c.noiseRateHzPerChannel) * this.noiseChannels.length;
    let m = 0;
    for (
      let t = start + exponential(noiseRng, noiseRate);
      t < start + duration;
      t += exponential(noiseRng, noiseRate)
    ) {
      // Merge muon words (sorted by time below) in between the noise so the stream stays ordered.
      while (m < this.muonTimes.length && this.muonTimes[m]! <= t) {
        this.out.append(this.muonWords.words, m, 1);
        m++;
      }
      const key = this.noiseChannels[noiseRng.int(this.noiseChannels.length)]!;
      if (dead.size > 0 && dead.has(this.chamberOfKey(key))) continue;
      pushWord(this.out, WordType.HIT, key >>> 9, key & 0x1ff, t);
      hits++;
    }
    while (m < this.muonTimes.length) {
      this.out.append(this.muonWords.words, m, 1);
      m++;
    }
    return { words: this.out.words, count: this.out.count, hits, segments, muons: tracks.length };
  }

  private drawTrack(rng: Prng, t0: number): Track {
    const c = this.config;
    const width = CELLS_PER_LAYER * CELL_WIDTH_MM;
    const height = (c.chambers - 1) * c.chamberSpacingMm + LAYERS_PER_CHAMBER * LAYER_HEIGHT_MM;
    const maxSlope = Math.tan((c.maxAngleDeg * Math.PI) / 180);
    // Rejection-sample tracks that stay inside every layer's cells from the bottom to the top.
    for (let tries = 0; tries < 100; tries++) {
      const slope = (2 * rng.next() - 1) * maxSlope;
      const x = rng.next() * width;
      const xTop = x + slope * height;
      if (x >= CELL_WIDTH_MM / 2 && x < width && xTop >= CELL_WIDTH_MM / 2 && xTop < width)
        return { t0, x, slope };
    }
    return { t0, x: width / 2, slope: 0 };
  }

  /** The chamber a channel key of this emulator's map reads (−1: none). */
  private chamberOfKey(key: number): number {
    return this.chamberByKey[key] ?? -1;
  }

  private emitMuon(rng: Prng, track: Track, dead: ReadonlySet<number>): { hits: number; segments: number } {
    const c = this.config;
    let hits = 0;
    let segments = 0;
    for (let chamber = 0; chamber < c.chambers; chamber++) {
      // A dead chamber draws the same random numbers as a live one (every link's generator stays in
      // step with the others, which may not know of the fault) but emits nothing.
      const isDead = dead.has(chamber);
      let layersHit = 0;
      for (let layer = 1; layer <= LAYERS_PER_CHAMBER; layer++) {
        const x = track.x + track.slope * this.layerZ[chamber * 8 + layer]! - this.layerX[layer]!;
        const cell = Math.floor(x / CELL_WIDTH_MM);
        if (cell < 0 || cell >= CELLS_PER_LAYER) continue;
        if (rng.next() >= c.layerEfficiency) continue;
        const slot = (chamber * 8 + layer) * 32 + cell + 1;
        if (this.readableCell[slot] === 1) layersHit++;
        const key = this.channelOfCell[slot]!;
        if (key < 0 || isDead) continue;
        const distance = Math.abs(x - (cell + 0.5) * CELL_WIDTH_MM);
        this.muonItems.push({
          t: track.t0 + distance / DRIFT_VELOCITY_MM_PER_NS,
          head: WordType.HIT,
          a: key >>> 9,
          b: key & 0x1ff,
        });
        hits++;
      }
      // The FPGA reading a chamber reconstructs a segment from at least 3 of its layers.
      // Draw the jitter on every link alike so all links' generators stay in step.
      if (layersHit < 3) continue;
      const t = Math.max(0, track.t0 + c.segmentJitterNs * gaussian(rng));
      if (this.ownChambers.has(chamber) && !isDead) {
        this.muonItems.push({ t, head: WordType.SEGMENT, a: c.fpga, b: chamber | (layersHit << 4) });
        segments++;
      }
    }
    return { hits, segments };
  }
}

interface MuonWord {
  readonly t: number;
  readonly head: number;
  readonly a: number;
  readonly b: number;
}

/**
 * Writes a word at time `t` ns. For hits, a = fpga and b = channel; for segments, a = fpga and
 * b = chamber | quality << 4.
 */
function pushWord(buf: WordBuffer, head: number, a: number, b: number, t: number): void {
  const tdcTotal = Math.floor(t / TDC_NS);
  const bxTotal = Math.floor(tdcTotal / TDC_BINS_PER_BX);
  const tdc = tdcTotal - bxTotal * TDC_BINS_PER_BX;
  const orbit = Math.floor(bxTotal / BX_PER_ORBIT);
  const bx = bxTotal - orbit * BX_PER_ORBIT;
  const lo = (tdc | (bx << 5) | ((orbit & 0x7fff) << 17)) >>> 0;
  const field = head === WordType.HIT ? b << 17 : ((b & 0xf) << 17) | ((b >>> 4) << 21);
  buf.push(lo, ((orbit >>> 15) | field | (a << 26) | (head << 29)) >>> 0);
}

function exponential(rng: Prng, rateHz: number): number {
  if (rateHz <= 0) return Infinity;
  return (-Math.log(1 - rng.next()) / rateHz) * 1e9;
}

function gaussian(rng: Prng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function mix(seed: number, timeframe: number, salt: number): number {
  let h =
    Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^
    Math.imul(timeframe, 0xc2b2ae35) ^
    Math.imul(Math.floor(timeframe / 4294967296), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ salt;
  return h >>> 0;
}
