import assert from 'node:assert/strict';
import { describeFault, faultLinks, parseFault } from '../../protocol/faults.js';

describe('protocol/faults (drill faults)', () => {
  const limits = { chambers: 4, links: [0, 1] };

  it('takes each kind with its settings and defaults', () => {
    assert.deepEqual(parseFault({ kind: 'noisy-channel', chamber: 2, layer: 3, cell: 7 }, limits), {
      kind: 'noisy-channel',
      chamber: 2,
      layer: 3,
      cell: 7,
      rateHz: 50_000,
    });
    assert.deepEqual(
      parseFault({ kind: 'dead-chamber', chamber: 3, atSeconds: 10, durationSeconds: 5 }, limits),
      {
        kind: 'dead-chamber',
        chamber: 3,
        atSeconds: 10,
        durationSeconds: 5,
      },
    );
    assert.deepEqual(parseFault({ kind: 'rate-change', muonRateHz: 3000 }, limits), {
      kind: 'rate-change',
      muonRateHz: 3000,
    });
    assert.deepEqual(parseFault({ kind: 'stalled-link', link: 1 }, limits), {
      kind: 'stalled-link',
      link: 1,
    });
    assert.deepEqual(parseFault({ kind: 'clear' }, limits), { kind: 'clear' });
  });

  it('names the field and the problem of a bad fault', () => {
    const bad: [unknown, RegExp][] = [
      [
        { kind: 'exploding-chamber' },
        /^fault\.kind: unknown fault kind "exploding-chamber" \(known: noisy-channel/,
      ],
      [
        { kind: 'dead-chamber', chamber: 4 },
        /^fault\.chamber: no chamber 4: the detector has chambers 0\.\.3/,
      ],
      [{ kind: 'noisy-channel', chamber: 1, layer: 5, cell: 1 }, /^fault\.layer: must be in 1\.\.4, got 5/],
      [{ kind: 'noisy-channel', chamber: 1, layer: 1, cell: 17 }, /^fault\.cell: must be in 1\.\.16/],
      [{ kind: 'noisy-channel', chamber: 1, layer: 1 }, /^fault\.cell: must be a number/],
      [{ kind: 'stalled-link', link: 7 }, /^fault\.link: no link 7: the environment reads links 0, 1/],
      [{ kind: 'rate-change' }, /^fault: a rate-change needs muonRateHz or noiseRateHzPerChannel/],
      [{ kind: 'dead-chamber', chamber: 1, link: 1 }, /^fault\.link: not a setting of a dead-chamber fault/],
      [{ kind: 'dead-chamber', chamber: 1.5 }, /^fault\.chamber: must be an integer/],
      [{ kind: 'clear', durationSeconds: -1 }, /^fault\.durationSeconds: must be in/],
      ['noisy', /^fault: must be an object/],
    ];
    for (const [input, message] of bad) {
      assert.throws(
        () => parseFault(input, limits),
        (err: Error & { code?: string }) => err.code === 'INVALID_FAULT' && message.test(err.message),
        JSON.stringify(input),
      );
    }
  });

  it('sends a fault to the links it concerns', () => {
    const links = [0, 1];
    assert.deepEqual(faultLinks(parseFault({ kind: 'dead-chamber', chamber: 3 }, limits), links), [1]);
    assert.deepEqual(
      faultLinks(parseFault({ kind: 'noisy-channel', chamber: 0, layer: 1, cell: 1 }, limits), links),
      [0],
    );
    assert.deepEqual(faultLinks(parseFault({ kind: 'rate-change', muonRateHz: 5 }, limits), links), [0, 1]);
    assert.match(describeFault(parseFault({ kind: 'stalled-link', link: 1 }, limits)), /stalled link 1/);
  });
});
