/**
 * The 64-bit little-endian words of the DT testbed's readout (docs/data-path.md "Readout").
 *
 *   bits  0–4   TDC_MEAS     0–29, 30 bins per 25 ns bunch crossing
 *   bits  5–16  BX_COUNTER   0–3563
 *   bits 17–48  ORBIT_CNT
 *   bits 49–57  TDC_CHANNEL  (hit)      | 49–52 CHAMBER, 53–56 QUALITY, 57 reserved = 0 (segment)
 *   bits 58–60  FPGA
 *   bits 61–63  HEAD         2 = hit, 4 = segment
 *
 * A word is handled as two uint32 halves (lo = bits 0–31, hi = bits 32–63) so the hot loops never touch
 * BigInt. The bulk helpers read a whole Buffer through one Uint32Array view and allocate nothing per word.
 */
import { endianness } from 'node:os';
import { DaqError } from './errors.js';
import { CHAMBER_MAX, CHANNEL_MAX, FPGA_MAX, type ChannelMap } from './channel-map.js';

export const WORD_BYTES = 8;
export const BX_PER_ORBIT = 3564;
export const BX_MAX = BX_PER_ORBIT - 1;
export const TDC_BINS_PER_BX = 30;
export const TDC_MAX = TDC_BINS_PER_BX - 1;
export const BX_NS = 25;
export const ORBIT_MAX = 0xffffffff;
export const QUALITY_MAX = 15;

export const WordType = {
  HIT: 2,
  SEGMENT: 4,
} as const;
export type WordType = (typeof WordType)[keyof typeof WordType];

/** Why a word was set aside. 0 means the word is good; the rest name the offending field. */
export const WordFault = {
  OK: 0,
  HEAD: 1,
  BX_COUNTER: 2,
  TDC_MEAS: 3,
  TDC_CHANNEL: 4,
  CHAMBER: 5,
  RESERVED: 6,
} as const;
export type WordFault = (typeof WordFault)[keyof typeof WordFault];

export const WORD_FAULT_COUNT = 7;

const FAULT_FIELDS: readonly string[] = [
  '',
  'HEAD',
  'BX_COUNTER',
  'TDC_MEAS',
  'TDC_CHANNEL',
  'CHAMBER',
  'RESERVED',
];
const FAULT_REASONS: readonly string[] = [
  'ok',
  'unknown word type (HEAD)',
  'BX_COUNTER above 3563',
  'TDC_MEAS above 29',
  'TDC_CHANNEL not in the channel map',
  'segment CHAMBER not in the channel map',
  'reserved segment bit set',
];

/** The word field a fault names, e.g. "BX_COUNTER". */
export function faultField(fault: number): string {
  return FAULT_FIELDS[fault] ?? 'UNKNOWN';
}

/** A short human reason for a fault, used on dead-letter records and ERS issues. */
export function faultReason(fault: number): string {
  return FAULT_REASONS[fault] ?? `unknown fault ${fault}`;
}

// Field accessors. Small enough for V8 to inline into the bulk loops.
export const wordTdc = (lo: number): number => lo & 0x1f;
export const wordBx = (lo: number): number => (lo >>> 5) & 0xfff;
export const wordOrbit = (lo: number, hi: number): number => (((hi & 0x1ffff) << 15) | (lo >>> 17)) >>> 0;
export const wordChannel = (hi: number): number => (hi >>> 17) & 0x1ff;
export const wordFpga = (hi: number): number => (hi >>> 26) & 0x7;
export const wordHead = (hi: number): number => hi >>> 29;
/** fpga << 9 | channel: the index into ChannelMap.packed and into per-channel counters. */
export const wordChannelKey = (hi: number): number => (hi >>> 17) & 0xfff;
export const segmentChamber = (hi: number): number => (hi >>> 17) & 0xf;
export const segmentQuality = (hi: number): number => (hi >>> 21) & 0xf;
const segmentReserved = (hi: number): number => (hi >>> 25) & 0x1;

/** Time of a word in ns since orbit 0: (orbit·3564 + bx)·25 + tdc·25/30. Exact in a double up to orbit 2^32. */
export function wordTimeNs(lo: number, hi: number): number {
  return timeNs(wordOrbit(lo, hi), wordBx(lo), wordTdc(lo));
}

export function timeNs(orbit: number, bx: number, tdc: number): number {
  return (orbit * BX_PER_ORBIT + bx) * BX_NS + (tdc * BX_NS) / TDC_BINS_PER_BX;
}

/** Checks one word against the layout and the channel map; returns WordFault.OK or the first bad field. */
export function checkWord(lo: number, hi: number, map: ChannelMap): WordFault {
  const head = hi >>> 29;
  if (head !== WordType.HIT && head !== WordType.SEGMENT) return WordFault.HEAD;
  if (((lo >>> 5) & 0xfff) > BX_MAX) return WordFault.BX_COUNTER;
  if ((lo & 0x1f) > TDC_MAX) return WordFault.TDC_MEAS;
  if (head === WordType.HIT) {
    return (map.packed[(hi >>> 17) & 0xfff] ?? -1) < 0 ? WordFault.TDC_CHANNEL : WordFault.OK;
  }
  if (segmentReserved(hi) !== 0) return WordFault.RESERVED;
  return map.hasChamber(segmentChamber(hi)) ? WordFault.OK : WordFault.CHAMBER;
}

export interface HitFields {
  readonly fpga: number;
  readonly channel: number;
  readonly orbit: number;
  readonly bx: number;
  readonly tdc: number;
}

export interface SegmentFields {
  readonly fpga: number;
  readonly chamber: number;
  readonly quality: number;
  readonly orbit: number;
  readonly bx: number;
  readonly tdc: number;
}

export type DecodedWord =
  ({ readonly type: 'hit' } & HitFields) | ({ readonly type: 'segment' } & SegmentFields);

function fieldError(field: string, value: number, max: number): DaqError {
  return new DaqError('INVALID_WORD', `${field} must be an integer in 0..${max}, got ${value}`, { field });
}

function checkField(field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw fieldError(field, value, max);
}

function checkTime(f: { orbit: number; bx: number; tdc: number }): void {
  checkField('ORBIT_CNT', f.orbit, ORBIT_MAX);
  checkField('BX_COUNTER', f.bx, BX_MAX);
  checkField('TDC_MEAS', f.tdc, TDC_MAX);
}

/** Writes a hit word at word index `index` of `target`. Validates every field; throws naming the bad one. */
export function writeHitWord(target: Uint32Array, index: number, f: HitFields): void {
  checkTime(f);
  checkField('FPGA', f.fpga, FPGA_MAX);
  checkField('TDC_CHANNEL', f.channel, CHANNEL_MAX);
  target[2 * index] = (f.tdc | (f.bx << 5) | ((f.orbit & 0x7fff) << 17)) >>> 0;
  target[2 * index + 1] =
    ((f.orbit >>> 15) | (f.channel << 17) | (f.fpga << 26) | (WordType.HIT << 29)) >>> 0;
}

/** Writes a segment word (the back-end FPGA's online track segment) at word index `index`. */
export function writeSegmentWord(target: Uint32Array, index: number, f: SegmentFields): void {
  checkTime(f);
  checkField('FPGA', f.fpga, FPGA_MAX);
  checkField('CHAMBER', f.chamber, CHAMBER_MAX);
  checkField('QUALITY', f.quality, QUALITY_MAX);
  target[2 * index] = (f.tdc | (f.bx << 5) | ((f.orbit & 0x7fff) << 17)) >>> 0;
  target[2 * index + 1] =
    ((f.orbit >>> 15) | (f.chamber << 17) | (f.quality << 21) | (f.fpga << 26) | (WordType.SEGMENT << 29)) >>>
    0;
}

/**
 * Decodes one word into its fields. Throws DaqError INVALID_WORD naming the field when the word is corrupt
 * or, given a channel map, when its channel (hit) or chamber (segment) is not mapped.
 */
export function decodeWord(lo: number, hi: number, map?: ChannelMap): DecodedWord {
  const head = wordHead(hi);
  if (head !== WordType.HIT && head !== WordType.SEGMENT) {
    throw new DaqError('INVALID_WORD', `HEAD ${head} is not a known word type (2 = hit, 4 = segment)`, {
      field: 'HEAD',
    });
  }
  const orbit = wordOrbit(lo, hi);
  const bx = wordBx(lo);
  const tdc = wordTdc(lo);
  if (bx > BX_MAX) throw fieldError('BX_COUNTER', bx, BX_MAX);
  if (tdc > TDC_MAX) throw fieldError('TDC_MEAS', tdc, TDC_MAX);
  const fpga = wordFpga(hi);
  if (head === WordType.HIT) {
    const channel = wordChannel(hi);
    if (map !== undefined && map.locate(fpga, channel) === undefined) {
      throw new DaqError('INVALID_WORD', `TDC_CHANNEL ${channel} of FPGA ${fpga} is not in the channel map`, {
        field: 'TDC_CHANNEL',
      });
    }
    return { type: 'hit', fpga, channel, orbit, bx, tdc };
  }
  if (segmentReserved(hi) !== 0) {
    throw new DaqError('INVALID_WORD', 'RESERVED bit 57 of a segment word must be 0', { field: 'RESERVED' });
  }
  const chamber = segmentChamber(hi);
  if (map !== undefined && !map.hasChamber(chamber)) {
    throw new DaqError('INVALID_WORD', `CHAMBER ${chamber} of a segment word is not in the channel map`, {
      field: 'CHAMBER',
    });
  }
  return { type: 'segment', fpga, chamber, quality: segmentQuality(hi), orbit, bx, tdc };
}

/** The 64-bit value of a word, for display and tests (never in hot paths). */
export function wordToBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

export function wordFromBigInt(value: bigint): { lo: number; hi: number } {
  return { lo: Number(value & 0xffffffffn), hi: Number((value >> 32n) & 0xffffffffn) };
}

const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * A Uint32Array over the words of a buffer (lo at 2i, hi at 2i+1). Shares memory when the buffer is 4-byte
 * aligned on a little-endian host; otherwise copies once per buffer. Trailing bytes that do not make a whole
 * word are reported, not silently dropped.
 */
export function wordsOf(buf: Uint8Array): { words: Uint32Array; wordCount: number; trailingBytes: number } {
  const wordCount = Math.floor(buf.byteLength / WORD_BYTES);
  const trailingBytes = buf.byteLength - wordCount * WORD_BYTES;
  if (HOST_IS_LITTLE_ENDIAN && buf.byteOffset % 4 === 0) {
    return { words: new Uint32Array(buf.buffer, buf.byteOffset, wordCount * 2), wordCount, trailingBytes };
  }
  const words = new Uint32Array(wordCount * 2);
  const view = new DataView(buf.buffer, buf.byteOffset, wordCount * WORD_BYTES);
  for (let i = 0; i < wordCount * 2; i++) words[i] = view.getUint32(i * 4, true);
  return { words, wordCount, trailingBytes };
}

/** The bytes of a word array as the wire carries them (little-endian). Shares memory on LE hosts. */
export function bytesOfWords(words: Uint32Array, wordCount = words.length / 2): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) return Buffer.from(words.buffer, words.byteOffset, wordCount * WORD_BYTES);
  const out = Buffer.allocUnsafe(wordCount * WORD_BYTES);
  for (let i = 0; i < wordCount * 2; i++) out.writeUInt32LE(words[i] ?? 0, i * 4);
  return out;
}

/** Per-channel hit counts and per-fault corrupt counts, filled by tallyWords. Reused across buffers. */
export class WordTally {
  /** Hits per channel key (fpga << 9 | channel). */
  readonly hitsPerChannel = new Float64Array(4096);
  /** Corrupt words per WordFault. */
  readonly faults = new Float64Array(WORD_FAULT_COUNT);
  hits = 0;
  segments = 0;
  corrupt = 0;

  reset(): void {
    this.hitsPerChannel.fill(0);
    this.faults.fill(0);
    this.hits = 0;
    this.segments = 0;
    this.corrupt = 0;
  }
}

/**
 * Decodes and validates `wordCount` words and counts hits per channel, segments, and corrupt words by
 * fault. The codec's bulk kernel: no allocation, one pass.
 */
export function tallyWords(words: Uint32Array, wordCount: number, map: ChannelMap, tally: WordTally): void {
  const hitTable = map.hitTable;
  const perChannel = tally.hitsPerChannel;
  let hits = 0;
  let segments = 0;
  let corrupt = 0;
  const end = 2 * wordCount;
  for (let j = 0; j < end; j += 2) {
    const lo = words[j]!;
    const hi = words[j + 1]!;
    const top = hi >>> 17;
    // The common case in one branch: a hit word (HEAD = 2) on a mapped channel, TDC ≤ 29, BX ≤ 3563
    // (BX tested in place: bits 5–16 below 3564 << 5).
    if (hitTable[top]! >= 0 && (lo & 0x1f) <= TDC_MAX && (lo & 0x1ffe0) < BX_PER_ORBIT << 5) {
      perChannel[top & 0xfff]!++;
      hits++;
      continue;
    }
    const fault = checkWord(lo, hi, map);
    if (fault === WordFault.OK) {
      segments++;
    } else {
      tally.faults[fault]!++;
      corrupt++;
    }
  }
  tally.hits += hits;
  tally.segments += segments;
  tally.corrupt += corrupt;
}
