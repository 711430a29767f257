/**
 * Processor kernel throughput on one core: decode + validate + per-channel counts + occupancy + event
 * building over a fixed synthetic set (emulated muons at 2 kHz in noise), the figure seed 001 reports as
 * 7.5 M hits/s per vCPU for its Dask processing.
 */
import { ChannelMap } from '../../protocol/index.js';
import { DtEmulator } from '../../agent/workloads/readout/emulator.js';
import { StreamFramer, type FramedTimeframe } from '../../agent/workloads/readout/framer.js';
import {
  DEFAULT_KERNEL,
  MonitoringAccumulator,
  TimeframeKernel,
} from '../../agent/workloads/processor/kernel.js';
import { measure, type BenchResult } from './measure.js';

export function benchProcessorKernel(): BenchResult {
  const map = ChannelMap.testbed(4);
  const orbitsPerTimeframe = 32;
  const timeframes = 60;
  const byTf = new Map<number, { link: number; f: FramedTimeframe }[]>();
  const streams: { words: Uint32Array; count: number }[] = [];
  for (const fpga of [0, 1]) {
    const emu = new DtEmulator({
      map,
      fpga,
      chambers: 4,
      orbitsPerTimeframe,
      muonRateHz: 2000,
      // ~10 M hits/s per link: the noise dominates, as in seed 001's trigger-less stream.
      noiseRateHzPerChannel: 80_000,
      maxAngleDeg: 20,
      chamberSpacingMm: 200,
      layerEfficiency: 0.95,
      segmentJitterNs: 2,
      masked: new Set(),
      seed: 5,
    });
    const framer = new StreamFramer({ orbitsPerTimeframe, overlapNs: 1000 });
    const put = (list: FramedTimeframe[]) => {
      for (const f of list) byTf.set(f.timeframe, [...(byTf.get(f.timeframe) ?? []), { link: fpga, f }]);
    };
    for (let tf = 0; tf < timeframes; tf++) {
      const g = emu.generate(tf);
      streams.push({ words: g.words.slice(0, 2 * g.count), count: g.count });
      put(framer.push(g.words, g.count));
    }
    put(framer.flush());
  }
  const sets = [...byTf.entries()].map(([tf, parts]) => ({
    tf,
    sections: parts.map(({ link, f }) => ({
      link,
      words: f.words,
      lead: f.lead,
      main: f.main,
      trail: f.trail,
    })),
  }));
  const hits = sets.reduce((n, s) => n + s.sections.reduce((m, x) => m + x.main, 0), 0);
  const kernel = new TimeframeKernel({ map, orbitsPerTimeframe, ...DEFAULT_KERNEL });
  const acc = new MonitoringAccumulator(DEFAULT_KERNEL);
  let events = 0;
  const r = measure('processor kernel: decode + counts + occupancy + event building', hits, () => {
    events = 0;
    for (const s of sets) events += kernel.process(1, s.tf, s.sections, acc).events.length;
  });
  console.log(
    `  ${r.label}: ${(r.perSecond / 1e6).toFixed(1)} M hits/s per core (target ≥ 60; seed 001: 7.5 per vCPU)`,
  );
  console.log(`  (${hits} words in ${sets.length} timeframes, ${events} events per pass)`);
  // The readout's own per-word cost: cutting both links' streams into sub-timeframes with overlap.
  const words = streams.reduce((n, x) => n + x.count, 0);
  const framing = measure('readout framer', words, () => {
    for (const fpga of [0, 1]) {
      const framer = new StreamFramer({ orbitsPerTimeframe, overlapNs: 1000 });
      for (let tf = 0; tf < timeframes; tf++) {
        const x = streams[fpga * timeframes + tf]!;
        framer.push(x.words, x.count);
      }
      framer.flush();
    }
  });
  console.log(
    `  ${framing.label}: ${(framing.perSecond / 1e6).toFixed(1)} M words/s per core (${(1e9 / framing.perSecond).toFixed(1)} ns/word)`,
  );
  return r;
}
