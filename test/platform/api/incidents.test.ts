import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { startAlertmanager } from '../../helpers/alertmanager.js';
import { loadRunbooks } from '../../../platform/runbooks/runbook.js';
import type { Incident } from '../../../platform/incidents/types.js';
import { as, setup } from '../../helpers/api.js';

/** An Alertmanager webhook body (version 4) as Alertmanager sends it. */
function payload(status: 'firing' | 'resolved', more: Record<string, unknown> = {}) {
  return {
    version: '4',
    groupKey: '{}:{alertname="DaqDeadChamber"}',
    truncatedAlerts: 0,
    status,
    receiver: 'daqops',
    groupLabels: { alertname: 'DaqDeadChamber' },
    commonLabels: { alertname: 'DaqDeadChamber', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts: [
      {
        status,
        labels: {
          alertname: 'DaqDeadChamber',
          severity: 'critical',
          environment: 'testbed-abc',
          link: '1',
          chamber: '2',
        },
        annotations: { summary: 'chamber 2 gives no hits' },
        startsAt: '2026-11-22T03:00:00.000Z',
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-22T03:05:00.000Z',
        generatorURL: 'http://127.0.0.1:9090/graph',
        fingerprint: 'b1f5e0a7c3d2e419',
        ...more,
      },
    ],
  };
}

describe('platform/api incidents', () => {
  it('takes Alertmanager webhooks: a replay folds into the same signal, a resolved one resolves it', async () => {
    const { app, store } = setup({ runbooks: loadRunbooks('runbooks') });
    const post = (body: unknown, role = 'shifter') =>
      app.inject({
        method: 'POST',
        url: '/api/v1/alerts/alertmanager',
        headers: as(role),
        payload: body as object,
      });
    const first = await post(payload('firing'));
    assert.equal(first.statusCode, 200, first.body);
    const [id] = first.json<{ incidents: number[] }>().incidents;
    assert.equal((await post(payload('firing'))).json<{ incidents: number[] }>().incidents[0], id);
    let inc = (
      await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: as('viewer') })
    ).json<Incident>();
    assert.equal(inc.signals.length, 1, 'the replay is not a second signal');
    assert.equal(inc.signals[0]!.count, 2);
    assert.deepEqual(inc.root.component, { kind: 'link', id: '1' });
    assert.equal(inc.severity, 'critical');
    assert.equal(inc.runbook, 'DeadChamber');
    await post(payload('resolved'));
    inc = (
      await app.inject({ method: 'GET', url: `/api/v1/incidents/${id}`, headers: as('viewer') })
    ).json<Incident>();
    assert.equal(inc.signals[0]!.status, 'resolved');
    const all = (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: as('viewer') })).json<
      Incident[]
    >();
    assert.equal(all.length, 1);
    assert.ok(store.auditLog().some((a) => a.action === 'alerts.alertmanager' && a.who === 'shifter:alice'));
  });

  it('refuses a malformed payload with 400 naming the field, and stores nothing', async () => {
    const { app, store } = setup();
    const bad = async (body: unknown, field: RegExp) => {
      const r = await app.inject({
        method: 'POST',
        url: '/api/v1/alerts/alertmanager',
        headers: as('shifter'),
        payload: body as object,
      });
      assert.equal(r.statusCode, 400, r.body);
      const e = r.json<{ code: string; message: string }>();
      assert.equal(e.code, 'BAD_REQUEST');
      assert.match(e.message, field);
    };
    const { fingerprint: _f, ...noFingerprint } = payload('firing').alerts[0]!;
    await bad({ ...payload('firing'), alerts: [noFingerprint] }, /fingerprint/);
    await bad({ ...payload('firing'), version: '3' }, /version/);
    await bad(payload('firing', { labels: { severity: 'critical' } }), /alertname/);
    await bad(payload('firing', { startsAt: 'yesterday' }), /startsAt/);
    await bad({ ...payload('firing'), alerts: 'none' }, /alerts/);
    assert.deepEqual(store.incidents(), [], 'nothing stored');
    assert.equal(store.auditLog().filter((a) => a.action === 'alerts.alertmanager').length, 0);
    const viewer = await app.inject({
      method: 'POST',
      url: '/api/v1/alerts/alertmanager',
      headers: as('viewer'),
      payload: payload('firing'),
    });
    assert.equal(viewer.statusCode, 403);
  });

  it('acknowledges, notes, runs a manual runbook step and resolves, each on the timeline and audited', async () => {
    const { app, store } = setup({ runbooks: loadRunbooks('runbooks') });
    const [id] = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/alerts/alertmanager',
        headers: as('shifter'),
        payload: payload('firing'),
      })
    ).json<{ incidents: number[] }>().incidents;
    const call = (path: string, body?: object, role = 'shifter') =>
      app.inject({
        method: 'POST',
        url: `/api/v1/incidents/${id}/${path}`,
        headers: as(role),
        ...(body === undefined ? {} : { payload: body }),
      });
    assert.equal((await call('ack')).json<Incident>().state, 'acknowledged');
    assert.equal((await call('notes', { text: 'HV of chamber 2 tripped' })).statusCode, 200);
    assert.equal((await call('notes', { text: '' })).statusCode, 400);
    assert.equal(
      (await call('steps', { runbook: 'DeadChamber', step: 1 })).statusCode,
      403,
      'steps need an expert',
    );
    const step = await call(
      'steps',
      { runbook: 'DeadChamber', step: 1, outcome: 'HV back at 3.6 kV' },
      'expert',
    );
    assert.equal(step.statusCode, 200, step.body);
    assert.equal(step.json<{ ok: boolean }>().ok, true);
    assert.equal((await call('steps', { runbook: 'Nope', step: 0 }, 'expert')).statusCode, 404);
    const done = (await call('resolve', { note: 'chamber back' })).json<Incident>();
    assert.equal(done.state, 'resolved');
    assert.equal(done.resolvedBy, 'shifter:alice');
    assert.deepEqual(
      done.timeline
        .filter((e) => e.who !== undefined && !e.who.startsWith('platform'))
        .map((e) => [e.kind, e.who]),
      [
        ['state', 'shifter:alice'],
        ['note', 'shifter:alice'],
        ['action', 'expert:bob'],
        ['note', 'shifter:alice'],
        ['state', 'shifter:alice'],
      ],
    );
    assert.ok(done.timeline.some((e) => /HV back at 3.6 kV/.test(e.text)));
    const actions = store.auditLog().map((a) => a.action);
    for (const a of ['incident.ack', 'incident.note', 'recovery.manual', 'incident.resolve'])
      assert.ok(actions.includes(a), a);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents/999', headers: as('viewer') })).statusCode,
      404,
    );
    const books = (await app.inject({ method: 'GET', url: '/api/v1/runbooks', headers: as('viewer') })).json<
      { name: string }[]
    >();
    assert.deepEqual(
      books.map((b) => b.name),
      loadRunbooks('runbooks').map((b) => b.name),
    );
  });
});

describe('platform/api incidents with a real Alertmanager', function () {
  this.timeout(60_000);

  it('receives what Alertmanager sends: firing, then resolved, one signal for the repeated alert', async function () {
    const { app, platform } = setup({ runbooks: loadRunbooks('runbooks') });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const am = await startAlertmanager(
      `http://127.0.0.1:${port}/api/v1/alerts/alertmanager`,
      'shifter-token-0123456789',
    );
    try {
      const alert = (endsAt?: string) => ({
        labels: {
          alertname: 'DaqConsumerLagGrowing',
          severity: 'warning',
          environment: 'testbed-xyz',
          task: 'processor-1',
        },
        annotations: { summary: 'processor-1 lag grows' },
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        ...(endsAt === undefined ? {} : { endsAt }),
      });
      await am.post([alert()]);
      await am.post([alert()]);
      const until = async (what: string, ok: () => boolean) => {
        const deadline = Date.now() + 30_000;
        while (!ok()) {
          if (Date.now() > deadline) throw new Error(`no ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until('incident', () => platform.incidents.open().length > 0);
      const inc = platform.incidents.open()[0]!;
      assert.equal(inc.signals.length, 1);
      assert.equal(inc.root.name, 'DaqConsumerLagGrowing');
      assert.deepEqual(inc.root.component, { kind: 'task', id: 'processor-1' });
      assert.equal(inc.runbook, 'ConsumerLagGrowing');
      await am.post([alert(new Date().toISOString())]);
      await until('resolved signal', () => inc.signals[0]!.status === 'resolved');
      assert.equal(platform.incidents.list().length, 1);
    } finally {
      await am.stop();
      await app.close();
    }
  });
});
