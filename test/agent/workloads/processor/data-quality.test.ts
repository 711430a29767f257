import assert from 'node:assert/strict';
import { ChannelMap, packLocation } from '../../../../protocol/index.js';
import { DtEmulator, type EmulatorFaults, NO_FAULTS } from '../../../../agent/workloads/readout/emulator.js';
import { StreamFramer, type FramedTimeframe } from '../../../../agent/workloads/readout/framer.js';
import {
  DEFAULT_KERNEL,
  MonitoringAccumulator,
  TimeframeKernel,
} from '../../../../agent/workloads/processor/kernel.js';
import {
  DataQuality,
  DEFAULT_DATA_QUALITY,
  type DataQualityResult,
  type Finding,
  type IntervalCounts,
} from '../../../../agent/workloads/processor/data-quality.js';
import { emulatorConfig } from '../../../helpers/pipeline.js';

const TF_SECONDS = (32 * 3564 * 25) / 1e9;
/** Timeframes per monitoring interval: 0.28 s of detector time. */
const PER_INTERVAL = 100;

interface Drill {
  /** Faults of link `fpga` during interval `i` (undefined: none). */
  faults?: (fpga: number, i: number) => EmulatorFaults | undefined;
  /** Whether link `fpga` sends its part in interval `i` (a stalled link does not). */
  sends?: (fpga: number, i: number) => boolean;
  run?: (i: number) => number;
  /** Cells masked for the run (packLocation): the emulator does not fire them, data quality skips them. */
  masked?: ReadonlySet<number>;
  /** Whether data quality is told of the masks (default yes), as the processor is at CONFIGURE. */
  told?: boolean;
}

/**
 * The testbed (two links, four chambers) at its rates — 1 kHz of muons, 200 Hz of noise per channel —
 * emulated, framed and processed timeframe by timeframe, its counts handed to data quality each
 * interval, as the processor does.
 */
function drill(intervals: number, d: Drill = {}): DataQualityResult[] {
  const map = ChannelMap.testbed(4);
  const maskedKeys = new Set(
    map.entries.filter((e) => d.masked?.has(packLocation(e)) === true).map((e) => (e.fpga << 9) | e.channel),
  );
  const emus = [0, 1].map(
    (fpga) =>
      new DtEmulator(
        emulatorConfig({
          fpga,
          muonRateHz: 1000,
          noiseRateHzPerChannel: 200,
          layerEfficiency: 0.95,
          masked: maskedKeys,
        }),
      ),
  );
  const framers = [0, 1].map(() => new StreamFramer({ orbitsPerTimeframe: 32, overlapNs: 1000 }));
  const kernel = new TimeframeKernel({ map, orbitsPerTimeframe: 32, ...DEFAULT_KERNEL });
  const acc = new MonitoringAccumulator(DEFAULT_KERNEL);
  const dq = new DataQuality(map, [0, 1], DEFAULT_DATA_QUALITY, d.told === false ? undefined : d.masked);
  const out: DataQualityResult[] = [];
  const pending = new Map<number, { link: number; f: FramedTimeframe }[]>();
  for (let i = 0; i < intervals; i++) {
    const run = d.run?.(i) ?? 1;
    for (let k = 0; k < PER_INTERVAL; k++) {
      const tf = i * PER_INTERVAL + k;
      for (const fpga of [0, 1]) {
        if (d.sends?.(fpga, i) === false) continue;
        const g = emus[fpga]!.generate(tf, d.faults?.(fpga, i) ?? NO_FAULTS);
        for (const f of framers[fpga]!.push(g.words, g.count))
          pending.set(f.timeframe, [...(pending.get(f.timeframe) ?? []), { link: fpga, f }]);
      }
      for (const [t, parts] of pending) {
        if (t > tf - 2) continue;
        pending.delete(t);
        kernel.process(
          run,
          t,
          parts.map(({ link, f }) => ({ link, words: f.words, lead: f.lead, main: f.main, trail: f.trail })),
          acc,
        );
      }
    }
    out.push(dq.observe(acc.intervalCounts(acc.timeframes * TF_SECONDS)));
    acc.reset();
  }
  return out;
}

const raised = (rs: readonly DataQualityResult[]): Finding[] => rs.flatMap((r) => r.raised);
const kinds = (fs: readonly Finding[]): string[] => [...new Set(fs.map((f) => f.kind))].sort();

function noisy(chamber: number, layer: number, cell: number): EmulatorFaults {
  const ch = ChannelMap.testbed(4).channelOf(chamber, layer, cell)!;
  return { noisy: [{ key: (ch.fpga << 9) | ch.channel, rateHz: 50_000 }], deadChambers: new Set() };
}

describe('agent/workloads/processor/data-quality (emulated testbed stream)', function () {
  this.timeout(60_000);

  it('finds nothing on a healthy run', () => {
    const rs = drill(24);
    assert.deepEqual(raised(rs), []);
    // … while measuring: the hit rate stays at its baseline, layers are efficient.
    const last = rs.at(-1)!;
    assert.ok(Math.abs(last.hitRateRatio! - 1) < 0.1, `ratio ${last.hitRateRatio}`);
    assert.ok(last.efficiency.size === 16, `efficiency of ${last.efficiency.size} layers`);
    for (const [k, e] of last.efficiency) assert.ok(e > 0.85, `layer ${k}: ${e}`);
  });

  it('raises a noisy channel on its link within three intervals, nothing else, and clears it after', () => {
    const rs = drill(26, {
      faults: (fpga, i) => (i >= 10 && i < 16 && fpga === 1 ? noisy(2, 3, 7) : undefined),
    });
    const first = rs.findIndex((r) => r.raised.length > 0);
    assert.ok(first >= 10 && first <= 12, `raised at interval ${first}`);
    assert.deepEqual(
      raised(rs).map((f) => ({
        kind: f.kind,
        link: f.link,
        chamber: f.chamber,
        layer: f.layer,
        cell: f.cell,
      })),
      [{ kind: 'noisy-channel', link: 1, chamber: 2, layer: 3, cell: 7 }],
      'the rate of the whole detector and its noise, without the flagged channel, are unchanged',
    );
    const cleared = rs.findIndex((r) => r.cleared.some((f) => f.kind === 'noisy-channel'));
    assert.ok(cleared >= 16 && cleared <= 21, `cleared at interval ${cleared}`);
    assert.deepEqual(rs.at(-1)!.active, []);
  });

  it('does not judge masked cells: a masked cell is silent on purpose, not dead', () => {
    const masked = new Set([
      packLocation({ chamber: 2, layer: 3, cell: 5 }),
      packLocation({ chamber: 0, layer: 1, cell: 1 }),
    ]);
    const untold = raised(drill(8, { masked, told: false }));
    assert.deepEqual(kinds(untold), ['dead-channel'], 'unmasked in data quality, they would look dead');
    assert.deepEqual(kinds(raised(drill(8, { masked }))), [], 'told of the masks, nothing to raise');
  });

  it('raises a dead chamber — not 64 dead channels, not a rate drift', () => {
    const rs = drill(22, {
      faults: (fpga, i) => (i >= 10 && fpga === 1 ? { noisy: [], deadChambers: new Set([3]) } : undefined),
    });
    assert.deepEqual(
      raised(rs).map((f) => ({ kind: f.kind, link: f.link, chamber: f.chamber })),
      [{ kind: 'dead-chamber', link: 1, chamber: 3 }],
    );
  });

  it('raises a stalled link as link-silent, not as two dead chambers', () => {
    const rs = drill(22, { sends: (fpga, i) => !(fpga === 1 && i >= 10) });
    assert.deepEqual(
      raised(rs).map((f) => ({ kind: f.kind, link: f.link })),
      [{ kind: 'link-silent', link: 1 }],
    );
  });

  it('raises the noise rising and the hit rate drifting from the run baseline, for the whole detector', () => {
    const rs = drill(22, {
      faults: (_fpga, i) =>
        i >= 10 ? { noisy: [], deadChambers: new Set(), noiseRateHzPerChannel: 1000 } : undefined,
    });
    assert.deepEqual(kinds(raised(rs)), ['noise-rising', 'rate-drift']);
    assert.ok(raised(rs).every((f) => f.link === undefined));
  });

  it('takes a new baseline and forgets the last run’s findings when the run changes', () => {
    const rs = drill(26, {
      run: (i) => (i < 14 ? 1 : 2),
      faults: (_fpga, i) =>
        i >= 8 ? { noisy: [], deadChambers: new Set(), noiseRateHzPerChannel: 1000 } : undefined,
    });
    assert.ok(kinds(raised(rs.slice(0, 14))).includes('noise-rising'));
    assert.ok(rs[14]!.cleared.length > 0, 'the new run clears what the last one held');
    assert.deepEqual(raised(rs.slice(14)), [], 'the new run is judged against its own (noisier) start');
  });
});

describe('agent/workloads/processor/data-quality (counts)', () => {
  const map = ChannelMap.testbed(4);

  function counts(over: Partial<IntervalCounts> = {}): IntervalCounts {
    const hits = new Float64Array(4096);
    for (const e of map.entries) hits[(e.fpga << 9) | e.channel] = 100;
    const events = new Float64Array(16);
    const layers = new Float64Array(16 * 8);
    for (let c = 0; c < 4; c++) {
      events[c] = 200;
      for (let l = 1; l <= 4; l++) layers[c * 8 + l] = 190;
    }
    const links = new Float64Array(4096);
    links[0] = 100;
    links[1] = 100;
    return {
      run: 1,
      detectorSeconds: 0.285,
      timeframes: 100,
      hitsPerChannel: hits,
      unassignedHits: 20_000,
      eventsPerChamber: events,
      eventLayerHits: layers,
      linkTimeframes: links,
      ...over,
    };
  }

  it('raises an inefficient layer from built events, on the link of its chamber', () => {
    const dq = new DataQuality(map, [0, 1]);
    const layers = counts().eventLayerHits.slice();
    layers[2 * 8 + 4] = 60; // 30 % of the 200 events crossing chamber 2
    const rs = Array.from({ length: 4 }, () => dq.observe(counts({ eventLayerHits: layers })));
    assert.deepEqual(
      raised(rs).map((f) => ({ kind: f.kind, link: f.link, chamber: f.chamber, layer: f.layer })),
      [{ kind: 'layer-efficiency', link: 1, chamber: 2, layer: 4 }],
    );
  });

  it('judges nothing in a disturbed interval (Kafka away, backlog caught up) and starts its window again', () => {
    const dq = new DataQuality(map, [0, 1]);
    const links = new Float64Array(4096);
    links[0] = 100; // link 1 missing from every timeframe, as while one link's backlog is still on its way
    const rs = Array.from({ length: 6 }, () =>
      dq.observe(counts({ linkTimeframes: links, disturbed: true })),
    );
    assert.deepEqual(raised(rs), []);
    const after = Array.from({ length: 3 }, () => dq.observe(counts({ linkTimeframes: links })));
    assert.deepEqual(
      raised(after).map((f) => f.kind),
      ['link-silent'],
      'undisturbed, the same picture is a finding',
    );
  });

  it('raises only after raiseAfter intervals in a row and clears only after clearAfter without', () => {
    const dq = new DataQuality(map, [0, 1], { ...DEFAULT_DATA_QUALITY, windowIntervals: 1 });
    const hot = counts().hitsPerChannel.slice();
    hot[(0 << 9) | 5] = 20_000;
    const seq = ['hot', 'ok', 'hot', 'hot', 'ok', 'ok', 'hot', 'ok', 'ok', 'ok'];
    const rs = seq.map((s) => dq.observe(counts(s === 'hot' ? { hitsPerChannel: hot } : {})));
    assert.deepEqual(
      rs.map((r) => `${r.raised.length}/${r.cleared.length}`),
      ['0/0', '0/0', '0/0', '1/0', '0/0', '0/0', '0/0', '0/0', '0/0', '0/1'],
    );
  });
});
