/** In-memory data path for unit tests: emulator → framer per link → kernel per timeframe. */
import { ChannelMap } from '../../protocol/index.js';
import { DtEmulator, type EmulatorConfig } from '../../agent/workloads/readout/emulator.js';
import { StreamFramer, type FramedTimeframe } from '../../agent/workloads/readout/framer.js';
import {
  DEFAULT_KERNEL,
  MonitoringAccumulator,
  TimeframeKernel,
  type TimeframeResult,
} from '../../agent/workloads/processor/kernel.js';

export function emulatorConfig(overrides: Partial<EmulatorConfig> = {}): EmulatorConfig {
  return {
    map: ChannelMap.testbed(4),
    fpga: 0,
    chambers: 4,
    orbitsPerTimeframe: 32,
    muonRateHz: 2000,
    noiseRateHzPerChannel: 0,
    maxAngleDeg: 20,
    chamberSpacingMm: 200,
    layerEfficiency: 1,
    segmentJitterNs: 2,
    masked: new Set(),
    seed: 11,
    ...overrides,
  };
}

export interface PipelineRun {
  readonly framed: Map<number, FramedTimeframe[]>;
  readonly results: TimeframeResult[];
  readonly muons: number;
  readonly hitsGenerated: number;
  readonly acc: MonitoringAccumulator;
}

/** Runs links 0 and 1 (chambers 0–3) over `timeframes` timeframes and processes every timeframe. */
export function runPipeline(
  timeframes: number,
  overrides: Partial<EmulatorConfig> = {},
  overlapNs = 1000,
): PipelineRun {
  const framed = new Map<number, FramedTimeframe[]>();
  let muons = 0;
  let hitsGenerated = 0;
  const base = emulatorConfig(overrides);
  for (const fpga of [0, 1]) {
    const emu = new DtEmulator({ ...base, fpga });
    const framer = new StreamFramer({ orbitsPerTimeframe: base.orbitsPerTimeframe, overlapNs });
    const out: FramedTimeframe[] = [];
    for (let tf = 0; tf < timeframes; tf++) {
      const g = emu.generate(tf);
      if (fpga === 0) muons += g.muons;
      hitsGenerated += g.hits;
      out.push(...framer.push(g.words, g.count));
    }
    out.push(...framer.flush());
    framed.set(fpga, out);
  }
  const kernel = new TimeframeKernel({
    map: base.map,
    orbitsPerTimeframe: base.orbitsPerTimeframe,
    ...DEFAULT_KERNEL,
  });
  const acc = new MonitoringAccumulator(DEFAULT_KERNEL);
  const byTf = new Map<number, { link: number; f: FramedTimeframe }[]>();
  for (const [link, list] of framed)
    for (const f of list) byTf.set(f.timeframe, [...(byTf.get(f.timeframe) ?? []), { link, f }]);
  const results = [...byTf.keys()]
    .sort((a, b) => a - b)
    .map((tf) =>
      kernel.process(
        1,
        tf,
        (byTf.get(tf) ?? []).map(({ link, f }) => ({
          link,
          words: f.words,
          lead: f.lead,
          main: f.main,
          trail: f.trail,
        })),
        acc,
      ),
    );
  return { framed, results, muons, hitsGenerated, acc };
}
