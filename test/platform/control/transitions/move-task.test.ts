import assert from 'node:assert/strict';
import { moveTask } from '../../../../platform/control/transitions/move-task.js';
import { environments, miniEnvironment } from '../../../helpers/environments.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/move-task', () => {
  it('in RUNNING: placed anew, spawned, configured and started with the run and its clock', async () => {
    const env = new FakeTransitionContext(undefined, {
      state: 'RUNNING',
      placedIn: 'RUNNING',
      run: 7,
      epochMs: 1234,
    });
    const r = await moveTask(env, 'ro-0');
    assert.equal(r.state, 'RUNNING');
    assert.deepEqual(env.calls, ['replace ro-0', 'spawn ro-0', 'CONFIGURE ro-0', 'START ro-0']);
    assert.deepEqual(env.payloads[1]!.payload, { run: 7, epochMs: 1234 }, 'the first role gets the clock');
    assert.equal((env.payloads[0]!.payload['config'] as Record<string, unknown>)['namespace'], 'ns-1');
  });

  it('refuses where no task can run (ERROR, STANDBY) and names an unknown task', async () => {
    const standby = new FakeTransitionContext(undefined, { placedIn: 'STANDBY' });
    await assert.rejects(moveTask(standby, 'proc-0'), /is STANDBY: no task can be moved/);
    const error = new FakeTransitionContext(undefined, { state: 'ERROR', placedIn: 'ERROR' });
    await assert.rejects(moveTask(error, 'proc-0'), /is ERROR: no task can be moved/);
    await assert.rejects(
      moveTask(error, 'nope'),
      (e: unknown) => (e as { code: string }).code === 'NOT_FOUND',
    );
    assert.deepEqual([...standby.calls, ...error.calls], [], 'nothing was touched');
  });

  it('through the environment: killed where it was, configured elsewhere, its report applied', async () => {
    const h = environments();
    const env = miniEnvironment(h);
    await env.transition('DEPLOY');
    await env.transition('CONFIGURE');
    const from = env.task('proc')!.node;
    h.driver.log.length = 0;
    await env.moveTask('proc');
    const to = env.task('proc')!.node;
    assert.notEqual(to, from);
    assert.equal(env.task('proc')!.state, 'CONFIGURED');
    assert.deepEqual(h.driver.log, [`${from} kill proc`, `${to} spawn proc`, `${to} CONFIGURE proc`]);
  });
});
