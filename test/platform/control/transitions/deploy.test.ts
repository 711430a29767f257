import assert from 'node:assert/strict';
import { deploy } from '../../../../platform/control/transitions/deploy.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/deploy', () => {
  it('DEPLOY places every task and spawns each; a non-critical one that fails is handed back, not fatal', async () => {
    const env = new FakeTransitionContext(undefined, { refuse: { 'ro-0 spawn': 'no board' } });
    await deploy(env);
    assert.equal(env.calls[0], 'place');
    assert.deepEqual(env.calls.slice(1).sort(), [
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
});
