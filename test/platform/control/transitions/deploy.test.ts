import assert from 'node:assert/strict';
import { deploy } from '../../../../platform/control/transitions/deploy.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/deploy', () => {
  it('DEPLOY makes the topics, places every task and spawns each; a non-critical one that fails is handed back, not fatal', async () => {
    const env = new FakeTransitionContext(undefined, { refuse: { 'ro-0 spawn': 'no board' } });
    await deploy(env);
    assert.deepEqual(env.calls.slice(0, 2), ['topics', 'place']);
    assert.deepEqual(env.calls.slice(2).sort(), [
      'spawn proc-0',
      'spawn proc-1',
      'spawn ro-0',
      'spawn writer',
    ]);
    assert.deepEqual(env.failed, ['ro-0']);
    assert.equal(env.task('ro-0').excluded, true);
  });

  it('DEPLOY fails with TASK_FAILED naming a critical task that did not start', async () => {
    const env = new FakeTransitionContext(undefined, { refuse: { 'writer spawn': 'disk full' } });
    await assert.rejects(deploy(env), (e: unknown) => {
      const err = e as { code: string; message: string };
      return (
        err.code === 'TASK_FAILED' &&
        /DEPLOY failed for critical task\(s\): writer: disk full/.test(err.message)
      );
    });
  });

  it('DEPLOY places nothing when the cluster cannot honour the replication asked', async () => {
    const env = new FakeTransitionContext(undefined, {
      refuse: { topics: 'replication 3 needs 3 brokers; the cluster lists 1' },
    });
    await assert.rejects(deploy(env), /replication 3 needs 3 brokers/);
    assert.deepEqual(env.calls, ['topics']);
  });
});
