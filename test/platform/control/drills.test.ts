import assert from 'node:assert/strict';
import { FAULT_LEAD_MS, checkMasks, drillFault } from '../../../platform/control/drills.js';
import { environments, miniEnvironment } from '../../helpers/environments.js';

describe('platform/control/drills', () => {
  const create = () => {
    const h = environments();
    return miniEnvironment(h);
  };

  it('gives a drill fault a common start ahead, finds its readouts, and wants a RUNNING run', async () => {
    const env = create();
    assert.throws(
      () => drillFault(env, { kind: 'stalled-link', link: 0 }),
      /is STANDBY: drill faults need a RUNNING run/,
    );
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await env.transition(t);
    const { fault, targets } = drillFault(env, { kind: 'stalled-link', link: 0 }, 1_000_000);
    assert.equal(fault.atMs, 1_000_000 + FAULT_LEAD_MS);
    assert.deepEqual(
      targets.map((t) => t.name),
      ['ro-0'],
    );
    assert.equal(
      drillFault(env, { kind: 'clear', atSeconds: 3 }).fault.atMs,
      undefined,
      'a start it names is kept',
    );
    env.exclude('ro-0', 'taken out for the test');
    assert.throws(
      () => drillFault(env, { kind: 'stalled-link', link: 0 }),
      /no running readout of .* reads link\(s\) 0/,
    );
  });

  it('checks masks against the detector, naming the field', () => {
    const env = create();
    assert.deepEqual(checkMasks(env, [{ chamber: 3, layer: 4, cell: 16 }]), [
      { chamber: 3, layer: 4, cell: 16 },
    ]);
    for (const [cell, field] of [
      [{ chamber: 4, layer: 1, cell: 1 }, 'cells[0].chamber'],
      [{ chamber: 0, layer: 0, cell: 1 }, 'cells[0].layer'],
      [{ chamber: 0, layer: 1, cell: 17 }, 'cells[0].cell'],
      [{ chamber: 0.5, layer: 1, cell: 1 }, 'cells[0].chamber'],
    ] as const)
      assert.throws(
        () => checkMasks(env, [cell]),
        (e: unknown) => (e as { field: string }).field === field,
      );
    assert.throws(
      () =>
        checkMasks(env, [
          { chamber: 0, layer: 1, cell: 1 },
          { chamber: 0, layer: 1, cell: 1 },
        ]),
      /listed twice/,
    );
  });
});
