/**
 * A synthetic sub-timeframe: uniformly spread, valid hits on the mapped channels of one link's FPGA plus
 * one segment word per chamber and orbit, time-ordered. Used by the testbed smoke run and as test data.
 */
import { DaqError } from '../../../protocol/errors.js';
import {
  BX_PER_ORBIT,
  TDC_BINS_PER_BX,
  writeHitWord,
  writeSegmentWord,
  type ChannelMap,
} from '../../../protocol/index.js';
import { Prng } from './prng.js';

export interface SyntheticOptions {
  readonly map: ChannelMap;
  readonly fpga: number;
  readonly timeframe: number;
  readonly orbitsPerTimeframe: number;
  readonly hitsPerOrbit: number;
  readonly seed: number;
}

export interface SyntheticSubTimeframe {
  readonly words: Uint32Array;
  readonly wordCount: number;
  readonly hits: number;
  readonly segments: number;
}

export function syntheticSubTimeframe(o: SyntheticOptions): SyntheticSubTimeframe {
  const channels = o.map.entries.filter((e) => e.fpga === o.fpga);
  if (channels.length === 0)
    throw new DaqError('INVALID_CONFIG', `no channel of FPGA ${o.fpga} is in the channel map`, {
      field: 'fpga',
    });
  const chambers = [...new Set(channels.map((e) => e.chamber))];
  const rng = new Prng(o.seed ^ Math.imul(o.timeframe, 0x9e3779b1) ^ (o.fpga << 24));
  const firstOrbit = o.timeframe * o.orbitsPerTimeframe;
  const hits = o.hitsPerOrbit * o.orbitsPerTimeframe;
  const segments = chambers.length * o.orbitsPerTimeframe;
  const items: { t: number; write: (w: Uint32Array, i: number) => void }[] = [];
  for (let i = 0; i < hits; i++) {
    const e = channels[rng.int(channels.length)]!;
    const orbit = firstOrbit + rng.int(o.orbitsPerTimeframe);
    const bx = rng.int(BX_PER_ORBIT);
    const tdc = rng.int(TDC_BINS_PER_BX);
    items.push({
      t: (orbit * BX_PER_ORBIT + bx) * TDC_BINS_PER_BX + tdc,
      write: (w, j) => writeHitWord(w, j, { fpga: o.fpga, channel: e.channel, orbit, bx, tdc }),
    });
  }
  for (let k = 0; k < o.orbitsPerTimeframe; k++) {
    for (const chamber of chambers) {
      const orbit = firstOrbit + k;
      const bx = rng.int(BX_PER_ORBIT);
      const tdc = rng.int(TDC_BINS_PER_BX);
      items.push({
        t: (orbit * BX_PER_ORBIT + bx) * TDC_BINS_PER_BX + tdc,
        write: (w, j) => writeSegmentWord(w, j, { fpga: o.fpga, chamber, quality: 4, orbit, bx, tdc }),
      });
    }
  }
  items.sort((x, y) => x.t - y.t);
  const words = new Uint32Array(items.length * 2);
  items.forEach((it, j) => it.write(words, j));
  return { words, wordCount: items.length, hits, segments };
}
