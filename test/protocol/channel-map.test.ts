import assert from 'node:assert/strict';
import { ChannelMap, DaqError } from '../../protocol/index.js';

describe('protocol/channel-map', () => {
  const map = ChannelMap.testbed(4);

  it('follows the DT testbed wiring: chamber = 2·fpga + (channel > 64), layer from channel mod 4', () => {
    assert.deepEqual(map.locate(0, 1), { chamber: 0, layer: 1, cell: 1 });
    assert.deepEqual(map.locate(0, 2), { chamber: 0, layer: 3, cell: 1 });
    assert.deepEqual(map.locate(0, 3), { chamber: 0, layer: 2, cell: 1 });
    assert.deepEqual(map.locate(0, 4), { chamber: 0, layer: 4, cell: 1 });
    assert.deepEqual(map.locate(0, 64), { chamber: 0, layer: 4, cell: 16 });
    assert.deepEqual(map.locate(0, 65), { chamber: 1, layer: 1, cell: 1 });
    assert.deepEqual(map.locate(1, 128), { chamber: 3, layer: 4, cell: 16 });
    assert.equal(map.locate(0, 0), undefined);
    assert.equal(map.locate(0, 129), undefined);
    assert.equal(map.locate(2, 1), undefined);
    assert.deepEqual(map.chambers, [0, 1, 2, 3]);
  });

  it('maps every cell of every chamber exactly once', () => {
    const seen = new Set<string>();
    for (const e of map.entries) seen.add(`${e.chamber}/${e.layer}/${e.cell}`);
    assert.equal(map.entries.length, 4 * 64);
    assert.equal(seen.size, 4 * 64);
    assert.deepEqual(map.channelOf(2, 3, 5), { fpga: 1, channel: 18 });
  });

  it('names the entry and field of a bad custom map', () => {
    assert.throws(
      () => ChannelMap.fromEntries([{ fpga: 0, channel: 1, chamber: 0, layer: 5, cell: 1 }]),
      (e: unknown) => e instanceof DaqError && e.field === 'entries[0].layer' && /1\.\.4/.test(e.message),
    );
    assert.throws(
      () =>
        ChannelMap.fromEntries([
          { fpga: 0, channel: 1, chamber: 0, layer: 1, cell: 1 },
          { fpga: 0, channel: 1, chamber: 0, layer: 1, cell: 2 },
        ]),
      (e: unknown) =>
        e instanceof DaqError && e.field === 'entries[1].channel' && /entries\[0\]/.test(e.message),
    );
    assert.throws(
      () =>
        ChannelMap.fromEntries([
          { fpga: 0, channel: 1, chamber: 0, layer: 1, cell: 1 },
          { fpga: 0, channel: 2, chamber: 0, layer: 1, cell: 1 },
        ]),
      (e: unknown) => e instanceof DaqError && e.field === 'entries[1].cell',
    );
    const custom = ChannelMap.fromEntries([{ fpga: 3, channel: 200, chamber: 9, layer: 2, cell: 7 }]);
    assert.deepEqual(custom.locate(3, 200), { chamber: 9, layer: 2, cell: 7 });
  });
});
