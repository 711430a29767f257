/**
 * What a hostile or careless client once did to the API (issue 12's probes), each a regression test:
 * arbitrary template paths, file contents echoed in errors, a named pipe blocking the server, coerced
 * types, validation before authentication, error codes outside the catalogue, and an alert storm.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCodes } from '../../../protocol/errors.js';
import { projectRoot } from '../../../lib/paths.js';
import { as, setup } from '../../helpers/api.js';
import { minimalTemplate } from '../../helpers/environments.js';

type App = ReturnType<typeof setup>['app'];
const UPLOADED = minimalTemplate('up');
const post = (app: App, url: string, payload: unknown, role?: string, type = 'application/json') =>
  app.inject({
    method: 'POST',
    url,
    headers: { ...(role === undefined ? {} : as(role)), 'content-type': type },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
type Res = Awaited<ReturnType<typeof post>>;
const body = (r: Res) => r.json<{ code: string; message: string; field?: string }>();

async function environment(app: App): Promise<string> {
  const r = await post(app, '/api/v1/environments', { template: 'testbed' }, 'expert');
  assert.equal(r.statusCode, 201, r.body);
  return r.json<{ id: string }>().id;
}

describe('platform/api hardening', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'daqops-harden-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes templates only by name or uploaded: no path on the host is read', async () => {
    const { app } = setup();
    for (const template of [
      '/etc/passwd',
      '../../etc/passwd',
      'deploy/templates/testbed.yaml',
      'testbed.yaml',
    ]) {
      const r = await post(app, '/api/v1/environments', { template }, 'expert');
      assert.equal(r.statusCode, 400, `${template}: ${r.body}`);
      assert.equal(body(r).code, 'BAD_REQUEST');
      assert.equal(body(r).field, 'body/template');
    }
    const up = await post(app, '/api/v1/environments', { templateYaml: UPLOADED }, 'expert');
    assert.equal(up.statusCode, 201, up.body);
    const both = await post(
      app,
      '/api/v1/environments',
      { template: 'testbed', templateYaml: 'x' },
      'expert',
    );
    assert.equal(both.statusCode, 400, 'one source, not two');
    const list = await app.inject({ method: 'GET', url: '/api/v1/templates', headers: as('viewer') });
    assert.deepEqual(list.json(), ['testbed']);
  });

  it('says where a template is broken, never what the line says', async () => {
    const { app } = setup();
    const secret = 'tok-s3cr3t-0123456789abcdef';
    const r = await post(
      app,
      '/api/v1/environments',
      { templateYaml: `name: x\nroles:\n  - name: a\n   token: ${secret}: [\n` },
      'expert',
    );
    assert.equal(r.statusCode, 422, 'the schema takes any text; the text does not hold up');
    assert.equal(body(r).code, 'INVALID_TEMPLATE');
    assert.match(body(r).message, /uploaded template: not valid YAML at line \d+, column \d+/);
    assert.ok(!r.body.includes(secret), r.body);
  });

  it('answers a step the runbook does not have with 422 INVALID_STEP, naming the range', async () => {
    const { app, platform } = setup({
      runbooks: (await import('../../../platform/runbooks/runbook.js')).loadRunbooks('runbooks'),
    });
    const id = await environment(app);
    seedIncident(platform, id, 'harden-step');
    // A whole number the schema takes, but a step the runbook does not have: 422, naming the range.
    const past = await post(
      app,
      '/api/v1/incidents/1/steps',
      { runbook: 'TransitionTimeout', step: 137 },
      'expert',
    );
    assert.equal(past.statusCode, 422, past.body);
    assert.equal(body(past).code, 'INVALID_STEP');
    assert.match(body(past).message, /has steps 0–\d+/);
  });

  it('coerces no type: null, true, false, Infinity, 0x10 and 4.0 are refused where a number or text is due', async () => {
    const { app, platform } = setup();
    const id = await environment(app);
    seedIncident(platform, id, 'harden-1');
    for (const step of [null, true, '0', 0.5, -1]) {
      const r = await post(
        app,
        '/api/v1/incidents/1/steps',
        { runbook: 'TransitionTimeout', step },
        'expert',
      );
      assert.equal(r.statusCode, 400, `step ${JSON.stringify(step)}: ${r.body}`);
      assert.equal(body(r).field, '/body/step'.slice(1));
    }
    for (const text of [false, 0, null, '']) {
      const r = await post(app, '/api/v1/incidents/1/notes', { text }, 'shifter');
      assert.equal(r.statusCode, 400, `text ${JSON.stringify(text)}`);
    }
    for (const bad of ['Infinity', '0x10', '4.0', '1e3', '-1', '0', '01']) {
      const r = await app.inject({ method: 'GET', url: `/api/v1/incidents/${bad}`, headers: as('viewer') });
      assert.equal(r.statusCode, 400, `id ${bad}: ${r.body}`);
      const run = await app.inject({ method: 'GET', url: `/api/v1/runs/${bad}`, headers: as('viewer') });
      assert.equal(run.statusCode, 400, `run ${bad}`);
    }
    const vars = await post(
      app,
      '/api/v1/environments',
      { template: 'testbed', vars: { muonRateHz: null } },
      'expert',
    );
    assert.equal(vars.statusCode, 400);
    const inc = (
      await app.inject({ method: 'GET', url: '/api/v1/incidents/1', headers: as('viewer') })
    ).json<{ timeline: { kind: string }[] }>();
    assert.ok(
      !inc.timeline.some((e) => e.kind === 'action' || e.kind === 'note'),
      'nothing ran, nothing noted',
    );
  });

  it('checks the token before it reads the body: 401 (audited) for no token whatever was sent', async () => {
    const { app, store } = setup();
    const cases: [unknown, string][] = [
      [{ templ: 'x' }, 'application/json'],
      ['{not json', 'application/json'],
      ['plain text', 'text/plain'],
      [{ templateYaml: 'x'.repeat(2 * 1024 * 1024) }, 'application/json'],
    ];
    for (const [payload, type] of cases) {
      const r = await post(app, '/api/v1/environments', payload, undefined, type);
      assert.equal(r.statusCode, 401, `${type} ${String(payload).slice(0, 20)}: ${r.body}`);
      assert.equal(body(r).code, 'UNAUTHORIZED');
    }
    assert.equal(store.auditLog().filter((a) => a.result === 'unauthorized').length, cases.length);
    const viewer = await post(app, '/api/v1/environments', '{not json', 'viewer');
    assert.equal(viewer.statusCode, 403, 'a role too small is refused before the body too');
  });

  it('answers bad bodies and URLs with catalogued codes: 400, 413, 415, never INTERNAL', async () => {
    const { app } = setup();
    const cases: [number, string, () => Promise<Res>][] = [
      [400, 'BAD_REQUEST', () => post(app, '/api/v1/environments', '{not json', 'expert')],
      [415, 'UNSUPPORTED_MEDIA_TYPE', () => post(app, '/api/v1/environments', 'x', 'expert', 'text/plain')],
      [
        413,
        'PAYLOAD_TOO_LARGE',
        () => post(app, '/api/v1/environments', { templateYaml: 'x'.repeat(2 * 1024 * 1024) }, 'expert'),
      ],
      [
        400,
        'BAD_REQUEST',
        () => app.inject({ method: 'GET', url: '/api/v1/incidents/%E0%A4%A', headers: as('viewer') }),
      ],
      [
        404,
        'NOT_FOUND',
        () => app.inject({ method: 'GET', url: '/api/v1/environments/nope-000000', headers: as('viewer') }),
      ],
      [404, 'NOT_FOUND', () => app.inject({ method: 'GET', url: '/api/v2/anything', headers: as('viewer') })],
    ];
    for (const [status, code, send] of cases) {
      const r = await send();
      assert.equal(r.statusCode, status, r.body);
      assert.deepEqual(
        Object.keys(body(r))
          .filter((k) => k !== 'field')
          .sort(),
        ['code', 'message'],
      );
      assert.equal(body(r).code, code);
      assert.ok((errorCodes as readonly string[]).includes(body(r).code));
    }
  });

  it('answers a failed critical task with 502 TASK_FAILED and an unknown environment with 404', async () => {
    const { app, driver } = setup();
    const id = await environment(app);
    assert.equal(
      (await post(app, `/api/v1/environments/${id}/transitions`, { transition: 'DEPLOY' }, 'shifter'))
        .statusCode,
      200,
    );
    driver.failOn.set('writer', 'CONFIGURE');
    const r = await post(
      app,
      `/api/v1/environments/${id}/transitions`,
      { transition: 'CONFIGURE' },
      'shifter',
    );
    assert.equal(r.statusCode, 502, r.body);
    assert.equal(body(r).code, 'TASK_FAILED');
    assert.match(
      body(r).message,
      /CONFIGURE failed for critical task\(s\): writer: writer refuses CONFIGURE/,
    );
    const env = (
      await app.inject({ method: 'GET', url: `/api/v1/environments/${id}`, headers: as('viewer') })
    ).json<{ state: string }>();
    assert.equal(env.state, 'ERROR');
    const gone = await post(
      app,
      '/api/v1/environments/nope-000000/transitions',
      { transition: 'EXIT' },
      'shifter',
    );
    assert.equal(gone.statusCode, 404);
    assert.equal(body(gone).field, 'id');
  });

  it('answers a failed critical hook with 502 HOOK_FAILED naming the hook, not a 500', async () => {
    const { app } = setup();
    // A hook whose service is not there: the connection is refused.
    const yaml = `${minimalTemplate('hooked')}hooks:
  - { name: notify-elog, trigger: before_DEPLOY, critical: true, call: { http: { url: "http://127.0.0.1:1/elog" } } }
`;
    const created = await post(app, '/api/v1/environments', { templateYaml: yaml }, 'expert');
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json<{ id: string }>().id;
    const r = await post(app, `/api/v1/environments/${id}/transitions`, { transition: 'DEPLOY' }, 'shifter');
    assert.equal(r.statusCode, 502, r.body);
    assert.equal(body(r).code, 'HOOK_FAILED');
    assert.equal(body(r).field, 'hooks.notify-elog');
    assert.match(body(r).message, /hook notify-elog/);
  });

  it('shows runbooks without host paths', async () => {
    const { app } = setup({
      runbooks: (await import('../../../platform/runbooks/runbook.js')).loadRunbooks('runbooks'),
    });
    const r = await app.inject({
      method: 'GET',
      url: '/api/v1/runbooks/WorkloadCrash',
      headers: as('viewer'),
    });
    assert.equal(r.statusCode, 200);
    assert.ok(!('file' in r.json<object>()));
    assert.ok(!r.body.includes(projectRoot()), 'no absolute path of the host');
  });

  it('documents every route completely: path parameters, required bodies, each response with a schema', async () => {
    const { app } = setup();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>();
    let ops = 0;
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods)) {
        ops++;
        const where = `${method} ${path}`;
        const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const params = ((op['parameters'] ?? []) as { name: string; in: string; required: boolean }[]).filter(
          (p) => p.in === 'path',
        );
        assert.deepEqual(
          params.map((p) => p.name),
          names,
          `${where}: path parameters`,
        );
        assert.ok(
          params.every((p) => p.required),
          where,
        );
        const rb = op['requestBody'] as { required: boolean } | undefined;
        if (method === 'post' && !/\/(ack|revoke)$/.test(path))
          assert.ok(rb !== undefined, `${where}: no request body documented`);
        const responses = op['responses'] as Record<string, { content?: unknown }>;
        for (const s of ['400', '401', '403', '500'])
          assert.ok(responses[s] !== undefined, `${where}: no ${s}`);
        for (const [s, r] of Object.entries(responses))
          assert.ok(r.content !== undefined, `${where}: response ${s} has no schema`);
        assert.ok(
          Object.keys(responses).some((s) => s.startsWith('2')),
          `${where}: no success response`,
        );
      }
    // The document and the routes fastify serves agree, both ways.
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    for (const op of documented) {
      const [method, url] = op.split(' ') as ['GET' | 'POST', string];
      assert.ok(app.hasRoute({ method, url }), `${op} is documented but not served`);
    }
    // printRoutes draws a tree: each line's depth is where its branch starts, its path is its parent's + its own.
    const served: string[] = [];
    const stack: string[] = [];
    for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^(.*?)[├└]── (\S+) \(([A-Z, ]+)\)/.exec(line);
      if (m === null) continue;
      stack.length = m[1]!.length / 4;
      stack.push(m[2]!);
      const url = stack.join('');
      if (url.startsWith('/api/v1'))
        for (const method of m[3]!.split(', ')) if (method !== 'HEAD') served.push(`${method} ${url}`);
    }
    assert.equal(documented.size, ops);
    // Whatever else a documented path is served with answers 405 naming the methods it takes.
    for (const op of served.filter((o) => !documented.has(o))) {
      const [method, url] = op.split(' ') as [string, string];
      const path = url.replace(/:(\w+)/g, (_m, p: string) => (p === 'id' || p === 'run' ? '1' : 'x'));
      const takes = [...documented].filter((d) => d.endsWith(` ${url}`)).map((d) => d.split(' ')[0]!);
      assert.ok(takes.length > 0, `${op} is served on a path that is not documented`);
      const r = await app.inject({ method: method as 'GET', url: path, headers: as('admin') });
      assert.equal(r.statusCode, 405, `${op}: ${r.body}`);
      assert.equal(r.json<{ code: string }>().code, 'METHOD_NOT_ALLOWED');
      const allow = String(r.headers['allow']).split(', ');
      for (const m of takes) assert.ok(allow.includes(m), `${op}: Allow ${r.headers['allow']} lacks ${m}`);
    }
  });

  it('folds a 10,000-alert Alertmanager group into one incident and stays correct about it', async function () {
    this.timeout(60_000);
    const { app, platform } = setup();
    const id = await environment(app);
    const alerts = Array.from({ length: 10_000 }, (_, i) => ({
      status: 'firing',
      labels: {
        alertname: 'DaqChannelNoisy',
        severity: 'warning',
        environment: id,
        link: '0',
        channel: String(i),
      },
      annotations: { summary: `channel ${i} noisy` },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: `fp-${i}`,
    }));
    const r = await post(
      app,
      '/api/v1/alerts/alertmanager',
      { version: '4', groupKey: 'storm', status: 'firing', receiver: 'daqops', alerts },
      'shifter',
    );
    assert.equal(r.statusCode, 200, r.body.slice(0, 300));
    assert.deepEqual(r.json<{ incidents: number[] }>().incidents, [1]);
    const inc = platform.incidents.get(1);
    assert.equal(inc.signals.length, 10_000);
    assert.deepEqual(inc.root.component, { kind: 'link', id: '0' });
    const tooMany = await post(
      app,
      '/api/v1/alerts/alertmanager',
      {
        version: '4',
        groupKey: 'storm',
        status: 'firing',
        receiver: 'daqops',
        alerts: [...alerts, ...alerts, ...alerts],
      },
      'shifter',
    );
    assert.equal(
      tooMany.statusCode,
      400,
      'more than 20,000 alerts in one payload is refused, naming the field',
    );
    assert.match(body(tooMany).message, /alerts must NOT have more than 20000 items/);
  });
});

/** An incident about environment `id`, as a failed transition would open it. */
function seedIncident(platform: ReturnType<typeof setup>['platform'], id: string, fingerprint: string): void {
  platform.incidents.signal({
    fingerprint,
    source: 'control',
    name: 'TransitionFailed',
    severity: 'error',
    environment: id,
    component: { kind: 'environment', id },
    summary: 'seeded',
    at: new Date().toISOString(),
    status: 'firing',
    point: true,
  });
}
