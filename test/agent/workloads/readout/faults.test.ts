import assert from 'node:assert/strict';
import { ChannelMap, WordType } from '../../../../protocol/index.js';
import { parseFault } from '../../../../protocol/faults.js';
import { DtEmulator } from '../../../../agent/workloads/readout/emulator.js';
import { FaultBoard, MAX_FAULTS } from '../../../../agent/workloads/readout/faults.js';
import { emulatorConfig } from '../../../helpers/pipeline.js';

const map = ChannelMap.testbed(4);
const f = (raw: object) => parseFault(raw, { chambers: 4, links: [0, 1] });

/** Hit words per chamber and segment words of one emulated timeframe. */
function census(words: Uint32Array, count: number) {
  const hits = new Map<number, number>();
  let segments = 0;
  for (let i = 0; i < count; i++) {
    const hi = words[2 * i + 1]!;
    const head = hi >>> 29;
    if (head === WordType.SEGMENT) segments++;
    if (head !== WordType.HIT) continue;
    const loc = map.locate((hi >>> 26) & 7, (hi >>> 17) & 0x1ff)!;
    hits.set(loc.chamber, (hits.get(loc.chamber) ?? 0) + 1);
  }
  return { hits, segments };
}

describe('agent/workloads/readout/faults (drill faults in the emulator)', () => {
  it('switches faults on and off at their times; a clear ends them; durations end by themselves', () => {
    const board = new FaultBoard(map, 1, 1);
    board.inject(f({ kind: 'dead-chamber', chamber: 3, atSeconds: 10 }), 1_000_000, 1_000_000);
    board.inject(
      f({ kind: 'stalled-link', link: 1, atMs: 1_020_000, durationSeconds: 5 }),
      1_000_000,
      1_000_000,
    );
    assert.equal(board.at(1_009_999).deadChambers.size, 0);
    assert.deepEqual([...board.at(1_010_000).deadChambers], [3]);
    assert.equal(board.stalledAt(1_019_999), false);
    assert.equal(board.stalledAt(1_020_000), true);
    assert.equal(board.stalledAt(1_025_000), false, 'the stall lasted its 5 s');
    board.inject(f({ kind: 'clear', atMs: 1_030_000 }), 1_000_000, 1_030_000);
    assert.equal(board.at(1_030_000).deadChambers.size, 0);
    assert.deepEqual([...board.at(1_029_999).deadChambers], [3], 'a clear does not rewrite the past');
  });

  it('holds at most MAX_FAULTS and says so', () => {
    const board = new FaultBoard(map, 0, 0);
    for (let i = 0; i < MAX_FAULTS; i++) board.inject(f({ kind: 'rate-change', muonRateHz: i + 1 }), 0, 0);
    assert.throws(
      () => board.inject(f({ kind: 'rate-change', muonRateHz: 1 }), 0, 0),
      (e: Error & { code?: string }) => e.code === 'TOO_MANY_FAULTS' && /clear them first/.test(e.message),
    );
    board.inject(f({ kind: 'clear' }), 0, 0);
    assert.equal(board.size, 0);
  });

  it('a dead chamber gives nothing; the link’s other chamber and segments stay exactly as without it', () => {
    const plain = new DtEmulator(emulatorConfig({ fpga: 1, noiseRateHzPerChannel: 200, muonRateHz: 3000 }));
    const drilled = new DtEmulator(emulatorConfig({ fpga: 1, noiseRateHzPerChannel: 200, muonRateHz: 3000 }));
    const board = new FaultBoard(map, 1, 1);
    board.inject(f({ kind: 'dead-chamber', chamber: 2 }), 0, 0);
    for (let tf = 0; tf < 20; tf++) {
      const a = plain.generate(tf);
      const wa = census(a.words, a.count);
      const b = drilled.generate(tf, board.at(0));
      const wb = census(b.words, b.count);
      assert.equal(wb.hits.get(2) ?? 0, 0, `tf ${tf}: no hit from the dead chamber`);
      assert.equal(wb.hits.get(3), wa.hits.get(3), `tf ${tf}: chamber 3 unchanged (muons still one draw)`);
      assert.ok(wb.segments <= wa.segments);
    }
  });

  it('a noisy channel fires at its rate on top of the rest; a rate change changes the rates', () => {
    const emu = new DtEmulator(emulatorConfig({ fpga: 1, noiseRateHzPerChannel: 0, muonRateHz: 0 }));
    const board = new FaultBoard(map, 1, 1);
    board.inject(f({ kind: 'noisy-channel', chamber: 2, layer: 3, cell: 7, rateHz: 100_000 }), 0, 0);
    let hits = 0;
    const tfs = 50;
    for (let tf = 0; tf < tfs; tf++) {
      const g = emu.generate(tf, board.at(0));
      const { fpga, channel } = map.channelOf(2, 3, 7)!;
      for (let i = 0; i < g.count; i++) {
        const hi = g.words[2 * i + 1]!;
        assert.equal((hi >>> 26) & 7, fpga);
        assert.equal((hi >>> 17) & 0x1ff, channel);
      }
      hits += g.count;
    }
    const seconds = (tfs * 32 * 3564 * 25) / 1e9;
    assert.ok(Math.abs(hits / seconds / 100_000 - 1) < 0.05, `${hits / seconds} Hz`);
    const other = new FaultBoard(map, 0, 0);
    other.inject(f({ kind: 'noisy-channel', chamber: 2, layer: 3, cell: 7 }), 0, 0);
    assert.equal(
      emu.generate(0, other.at(0)).count,
      0,
      'a channel of another link is not this link’s to fire',
    );
    const rates = new FaultBoard(map, 1, 1);
    rates.inject(f({ kind: 'rate-change', noiseRateHzPerChannel: 1000 }), 0, 0);
    assert.ok(emu.generate(1, rates.at(0)).count > 100);
  });
});
