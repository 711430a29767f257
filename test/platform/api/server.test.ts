import assert from 'node:assert/strict';
import { as, setup } from '../../helpers/api.js';

describe('platform/api', () => {
  it('runs an environment through its cycle over HTTP, keeps the run registry and audits every change', async () => {
    const { app, store } = setup();
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/environments',
      headers: as('expert'),
      payload: { template: 'testbed', vars: { muonRateHz: 500 } },
    });
    assert.equal(created.statusCode, 201, created.body);
    const env = created.json<{ id: string; state: string; tasks: unknown[] }>();
    assert.equal(env.state, 'STANDBY');
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY', 'STOP_ACTIVITY']) {
      const r = await app.inject({
        method: 'POST',
        url: `/api/v1/environments/${env.id}/transitions`,
        headers: as('shifter'),
        payload: { transition: t },
      });
      assert.equal(r.statusCode, 200, `${t}: ${r.body}`);
    }
    const shown = (
      await app.inject({ method: 'GET', url: `/api/v1/environments/${env.id}`, headers: as('viewer') })
    ).json<{ state: string; run: number; tasks: { node: string }[] }>();
    assert.equal(shown.state, 'CONFIGURED');
    assert.equal(shown.run, 1);
    assert.equal(shown.tasks.length, 5);
    const run = (await app.inject({ method: 'GET', url: '/api/v1/runs/1', headers: as('viewer') })).json<{
      startedBy: string;
      vars: { muonRateHz: number };
      endCompleted: string | null;
    }>();
    assert.equal(run.startedBy, 'shifter:alice');
    assert.equal(run.vars.muonRateHz, 500);
    assert.ok(run.endCompleted !== null);
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(
      text,
      /daq_platform_transition_duration_seconds_count\{[^}]*transition="DEPLOY"[^}]*result="ok"[^}]*\} 1/,
    );
    assert.match(text, /daq_platform_environments\{[^}]*state="CONFIGURED"[^}]*\} 1/);
    assert.match(text, /daq_platform_tasks\{[^}]*state="CONFIGURED"[^}]*\} 5/);
    const audit = store.auditLog().map((a) => `${a.who} ${a.detail} ${a.result}`);
    assert.deepEqual(audit.slice(0, 4).reverse(), [
      'shifter:alice DEPLOY ok',
      'shifter:alice CONFIGURE ok',
      'shifter:alice START_ACTIVITY ok',
      'shifter:alice STOP_ACTIVITY ok',
    ]);
    assert.ok(audit.includes('expert:bob template testbed ok'));
  });

  it('answers 401 without a token, 403 for too small a role, 400 naming the bad field, 409 for an illegal transition', async () => {
    const { app, store } = setup();
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/environments' })).statusCode, 401);
    const forbidden = await app.inject({
      method: 'POST',
      url: '/api/v1/environments',
      headers: as('shifter'),
      payload: { template: 'testbed' },
    });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json<{ code: string }>().code, 'FORBIDDEN');
    const bad = await app.inject({
      method: 'POST',
      url: '/api/v1/environments',
      headers: as('expert'),
      payload: { templ: 'x' },
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ message: string }>().message, /template/);
    const missing = await app.inject({
      method: 'POST',
      url: '/api/v1/environments',
      headers: as('expert'),
      payload: { template: 'nope' },
    });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json<{ message: string }>().message, /no template nope \(known: testbed\)/);
    const env = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/environments',
        headers: as('expert'),
        payload: { template: 'testbed' },
      })
    ).json<{ id: string }>();
    const illegal = await app.inject({
      method: 'POST',
      url: `/api/v1/environments/${env.id}/transitions`,
      headers: as('shifter'),
      payload: { transition: 'START_ACTIVITY' },
    });
    assert.equal(illegal.statusCode, 409);
    assert.match(
      illegal.json<{ message: string }>().message,
      /STANDBY cannot take transition START_ACTIVITY/,
    );
    const unknown = await app.inject({
      method: 'POST',
      url: `/api/v1/environments/${env.id}/transitions`,
      headers: as('shifter'),
      payload: { transition: 'LAUNCH' },
    });
    assert.equal(unknown.statusCode, 400);
    const viewerTransition = await app.inject({
      method: 'POST',
      url: `/api/v1/environments/${env.id}/transitions`,
      headers: as('viewer'),
      payload: { transition: 'DEPLOY' },
    });
    assert.equal(viewerTransition.statusCode, 403);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/audit', headers: as('expert') })).statusCode,
      403,
    );
    const results = store.auditLog().map((a) => a.result);
    assert.ok(results.includes('forbidden') && results.includes('error'));
  });

  it('describes itself at /openapi.json', async () => {
    const { app } = setup();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/environments/{id}/transitions']?.['post'] !== undefined);
    assert.ok(doc.paths['/api/v1/runs/{run}']?.['get'] !== undefined);
  });
});

describe('platform/api bounds', () => {
  it('refuses an environment of 1e308 processors with 422 naming the field, and stays up', async () => {
    const { app } = setup();
    const r = await app.inject({
      method: 'POST',
      url: '/api/v1/environments',
      headers: as('expert'),
      payload: { template: 'testbed', vars: { processors: 1e308 } },
    });
    assert.equal(r.statusCode, 422, r.body);
    assert.match(
      r.json<{ message: string }>().message,
      /roles\[1\]\.tasks\[0\]\.replicas: must be at most 16384/,
    );
    const list = await app.inject({ method: 'GET', url: '/api/v1/environments', headers: as('viewer') });
    assert.equal(list.statusCode, 200);
  });
});

describe('platform/api drill faults', () => {
  async function running(app: ReturnType<typeof setup>['app']): Promise<string> {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/environments',
      headers: as('expert'),
      payload: { template: 'testbed' },
    });
    const id = created.json<{ id: string }>().id;
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY']) {
      const r = await app.inject({
        method: 'POST',
        url: `/api/v1/environments/${id}/transitions`,
        headers: as('shifter'),
        payload: { transition: t },
      });
      assert.equal(r.statusCode, 200, r.body);
    }
    return id;
  }

  it('hands a fault to the readouts it concerns, with a common start, and audits it', async () => {
    const { app, driver, store } = setup();
    const id = await running(app);
    const t0 = Date.now();
    const r = await app.inject({
      method: 'POST',
      url: `/api/v1/environments/${id}/faults`,
      headers: as('shifter'),
      payload: { kind: 'dead-chamber', chamber: 3 },
    });
    assert.equal(r.statusCode, 202, r.body);
    assert.deepEqual(r.json<{ tasks: string[] }>().tasks, ['readout-1'], 'chamber 3 is read by link 1');
    const all = await app.inject({
      method: 'POST',
      url: `/api/v1/environments/${id}/faults`,
      headers: as('shifter'),
      payload: { kind: 'rate-change', muonRateHz: 3000 },
    });
    assert.deepEqual(all.json<{ tasks: string[] }>().tasks, ['readout-0', 'readout-1']);
    const [first, second, third] = driver.faults;
    assert.equal(first!.task, 'readout-1');
    assert.ok(
      (first!.fault as { atMs: number }).atMs >= t0 + 400,
      'starts half a second ahead, on one timeframe for all links',
    );
    assert.equal(
      (second!.fault as { atMs: number }).atMs,
      (third!.fault as { atMs: number }).atMs,
      'both links get the same start',
    );
    assert.ok(
      store.auditLog().some((a) => a.action === 'environment.fault' && /dead chamber 3/.test(a.detail)),
    );
  });

  it('refuses a bad fault naming the field, a viewer, and an environment that is not RUNNING', async () => {
    const { app, driver } = setup();
    const id = await running(app);
    const post = (payload: object, role = 'shifter', env = id) =>
      app.inject({ method: 'POST', url: `/api/v1/environments/${env}/faults`, headers: as(role), payload });
    const cases: [object, number, RegExp][] = [
      // What the schema takes but the detector does not have: 422 naming the field.
      [{ kind: 'dead-chamber', chamber: 9 }, 422, /fault\.chamber: no chamber 9/],
      [{ kind: 'noisy-channel', chamber: 1, layer: 2 }, 422, /fault\.cell: must be a number/],
      [{ kind: 'stalled-link', link: 5 }, 422, /fault\.link: no link 5: the environment reads links 0, 1/],
      // A kind the schema does not list: 400, with the kinds it does.
      [
        { kind: 'earthquake' },
        400,
        /body\/kind must be equal to one of the allowed values: noisy-channel, dead-chamber/,
      ],
    ];
    for (const [payload, status, message] of cases) {
      const r = await post(payload);
      assert.equal(r.statusCode, status, r.body);
      assert.match(r.json<{ message: string }>().message, message);
    }
    assert.equal((await post({ kind: 'clear' }, 'viewer')).statusCode, 403);
    assert.equal((await post({ kind: 'clear' }, 'shifter', 'nope')).statusCode, 404);
    await app.inject({
      method: 'POST',
      url: `/api/v1/environments/${id}/transitions`,
      headers: as('shifter'),
      payload: { transition: 'STOP_ACTIVITY' },
    });
    const stopped = await post({ kind: 'clear' });
    assert.equal(stopped.statusCode, 409);
    assert.match(
      stopped.json<{ message: string }>().message,
      /is CONFIGURED: drill faults need a RUNNING run/,
    );
    assert.equal(driver.faults.length, 0, 'nothing reached a readout');
  });
});

describe('platform/api channel masks', () => {
  it('takes masks for the next CONFIGURE, checked against the detector, and sends them to readouts and processors', async () => {
    const { app, driver, store } = setup();
    const env = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/environments',
        headers: as('expert'),
        payload: { template: 'testbed' },
      })
    ).json<{ id: string }>();
    const put = (cells: unknown, role = 'shifter') =>
      app.inject({
        method: 'POST',
        url: `/api/v1/environments/${env.id}/masks`,
        headers: as(role),
        payload: { cells },
      });
    const bad = await put([{ chamber: 7, layer: 1, cell: 1 }]);
    assert.equal(bad.statusCode, 422, 'the schema takes chambers 0–15; this detector has 0–3');
    assert.deepEqual(
      [bad.json<{ field: string }>().field, bad.json<{ message: string }>().message],
      ['cells[0].chamber', 'cells[0].chamber: no chamber 7: the environment has chambers 0–3'],
    );
    assert.equal(
      (
        await put([
          { chamber: 1, layer: 2, cell: 3 },
          { chamber: 1, layer: 2, cell: 3 },
        ])
      ).statusCode,
      422,
    );
    assert.equal((await put([{ chamber: 1, layer: 2, cell: 3 }], 'viewer')).statusCode, 403);
    const ok = await put([{ chamber: 1, layer: 2, cell: 3 }]);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json<{ masks: unknown }>().masks, [{ chamber: 1, layer: 2, cell: 3 }]);
    for (const transition of ['DEPLOY', 'CONFIGURE'])
      await app.inject({
        method: 'POST',
        url: `/api/v1/environments/${env.id}/transitions`,
        headers: as('shifter'),
        payload: { transition },
      });
    const sent = driver.payloads.filter((p) => p.transition === 'CONFIGURE');
    const masksOf = (task: string) =>
      (sent.find((p) => p.task === task)?.payload['config'] as { maskedCells?: unknown }).maskedCells;
    assert.deepEqual(masksOf('readout-0'), [{ chamber: 1, layer: 2, cell: 3 }]);
    assert.deepEqual(masksOf('processor-1'), [{ chamber: 1, layer: 2, cell: 3 }]);
    assert.equal(masksOf('writer'), undefined, 'the writer reads no cells');
    assert.ok(store.auditLog().some((a) => a.action === 'env.masks' && a.detail === '1/2/3'));
    assert.deepEqual(
      store.environment(env.id)?.masks,
      [{ chamber: 1, layer: 2, cell: 3 }],
      'kept in the store',
    );
  });
});

describe('platform/api tokens', () => {
  it('lets an admin give a token, list the holders (never the tokens) and revoke it — and nobody else', async () => {
    const { app, store } = setup();
    const post = (url: string, payload: unknown, role = 'admin') =>
      app.inject({
        method: 'POST',
        url,
        headers: as(role),
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    assert.equal(
      (await post('/api/v1/tokens', { name: 'carol', role: 'shifter' }, 'expert')).statusCode,
      403,
    );
    const made = await post('/api/v1/tokens', { name: 'carol', role: 'shifter' });
    assert.equal(made.statusCode, 201, made.body);
    const { token } = made.json<{ token: string }>();
    assert.ok(token.length >= 24);
    const carol = { authorization: `Bearer ${token}` };
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/environments', headers: carol })).statusCode,
      200,
    );
    assert.equal(
      (await post('/api/v1/tokens', { name: 'carol', role: 'viewer' })).statusCode,
      409,
      'one token a holder',
    );
    const list = await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: as('admin') });
    assert.deepEqual(
      list.json<{ name: string; role: string }[]>().map((t) => `${t.name}:${t.role}`),
      ['alice:shifter', 'bob:expert', 'carol:shifter', 'eve:viewer', 'root:admin'],
    );
    assert.ok(!list.body.includes(token) && !list.body.includes('token-0123456789'), 'no token in the list');
    assert.equal((await post('/api/v1/tokens/carol/revoke', undefined)).statusCode, 200);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/environments', headers: carol })).statusCode,
      401,
    );
    const last = await post('/api/v1/tokens/root/revoke', undefined);
    assert.equal(last.statusCode, 409, 'the last admin stays');
    assert.match(last.json<{ message: string }>().message, /last admin token/);
    assert.deepEqual(
      store
        .auditLog()
        .filter((a) => a.action.startsWith('token.'))
        .map((a) => `${a.action} ${a.target} ${a.result}`)
        .reverse(),
      // The refusals are on record too: a second token for carol, the last admin's revoke.
      [
        'token.create carol ok',
        'token.create carol error',
        'token.revoke carol ok',
        'token.revoke root error',
      ],
    );
  });
});
