import assert from 'node:assert/strict';
import { ChannelMap, WordFault, writeHitWord, writeSegmentWord } from '../../../../protocol/index.js';
import { StreamFramer } from '../../../../agent/workloads/readout/framer.js';
import {
  DEFAULT_KERNEL,
  MonitoringAccumulator,
  TimeframeKernel,
} from '../../../../agent/workloads/processor/kernel.js';
import { runPipeline } from '../../../helpers/pipeline.js';

const TF_NS = 32 * 3564 * 25;

describe('agent/workloads/processor/kernel', () => {
  it('turns every emulated muon into exactly one event with all its hits, also across timeframe edges', () => {
    const run = runPipeline(40, { muonRateHz: 3000 });
    const events = run.results.flatMap((r) => r.events);
    assert.ok(run.muons > 200, `${run.muons} muons`);
    assert.equal(events.length, run.muons, 'one event per muon');
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'event ids unique');
    const times = events.map((e) => e.timeNs).sort((a, b) => a - b);
    // Two muons within a drift time of each other share their hits ambiguously; check the isolated ones exactly.
    const isolated = (t: number) => !times.some((u) => u !== t && Math.abs(u - t) < 600);
    let checked = 0;
    for (const e of events) {
      assert.equal(e.chamberMask, 0xf, `event ${e.id} chambers ${e.chamberMask.toString(2)}`);
      for (const h of e.hits) assert.ok(h.driftNs >= -50 && h.driftNs <= 500, `drift ${h.driftNs}`);
      if (!isolated(e.timeNs)) continue;
      checked++;
      assert.equal(e.hits.length, 16, `event ${e.id} has ${e.hits.length} hits`);
      assert.equal(new Set(e.hits.map((h) => h.chamber)).size, 4);
    }
    assert.ok(checked > events.length * 0.9, `${checked} isolated events`);
    const hitsInEvents = run.results.reduce((n, r) => n + r.hitsInEvents, 0);
    assert.equal(hitsInEvents, run.hitsGenerated, 'every hit in an event, none twice');
  });

  it('builds a muon straddling two timeframes once, owned by the timeframe of its crossing', () => {
    const map = ChannelMap.testbed(4);
    const t0 = TF_NS - 10; // 10 ns before the edge of timeframes 0 and 1
    const words = new Uint32Array(2 * 20);
    let n = 0;
    const at = (t: number) => {
      const tdcTotal = Math.round(t / (25 / 30));
      const bxTotal = Math.floor(tdcTotal / 30);
      return { orbit: Math.floor(bxTotal / 3564), bx: bxTotal % 3564, tdc: tdcTotal % 30 };
    };
    for (let chamber = 0; chamber < 4; chamber++) {
      writeSegmentWord(words, n++, { fpga: chamber >> 1, chamber, quality: 4, ...at(t0 + chamber) });
      for (let layer = 1; layer <= 4; layer++) {
        const { fpga, channel } = map.channelOf(chamber, layer, 5)!;
        writeHitWord(words, n++, { fpga, channel, ...at(t0 + 40 * layer + chamber) }); // 30–170 ns of drift
      }
    }
    const framer = new StreamFramer({ orbitsPerTimeframe: 32, overlapNs: 1000 });
    const framed = [...framer.push(words, n), ...framer.flush()];
    assert.deepEqual(
      framed.map((f) => f.timeframe),
      [0, 1],
    );
    assert.ok(framed[1]!.main > 0 && framed[0]!.trail === framed[1]!.main, 'tf 0 sees tf 1 as trail');
    const kernel = new TimeframeKernel({ map, orbitsPerTimeframe: 32, ...DEFAULT_KERNEL });
    const acc = new MonitoringAccumulator(DEFAULT_KERNEL);
    const results = framed.map((f) =>
      kernel.process(
        1,
        f.timeframe,
        [{ link: 0, words: f.words, lead: f.lead, main: f.main, trail: f.trail }],
        acc,
      ),
    );
    assert.equal(results[0]!.events.length, 1);
    assert.equal(results[1]!.events.length, 0, 'the next timeframe must not build it again');
    assert.equal(results[0]!.events[0]!.hits.length, 16);
    assert.equal(results[1]!.unassignedHits, 0, 'its hits in timeframe 1 belong to the event of timeframe 0');
  });

  it('puts a hit in at most one event when noise and muons overlap', () => {
    const run = runPipeline(30, { muonRateHz: 5000, noiseRateHzPerChannel: 3000, layerEfficiency: 0.9 });
    const events = run.results.flatMap((r) => r.events);
    const times = events.map((e) => e.timeNs);
    const seen = new Set<string>();
    for (const e of events) {
      const chambersWithHits = new Set(e.hits.map((h) => h.chamber)).size;
      const isolated = !times.some((u) => u !== e.timeNs && Math.abs(u - e.timeNs) < 600);
      if (isolated)
        assert.ok(chambersWithHits >= 3, `event ${e.id} has hits in ${chambersWithHits} chambers`);
      assert.ok(popcount(e.chamberMask) >= 3, `event ${e.id} has segments in fewer than 3 chambers`);
      for (const h of e.hits) {
        const key = `${h.chamber}/${h.layer}/${h.cell}/${h.timeNs}`;
        assert.ok(!seen.has(key), `hit ${key} in two events`);
        seen.add(key);
        assert.ok(h.driftNs >= -50 && h.driftNs <= 500);
      }
    }
    assert.ok(events.length > 300, `${events.length} events`);
    assert.ok(run.acc.unassignedHits > 0, 'noise hits outside every event are counted');
    const histogram = run.acc.driftHistogram.reduce((a, b) => a + b, 0);
    assert.equal(histogram, seen.size, 'drift histogram holds every event hit once');
  });

  it('counts corrupt main words by fault and link and keeps going', () => {
    const map = ChannelMap.testbed(4);
    const kernel = new TimeframeKernel({ map, orbitsPerTimeframe: 32, ...DEFAULT_KERNEL });
    const acc = new MonitoringAccumulator(DEFAULT_KERNEL);
    const w = new Uint32Array(2 * 6);
    writeSegmentWord(w, 0, { fpga: 0, chamber: 0, quality: 4, orbit: 32, bx: 10, tdc: 0 });
    const others = new Uint32Array(2 * 2);
    writeSegmentWord(others, 0, { fpga: 0, chamber: 1, quality: 3, orbit: 32, bx: 10, tdc: 5 });
    writeSegmentWord(others, 1, { fpga: 1, chamber: 2, quality: 4, orbit: 32, bx: 10, tdc: 9 });
    writeHitWord(w, 1, { fpga: 0, channel: 1, orbit: 32, bx: 14, tdc: 0 });
    writeHitWord(w, 2, { fpga: 0, channel: 200, orbit: 32, bx: 15, tdc: 0 }); // unmapped
    writeHitWord(w, 3, { fpga: 0, channel: 2, orbit: 32, bx: 16, tdc: 0 });
    w[2 * 3] = (w[2 * 3]! | (0xfff << 5)) >>> 0; // BX 4095
    w[2 * 4] = 0;
    w[2 * 4 + 1] = 0; // HEAD 0
    writeHitWord(w, 5, { fpga: 0, channel: 3, orbit: 32, bx: 20, tdc: 0 });
    const r = kernel.process(
      9,
      1,
      [
        { link: 0, words: w, lead: 0, main: 6, trail: 0 },
        { link: 1, words: others, lead: 0, main: 2, trail: 0 },
      ],
      acc,
    );
    assert.deepEqual(
      r.corrupt.map((c) => [c.index, c.fault]),
      [
        [2, WordFault.TDC_CHANNEL],
        [3, WordFault.BX_COUNTER],
        [4, WordFault.HEAD],
      ],
    );
    assert.deepEqual(r.perLink.get(0), { words: 6, hits: 2, segments: 1, corrupt: 3 });
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0]!.hits.length, 2);
    assert.equal(r.events[0]!.id, '9-32-10-0-7');
    assert.deepEqual(r.perLink.get(1), { words: 2, hits: 0, segments: 2, corrupt: 0 });
    assert.equal(acc.faults[WordFault.HEAD], 1);
  });

  it('ignores corrupt words in the lead and trail (their own timeframe reports them)', () => {
    const map = ChannelMap.testbed(4);
    const kernel = new TimeframeKernel({ map, orbitsPerTimeframe: 32, ...DEFAULT_KERNEL });
    const acc = new MonitoringAccumulator(DEFAULT_KERNEL);
    const w = new Uint32Array(2 * 3);
    w[1] = 0;
    writeHitWord(w, 1, { fpga: 0, channel: 1, orbit: 32, bx: 14, tdc: 0 });
    w[5] = 0;
    const r = kernel.process(1, 1, [{ link: 0, words: w, lead: 1, main: 1, trail: 1 }], acc);
    assert.equal(r.corrupt.length, 0);
    assert.deepEqual(r.perLink.get(0), { words: 1, hits: 1, segments: 0, corrupt: 0 });
  });
});

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}
