import assert from 'node:assert/strict';
import { ChannelMap, WordType, channelKey, decodeWord } from '../../../../protocol/index.js';
import { DtEmulator } from '../../../../agent/workloads/readout/emulator.js';
import { emulatorConfig } from '../../../helpers/pipeline.js';

function decodeAll(words: Uint32Array, count: number) {
  const map = ChannelMap.testbed(4);
  return Array.from({ length: count }, (_, i) => decodeWord(words[2 * i]!, words[2 * i + 1]!, map));
}

describe('agent/workloads/readout/emulator', () => {
  it('gives the same words for the same seed and timeframe, and different ones for another seed', () => {
    const a = new DtEmulator(emulatorConfig({ noiseRateHzPerChannel: 200 }));
    const b = new DtEmulator(emulatorConfig({ noiseRateHzPerChannel: 200 }));
    const c = new DtEmulator(emulatorConfig({ noiseRateHzPerChannel: 200, seed: 12 }));
    const ga = a.generate(7);
    const wa = Array.from(ga.words.subarray(0, 2 * ga.count));
    const gb = b.generate(7);
    assert.deepEqual(Array.from(gb.words.subarray(0, 2 * gb.count)), wa);
    const gc = c.generate(7);
    assert.notDeepEqual(Array.from(gc.words.subarray(0, 2 * gc.count)), wa);
  });

  it('emits only valid, mapped words of its own FPGA, in time order', () => {
    const emu = new DtEmulator(emulatorConfig({ fpga: 1, noiseRateHzPerChannel: 500 }));
    const g = emu.generate(3);
    assert.ok(g.count > 100, `only ${g.count} words`);
    let last = -Infinity;
    for (const w of decodeAll(g.words, g.count)) {
      assert.equal(w.fpga, 1);
      if (w.type === 'segment') assert.ok(w.chamber === 2 || w.chamber === 3);
      const t = (w.orbit * 3564 + w.bx) * 30 + w.tdc;
      assert.ok(t >= last, 'words out of time order');
      last = t;
    }
  });

  it('gives each muon a segment and 4 hits per chamber at 100 % efficiency, drift ≤ 390 ns', () => {
    const emu = new DtEmulator(emulatorConfig({ muonRateHz: 3000 }));
    const g = emu.generate(0);
    const words = decodeAll(g.words, g.count);
    const segments = words.filter((w) => w.type === 'segment');
    const hits = words.filter((w) => w.type === 'hit');
    assert.ok(g.muons > 0);
    assert.equal(segments.length, 2 * g.muons, 'one segment per muon and chamber of FPGA 0');
    assert.equal(hits.length, 8 * g.muons, 'four hits per muon and chamber of FPGA 0');
    assert.ok(segments.every((s) => s.type === 'segment' && s.quality === 4));
    const tns = (w: { orbit: number; bx: number; tdc: number }) =>
      (w.orbit * 3564 + w.bx) * 25 + (w.tdc * 25) / 30;
    for (const h of hits) {
      const nearest = Math.min(...segments.map((s) => Math.abs(tns(h) - tns(s))));
      assert.ok(nearest <= 390 + 10, `hit ${nearest} ns from the closest segment`);
    }
  });

  it('never emits a masked channel, neither from muons nor from noise', () => {
    const masked = new Set([channelKey(0, 1), channelKey(0, 2), channelKey(0, 33), channelKey(0, 64)]);
    const emu = new DtEmulator(emulatorConfig({ masked, noiseRateHzPerChannel: 5000, muonRateHz: 5000 }));
    let hits = 0;
    for (let tf = 0; tf < 5; tf++) {
      const g = emu.generate(tf);
      for (const w of decodeAll(g.words, g.count)) {
        if (w.type !== 'hit') continue;
        hits++;
        assert.ok(!masked.has(channelKey(w.fpga, w.channel)), `masked channel ${w.channel} fired`);
      }
    }
    assert.ok(hits > 1000);
  });

  it('fires noise at the configured rate per channel', () => {
    const emu = new DtEmulator(emulatorConfig({ muonRateHz: 0, noiseRateHzPerChannel: 1000 }));
    let hits = 0;
    const tfs = 40;
    for (let tf = 0; tf < tfs; tf++) hits += emu.generate(tf).hits;
    const seconds = (tfs * 32 * 3564 * 25) / 1e9;
    const rate = hits / seconds / 128;
    assert.ok(Math.abs(rate - 1000) < 60, `noise rate ${rate.toFixed(0)} Hz per channel`);
    const g = emu.generate(0);
    for (let i = 0; i < g.count; i++)
      assert.equal(g.words[2 * i + 1]! >>> 29, WordType.HIT, 'noise-only stream has only hits');
  });
});
