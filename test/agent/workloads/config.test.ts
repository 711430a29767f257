import assert from 'node:assert/strict';
import { ChannelMap, DaqError, channelKey, packLocation } from '../../../protocol/index.js';
import { parseWorkloadConfig } from '../../../agent/workloads/config.js';

function invalidAt(field: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DaqError, String(e));
    assert.equal(e.code, 'INVALID_CONFIG');
    assert.equal(e.field, field);
    return true;
  };
}

describe('agent/workloads/config', () => {
  const brokers = ['127.0.0.1:9092'];

  it('applies documented defaults and freezes the result', () => {
    const c = parseWorkloadConfig('readout', { link: 1 }, brokers);
    assert.equal(c.kind, 'readout');
    if (c.kind !== 'readout') return;
    assert.equal(c.fpga, 1);
    assert.equal(c.source.type, 'emulator');
    assert.equal(c.orbitsPerTimeframe, 32);
    assert.equal(c.namespace, 'daq');
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      (c as { link: number }).link = 3;
    }, TypeError);
  });

  it("sizes a readout's buffer by its source: an outage's worth for a live one, a window for one that can wait", () => {
    const buffer = (raw: Record<string, unknown>): number => {
      const c = parseWorkloadConfig('readout', { link: 0, ...raw }, brokers);
      return c.kind === 'readout' ? c.bufferBytes : NaN;
    };
    assert.equal(buffer({}), 128 << 20, 'the emulator in real time stands for a detector');
    assert.equal(buffer({ source: { type: 'tcp', port: 5000 } }), 128 << 20, "a board's stream");
    assert.equal(buffer({ pacing: 'max' }), 16 << 20, 'the emulator at pacing max waits');
    assert.equal(buffer({ source: { type: 'replay', file: '/tmp/words.bin' } }), 16 << 20, 'a replay waits');
    assert.equal(buffer({ pacing: 'max', bufferBytes: 64 << 20 }), 64 << 20, 'a template sets its own');
  });

  it('masks cells for the run: the readout drops their channels, the processor knows them, a bad cell is named', () => {
    const cells = [
      { chamber: 1, layer: 2, cell: 7 },
      { chamber: 0, layer: 4, cell: 16 },
    ];
    const r = parseWorkloadConfig('readout', { link: 0, maskedCells: cells }, brokers);
    assert.ok(r.kind === 'readout' && r.source.type === 'emulator');
    const map = ChannelMap.testbed(4);
    const keys = cells.map((c) => {
      const ch = map.channelOf(c.chamber, c.layer, c.cell)!;
      return channelKey(ch.fpga, ch.channel);
    });
    for (const k of keys) assert.ok(r.source.masked.has(k), `channel ${k} masked`);
    assert.equal(r.source.masked.size, 2);
    const p = parseWorkloadConfig('processor', { maskedCells: cells }, brokers);
    assert.deepEqual([...p.maskedCells].sort(), cells.map((c) => packLocation(c)).sort());
    for (const [bad, field] of [
      [[{ chamber: 1, layer: 5, cell: 1 }], 'processor.maskedCells[0].layer'],
      [[{ chamber: 4, layer: 1, cell: 1 }], 'processor.maskedCells[0].chamber'],
      [[{ chamber: 0, layer: 1 }], 'processor.maskedCells[0].cell'],
      ['all', 'processor.maskedCells'],
    ] as const)
      assert.throws(() => parseWorkloadConfig('processor', { maskedCells: bad }, brokers), invalidAt(field));
  });

  it('takes drill faults and data-quality thresholds from a template, naming a bad field', () => {
    const c = parseWorkloadConfig(
      'readout',
      { link: 1, faults: [{ kind: 'dead-chamber', chamber: 3, atSeconds: 20 }] },
      brokers,
    );
    assert.ok(c.kind === 'readout');
    assert.deepEqual(c.faults, [{ kind: 'dead-chamber', chamber: 3, atSeconds: 20 }]);
    assert.throws(
      () =>
        parseWorkloadConfig('readout', { link: 0, faults: [{ kind: 'dead-chamber', chamber: 7 }] }, brokers),
      (e: unknown) => invalidAt('readout.faults[0].chamber')(e) && /no chamber 7/.test((e as Error).message),
    );
    assert.throws(
      () => parseWorkloadConfig('readout', { link: 0, faults: [{ kind: 'meteor' }] }, brokers),
      invalidAt('readout.faults[0].kind'),
    );
    const p = parseWorkloadConfig('processor', { dataQuality: { noisyFactor: 8 } }, brokers);
    assert.ok(p.kind === 'processor');
    assert.equal(p.dataQuality.noisyFactor, 8);
    assert.equal(p.dataQuality.raiseAfter, 2);
    assert.throws(
      () => parseWorkloadConfig('processor', { dataQuality: { noisyFactr: 8 } }, brokers),
      invalidAt('processor.dataQuality.noisyFactr'),
    );
    assert.throws(
      () => parseWorkloadConfig('processor', { dataQuality: { efficiencyMin: 2 } }, brokers),
      invalidAt('processor.dataQuality.efficiencyMin'),
    );
  });

  it('names the field and the problem for bad values', () => {
    assert.throws(() => parseWorkloadConfig('readout', {}, brokers), invalidAt('readout.link'));
    assert.throws(
      () => parseWorkloadConfig('readout', { link: 0, pacing: 'fast' }, brokers),
      invalidAt('readout.pacing'),
    );
    assert.throws(
      () => parseWorkloadConfig('readout', { link: 0, source: { type: 'udp' } }, brokers),
      invalidAt('readout.source.type'),
    );
    assert.throws(
      () => parseWorkloadConfig('readout', { link: 0, source: { type: 'replay' } }, brokers),
      invalidAt('readout.source.file'),
    );
    assert.throws(
      () =>
        parseWorkloadConfig('readout', { link: 0, source: { masked: [{ fpga: 0, channel: 900 }] } }, brokers),
      invalidAt('readout.source.masked[0].channel'),
    );
    assert.throws(
      () => parseWorkloadConfig('readout', { link: 0, overlapNs: 2_000_000 }, brokers),
      invalidAt('readout.overlapNs'),
    );
    assert.throws(
      () => parseWorkloadConfig('processor', { links: [] }, brokers),
      invalidAt('processor.links'),
    );
    assert.throws(
      () => parseWorkloadConfig('processor', { events: { windowMinNs: 10, windowMaxNs: 5 } }, brokers),
      invalidAt('processor.events.windowMaxNs'),
    );
    assert.throws(
      () => parseWorkloadConfig('writer', { namespace: 'a.b' }, brokers),
      invalidAt('writer.namespace'),
    );
    assert.throws(() => parseWorkloadConfig('writer', {}, []), invalidAt('writer.brokers'));
  });
});
