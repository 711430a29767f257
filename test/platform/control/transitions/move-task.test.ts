import assert from 'node:assert/strict';
import { moveTask } from '../../../../platform/control/transitions/move-task.js';
import { environments, miniEnvironment } from '../../../helpers/environments.js';

describe('platform/control/transitions/move-task', () => {
  const create = () => {
    const h = environments();
    const env = miniEnvironment(h);
    return { ...h, env };
  };

  it('in CONFIGURED: spawned elsewhere and configured with the configuration CONFIGURE sent, not started', async () => {
    const { env, driver } = create();
    await env.transition('DEPLOY');
    await env.transition('CONFIGURE');
    const from = env.tasks.get('proc')!.node;
    driver.log.length = 0;
    driver.payloads.length = 0;
    const r = await moveTask(env, 'proc');
    const to = env.tasks.get('proc')!.node;
    assert.notEqual(to, from);
    assert.equal(r.state, 'CONFIGURED');
    assert.deepEqual(driver.log, [`${from} kill proc`, `${to} spawn proc`, `${to} CONFIGURE proc`]);
    const cfg = driver.payloads[0]!.payload['config'] as Record<string, unknown>;
    assert.equal(cfg['namespace'], env.namespace);
    assert.equal(cfg['task'], 'proc');
  });

  it('refuses where no task can run (ERROR, STANDBY) and names an unknown task', async () => {
    const { env } = create();
    await assert.rejects(moveTask(env, 'proc'), /not found|no task proc|is STANDBY/);
    await env.transition('DEPLOY');
    await assert.rejects(moveTask(env, 'nope'), (e: unknown) => (e as { code: string }).code === 'NOT_FOUND');
    env.fail();
    await assert.rejects(moveTask(env, 'proc'), /is ERROR: no task can be moved/);
  });
});
