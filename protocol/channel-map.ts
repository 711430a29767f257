import { DaqError } from './errors.js';

/** Where one TDC channel sits in the detector. Chambers count from 0; layers 1–4 and cells 1–16 as in the DT testbed. */
export interface ChannelLocation {
  readonly chamber: number;
  readonly layer: number;
  readonly cell: number;
}

export interface ChannelMapEntry extends ChannelLocation {
  readonly fpga: number;
  readonly channel: number;
}

export const FPGA_MAX = 7;
export const CHANNEL_MAX = 511;
export const CHAMBER_MAX = 15;
export const LAYERS_PER_CHAMBER = 4;
export const CELLS_PER_LAYER = 16;
/** Chambers a map may name (0..CHAMBER_MAX). */
export const CHAMBER_COUNT = CHAMBER_MAX + 1;
/** Slots per chamber in a chamber × layer table (layers 1..4, a power of two for a shift). */
export const LAYER_SLOTS = 8;

/** Index of (chamber, layer) in a table of CHAMBER_COUNT × LAYER_SLOTS counts. */
export function chamberLayerIndex(chamber: number, layer: number): number {
  return chamber * LAYER_SLOTS + layer;
}
/** fpga (3 bits) and channel (9 bits) are adjacent in the word, so together they index a 4096-slot table. */
export const CHANNEL_KEY_COUNT = (FPGA_MAX + 1) * (CHANNEL_MAX + 1);
// HEAD of a hit word (protocol/hit-word WordType.HIT); repeated here to keep this module free of a cycle.
const HIT_HEAD = 2;

export function channelKey(fpga: number, channel: number): number {
  return (fpga << 9) | channel;
}

/**
 * (fpga, channel) → (chamber, layer, cell), held as a flat Int32Array so the hot loop does one load per
 * hit: -1 = unmapped, otherwise chamber << 8 | layer << 5 | cell.
 */
export class ChannelMap {
  readonly packed: Int32Array;
  /**
   * The same lookup keyed by the top 15 bits of a hit word (HEAD | FPGA | TDC_CHANNEL): -1 unless HEAD = 2
   * and the channel is mapped, so the hot loop checks word type and channel with one load.
   */
  readonly hitTable: Int32Array;
  readonly chambers: readonly number[];
  readonly entries: readonly ChannelMapEntry[];

  private constructor(entries: readonly ChannelMapEntry[]) {
    this.packed = new Int32Array(CHANNEL_KEY_COUNT).fill(-1);
    this.hitTable = new Int32Array(8 * CHANNEL_KEY_COUNT).fill(-1);
    for (const e of entries) {
      this.packed[channelKey(e.fpga, e.channel)] = packLocation(e);
      this.hitTable[(HIT_HEAD << 12) | channelKey(e.fpga, e.channel)] = packLocation(e);
    }
    this.entries = Object.freeze([...entries]);
    this.chambers = Object.freeze([...new Set(entries.map((e) => e.chamber))].sort((a, b) => a - b));
  }

  /** Builds a map from explicit entries; every problem names the entry index and the field. */
  static fromEntries(entries: readonly ChannelMapEntry[]): ChannelMap {
    const byChannel = new Map<number, number>();
    const byCell = new Map<number, number>();
    entries.forEach((e, i) => {
      checkRange(`entries[${i}].fpga`, e.fpga, 0, FPGA_MAX);
      checkRange(`entries[${i}].channel`, e.channel, 0, CHANNEL_MAX);
      checkRange(`entries[${i}].chamber`, e.chamber, 0, CHAMBER_MAX);
      checkRange(`entries[${i}].layer`, e.layer, 1, LAYERS_PER_CHAMBER);
      checkRange(`entries[${i}].cell`, e.cell, 1, 31);
      const key = channelKey(e.fpga, e.channel);
      const earlier = byChannel.get(key);
      if (earlier !== undefined) {
        throw new DaqError(
          'INVALID_CHANNEL_MAP',
          `entries[${i}]: fpga ${e.fpga} channel ${e.channel} is already mapped by entries[${earlier}]`,
          { field: `entries[${i}].channel` },
        );
      }
      byChannel.set(key, i);
      const cell = packLocation(e);
      const twin = byCell.get(cell);
      if (twin !== undefined) {
        throw new DaqError(
          'INVALID_CHANNEL_MAP',
          `entries[${i}]: chamber ${e.chamber} layer ${e.layer} cell ${e.cell} is already read by entries[${twin}]`,
          { field: `entries[${i}].cell` },
        );
      }
      byCell.set(cell, i);
    });
    return new ChannelMap(entries);
  }

  /** The DT testbed's wiring: channels 1–128 per FPGA, two chambers per FPGA. */
  static testbed(chamberCount = 4): ChannelMap {
    checkRange('chamberCount', chamberCount, 1, CHAMBER_MAX + 1);
    const entries: ChannelMapEntry[] = [];
    for (let chamber = 0; chamber < chamberCount; chamber++) {
      const fpga = chamber >> 1;
      for (let local = 1; local <= 64; local++) {
        const channel = local + (chamber & 1) * 64;
        entries.push({ fpga, channel, ...testbedLocation(fpga, channel) });
      }
    }
    return new ChannelMap(entries);
  }

  /** The location of a channel, or undefined when nothing is wired there. */
  locate(fpga: number, channel: number): ChannelLocation | undefined {
    if (fpga < 0 || fpga > FPGA_MAX || channel < 0 || channel > CHANNEL_MAX) return undefined;
    const p = this.packed[channelKey(fpga, channel)] ?? -1;
    return p < 0 ? undefined : unpackLocation(p);
  }

  /** The (fpga, channel) that reads a cell, for the emulator; undefined when no channel does. */
  channelOf(chamber: number, layer: number, cell: number): { fpga: number; channel: number } | undefined {
    const e = this.entries.find((x) => x.chamber === chamber && x.layer === layer && x.cell === cell);
    return e === undefined ? undefined : { fpga: e.fpga, channel: e.channel };
  }

  hasChamber(chamber: number): boolean {
    return this.chambers.includes(chamber);
  }
}

const TESTBED_LAYER_OF_MOD4 = [4, 1, 3, 2] as const;

/** The testbed's wiring: chamber = 2·fpga + (channel > 64), layer from channel mod 4 {1→1, 2→3, 3→2, 0→4}. */
function testbedLocation(fpga: number, channel: number): ChannelLocation {
  const local = ((channel - 1) % 64) + 1;
  return {
    chamber: 2 * fpga + (channel > 64 ? 1 : 0),
    layer: TESTBED_LAYER_OF_MOD4[channel % 4] ?? 0,
    cell: Math.floor((local - 1) / 4) + 1,
  };
}

export function packLocation(l: ChannelLocation): number {
  return (l.chamber << 8) | (l.layer << 5) | l.cell;
}

export function unpackLocation(packed: number): ChannelLocation {
  return { chamber: packed >>> 8, layer: (packed >>> 5) & 0x7, cell: packed & 0x1f };
}

function checkRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DaqError('INVALID_CHANNEL_MAP', `${field} must be an integer in ${min}..${max}, got ${value}`, {
      field,
    });
  }
}
