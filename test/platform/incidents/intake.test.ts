import assert from 'node:assert/strict';
import { IncidentIntake } from '../../../platform/incidents/intake.js';
import { Metrics } from '../../../lib/metrics.js';
import { environments, miniEnvironment, noRecovery, taskReport } from '../../helpers/environments.js';

function intake() {
  const h = environments();
  const env = miniEnvironment(h);
  const metrics = new Metrics({ task: 'platform' }, { processMetrics: false });
  const i = new IncidentIntake({
    store: h.store,
    environments: h.repo,
    target: noRecovery,
    runbooks: [],
    metrics,
  });
  return { ...h, env, i, metrics };
}

const alerts = (env: string, n: number, status: 'firing' | 'resolved' = 'firing') => ({
  version: '4',
  groupKey: 'g',
  status,
  receiver: 'daqops',
  alerts: Array.from({ length: n }, (_, k) => ({
    status,
    labels: {
      alertname: 'DaqChannelNoisy',
      severity: 'warning',
      environment: env,
      link: '0',
      channel: String(k),
    },
    annotations: { summary: `channel ${k}` },
    startsAt: new Date().toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    fingerprint: `f${k}`,
  })),
});

describe('platform/incidents/intake', () => {
  it('folds a webhook in slices into one incident, stored before it answers; duplicates and resolutions fold too', async () => {
    const { env, i, store } = intake();
    assert.deepEqual(await i.alertmanager(alerts(env.id, 1000)), [1]);
    assert.equal(store.incident(1)?.signals.length, 1000, 'all of it on disk');
    assert.deepEqual(await i.alertmanager(alerts(env.id, 1000)), [1], 'the same alerts again: duplicates');
    assert.equal(i.get(1).signals.length, 1000);
    assert.equal(i.get(1).signals[0]!.count, 2);
    await i.alertmanager(alerts(env.id, 1000, 'resolved'));
    assert.ok(store.incident(1)!.signals.every((s) => s.status === 'resolved'));
  });

  it('lets people act on live incidents only: ack or note a resolved one is 409, resolving again answers it as it is', async () => {
    const { env, i } = intake();
    await i.alertmanager(alerts(env.id, 1));
    assert.equal(i.acknowledge(1, 'shifter:alice').state, 'acknowledged');
    assert.equal(i.note(1, 'shifter:alice', 'looking').timeline.at(-1)?.text, 'looking');
    const resolved = i.resolve(1, 'shifter:alice', 'fixed the cable');
    assert.equal(resolved.state, 'resolved');
    assert.equal(resolved.timeline.filter((e) => e.kind === 'note').length, 2);
    assert.equal(i.resolve(1, 'shifter:bob').resolvedBy, 'shifter:alice', 'resolved once');
    for (const act of [() => i.acknowledge(1, 'x'), () => i.note(1, 'x', 'late')])
      assert.throws(act, (e: unknown) => (e as { code: string }).code === 'ILLEGAL_TRANSITION');
    assert.throws(
      () => i.get(99),
      (e: unknown) => (e as { code: string }).code === 'NOT_FOUND',
    );
    await assert.rejects(
      i.step(1, { runbook: 'Nope', step: 0 }, 'x'),
      (e: unknown) => (e as { code: string; field: string }).field === 'runbook',
    );
  });

  it('counts ERS issues by severity and turns an unexpected exit into a signal about the task', async () => {
    const { env, i, metrics } = intake();
    await env.transition('DEPLOY');
    const node = env.task('proc')!.node;
    const exited = taskReport(env.id, 'proc', 'processor', 'ERROR', { message: 'signal SIGKILL' });
    i.taskEvent(node, exited, 'exited');
    i.taskEvent('elsewhere', exited, 'exited');
    const [inc] = i.open();
    assert.deepEqual(inc?.root.component, { kind: 'task', id: 'proc' });
    assert.equal(inc?.signals.length, 1, 'a report from another node is not about this task');
    i.ersIssue({
      severity: 'Warning',
      name: 'daqops.processor.NoisyChannel',
      message: 'noisy',
      time: new Date().toISOString(),
      context: { application: 'daqops-processor', environment: env.id, task: 'proc', host: 'h', pid: 1 },
      parameters: { component: 'link:0' },
      qualifiers: [],
      causes: [],
    } as never);
    assert.match(await metrics.text(), /daq_platform_ers_issues_total\{[^}]*severity="Warning"[^}]*\} 1/);
  });
});
