import assert from 'node:assert/strict';
import { ErsReporter } from '../../../lib/ers.js';
import type { ErsIssue } from '../../../protocol/ers.js';
import { AgentReconciler } from '../../../platform/agents/reconciler.js';
import { IncidentIntake } from '../../../platform/incidents/intake.js';
import { agentLostSignal } from '../../../platform/incidents/signals.js';
import { environments, miniEnvironment, noRecovery, taskReport } from '../../helpers/environments.js';
import { simulatedNode } from '../../helpers/simulated-driver.js';

function reconciler() {
  const h = environments();
  const env = miniEnvironment(h);
  const issues: ErsIssue[] = [];
  const intake = new IncidentIntake({
    store: h.store,
    environments: h.repo,
    runbooks: [],
    target: noRecovery,
  });
  const r = new AgentReconciler({
    environments: h.repo,
    ledger: h.ledger,
    driver: h.driver,
    intake,
    ers: new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
  });
  return { ...h, env, r, intake, issues };
}

describe('platform/agents/reconciler', () => {
  it('a lost node frees its resources and fails its tasks; its return resolves the AgentLost signal', async () => {
    const { env, r, intake, ledger, issues } = reconciler();
    await env.transition('DEPLOY');
    const node = env.task('proc')!.node;
    await r.lost(node);
    assert.ok(!ledger.free().some((f) => f.node === node), 'the node is out of placement');
    assert.equal(env.state, 'ERROR', 'its critical task took the environment to ERROR');
    const [inc] = intake.openWith('AgentLost', node);
    assert.equal(inc?.environment, env.id);
    assert.ok(issues.some((i) => i.name === 'daqops.platform.AgentLost'));
    await r.registered(simulatedNode(node, 1, 4), []);
    assert.ok(
      intake
        .open()
        .every((i) => i.signals.filter((s) => s.name === 'AgentLost').every((s) => s.status === 'resolved')),
      'back: the signal resolved',
    );
  });

  it('shows every task of a lost node LOST with the time, an excluded one too, never RUNNING', async () => {
    const { env, r } = reconciler();
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await env.transition(t);
    assert.equal(env.task('ro-0')!.node, env.task('proc')!.node, 'both on one node (each its own role)');
    env.exclude('ro-0', 'taken out by the shifter');
    const before = Date.now();
    await r.lost(env.task('proc')!.node);
    for (const name of ['ro-0', 'proc']) {
      const t = env.task(name)!;
      assert.equal(t.state, 'LOST', `${name} is LOST`);
      assert.ok(Date.parse(t.lostAt!) >= before - 1000, `${name} says since when`);
      assert.match(t.message!, /agent of node n\d lost/);
    }
    assert.equal(env.task('ro-0')!.excluded, true);
    assert.equal(env.state, 'ERROR', 'the lost critical processor took the environment to ERROR');
    assert.equal(env.rollUp(), 'LOST');
    // Lost twice (the watchdog again) changes nothing; the environment's EXIT ends them.
    await r.lost(env.task('proc')!.node);
    await env.transition('EXIT');
    assert.deepEqual(
      env.taskList().map((t) => t.state),
      ['DONE', 'DONE'],
    );
  });

  it('stops a copy the platform superseded while its node was cut off, and says so in ERS and on the incident', async () => {
    const { env, r, intake, issues, driver } = reconciler();
    await env.transition('DEPLOY');
    const from = env.task('proc')!.node;
    assert.equal(env.task('proc')!.generation, 1, 'the first placement');
    // The node is cut off (its incident opens) and the platform moves the task meanwhile.
    intake.signal(agentLostSignal(from, env.id, true));
    const [inc] = intake.openWith('AgentLost', from);
    assert.ok(inc !== undefined);
    await env.moveTask('proc');
    const moved = env.task('proc')!;
    assert.notEqual(moved.node, from);
    assert.equal(moved.generation, 2, 'a new placement, a new generation');
    // A heartbeat of the old copy changes nothing: it is not the task any more.
    await r.reports(moved.node, [taskReport(env.id, 'proc', 'processor', 'ERROR', { generation: 1 })]);
    assert.notEqual(env.task('proc')!.state, 'ERROR');
    // The cut-off node is back, its old copy still running: stopped, said, noted on the incident.
    driver.log.length = 0;
    await r.registered(simulatedNode(from, 1, 4), [
      taskReport(env.id, 'proc', 'processor', 'RUNNING', { pid: 4242, generation: 1 }),
    ]);
    assert.deepEqual(driver.log, [`${from} kill proc`]);
    const said = issues.find((i) => i.name === 'daqops.platform.TaskSuperseded');
    assert.match(said?.message ?? '', new RegExp(`superseded by placement 2 on ${moved.node}`));
    assert.ok(
      intake.get(inc.id)?.timeline.some((e) => /superseded by placement 2/.test(JSON.stringify(e))),
      'the incident says it',
    );
    assert.equal(env.task('proc')!.node, moved.node, 'the task stays where the platform put it');
    // A superseded copy in ERROR (a writer that found its run fenced by its successor) is a process too.
    driver.log.length = 0;
    await r.registered(simulatedNode(from, 1, 4), [
      taskReport(env.id, 'proc', 'processor', 'ERROR', { pid: 4243, generation: 1 }),
    ]);
    assert.deepEqual(driver.log, [`${from} kill proc`], 'stopped in ERROR too');
    assert.notEqual(env.task('proc')!.state, 'ERROR', 'and its ERROR is not the task’s');
  });

  it('a node lost with nothing on it is still one signal, about the node alone', async () => {
    const { r, intake } = reconciler();
    await r.lost('n2');
    const [inc] = intake.open();
    assert.deepEqual(inc?.root.component, { kind: 'node', id: 'n2' });
    assert.equal(inc?.environment, undefined);
  });

  it('reports only move tasks placed on the reporting node', async () => {
    const { env, r } = reconciler();
    await env.transition('DEPLOY');
    const node = env.task('proc')!.node;
    const report = taskReport(env.id, 'proc', 'processor', 'CONFIGURED', { pid: 9 });
    await r.reports(node === 'n1' ? 'n2' : 'n1', [report]);
    assert.equal(env.task('proc')!.state, 'STANDBY');
    await r.reports(node, [report]);
    assert.equal(env.task('proc')!.state, 'CONFIGURED');
  });
});
