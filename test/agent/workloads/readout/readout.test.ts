import assert from 'node:assert/strict';
import { splitTimeframe } from '../../../../agent/workloads/readout/readout.js';
import type { FramedTimeframe } from '../../../../agent/workloads/readout/framer.js';

function framed(lead: number, main: number, trail: number): FramedTimeframe {
  return {
    timeframe: 1,
    words: new Uint32Array(2 * (lead + main + trail)),
    lead,
    main,
    trail,
    hits: main,
    segments: 0,
    late: 0,
  };
}

describe('agent/workloads/readout/readout', () => {
  it('keeps a sub-timeframe whole when it fits the message limit', () => {
    assert.deepEqual(splitTimeframe(framed(10, 100, 10), 1 << 20), [{ from: 0, to: 120 }]);
  });

  it('splits an oversized sub-timeframe into contiguous parts under the limit, covering every word once', () => {
    const f = framed(300, 5000, 200);
    const max = 8192;
    const parts = splitTimeframe(f, max);
    assert.ok(parts.length > 1);
    let next = 0;
    for (const p of parts) {
      assert.equal(p.from, next);
      assert.ok((p.to - p.from) * 8 <= max, `part of ${(p.to - p.from) * 8} bytes`);
      next = p.to;
    }
    assert.equal(next, 5500);
  });
});
