import assert from 'node:assert/strict';
import { RunbookActions } from '../../../platform/recovery/actions.js';
import { environments, miniEnvironment, taskReport } from '../../helpers/environments.js';

function actions() {
  const h = environments();
  const env = miniEnvironment(h);
  const audited: string[] = [];
  const a = new RunbookActions({
    environments: h.repo,
    driver: h.driver,
    transition: (id, t) => env.transition(t).then(() => id),
    audit: (e) => audited.push(`${e.action} ${e.target}`),
  });
  return { ...h, env, a, audited };
}

describe('platform/recovery/actions', () => {
  it('finds the tasks a component stands for: a link its readout, the environment only its failed tasks', async () => {
    const { env, a } = actions();
    assert.deepEqual(a.tasksOf(env.id, { kind: 'link', id: '0' }), [], 'nothing placed before DEPLOY');
    await env.transition('DEPLOY');
    assert.deepEqual(
      a.tasksOf(env.id, { kind: 'link', id: '0' }).map((t) => t.name),
      ['ro-0'],
    );
    assert.deepEqual(a.tasksOf(env.id, { kind: 'environment', id: env.id }), []);
    await env.onTaskReport(taskReport(env.id, 'proc', 'processor', 'ERROR'));
    assert.deepEqual(
      a.tasksOf(env.id, { kind: 'environment', id: env.id }).map((t) => t.name),
      ['proc'],
    );
    assert.deepEqual(a.tasksOf('gone', { kind: 'task', id: 'proc' }), []);
  });

  it('restarts in place, excludes only what is not critical, moves away, and names what it cannot find', async () => {
    const { env, a, driver } = actions();
    await env.transition('DEPLOY');
    await env.transition('CONFIGURE');
    const pid = env.task('proc')!.pid;
    await a.restartTask(env.id, 'proc');
    assert.notEqual(env.task('proc')!.pid, pid, 'a new process');
    await a.excludeTask(env.id, 'ro-0');
    assert.equal(env.task('ro-0')!.excluded, true);
    await assert.rejects(a.excludeTask(env.id, 'proc'), /critical: it cannot be excluded/);
    const from = env.task('proc')!.node;
    await a.moveTask(env.id, 'proc');
    assert.notEqual(env.task('proc')!.node, from);
    assert.equal(env.task('proc')!.state, 'CONFIGURED');
    assert.ok(driver.find('proc') !== undefined);
    for (const act of [() => a.restartTask(env.id, 'nope'), () => a.moveTask('gone', 'proc')])
      await assert.rejects(act(), (e: unknown) => (e as { code: string }).code === 'NOT_FOUND');
  });
});
