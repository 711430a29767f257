import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDaqError } from '../../../protocol/errors.js';
import { HookFailure, HookRunner } from '../../../platform/control/hooks.js';
import type { ControlEvent } from '../../../platform/control/types.js';
import { parseTemplate } from '../../../platform/workflow/template.js';

const BASE = `
name: hooked
roles:
  - name: processing
    tasks:
      - { name: proc, workload: processor, resources: { cores: 1 } }
hooks:
`;

describe('platform/control/hooks', () => {
  let server: Server;
  let url: string;
  const posted: unknown[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(JSON.parse(body || '{}'));
        res.statusCode = req.url === '/fail' ? 503 : 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  function runner(hooks: string, actions = {}) {
    const events: ControlEvent[] = [];
    const r = new HookRunner(
      parseTemplate(BASE + hooks, 'hooked.yaml'),
      actions,
      (e) => events.push(e),
      'env-1',
    );
    const seen = () => events.flatMap((e) => (e.kind === 'hook' ? [`${e.hook} ${e.status}`] : []));
    return { r, seen, events };
  }

  it('starts a trigger’s hooks in weight order and awaits each at its await point', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const slow = new Promise<void>((r) => (release = r));
    const { r, seen } = runner(
      `
  - { name: b, trigger: before_CONFIGURE, weight: 2, call: { action: note, args: { n: b } } }
  - { name: a, trigger: before_CONFIGURE, weight: 1, call: { action: note, args: { n: a } } }
  - { name: held, trigger: before_CONFIGURE, await: after_CONFIGURE, call: { action: wait } }
`,
      {
        note: (args: Readonly<Record<string, unknown>>) => (order.push(String(args['n'])), Promise.resolve()),
        wait: () => slow,
      },
    );
    await r.step('before', 'CONFIGURE', undefined);
    assert.deepEqual(order, ['a', 'b']);
    assert.ok(!seen().includes('held DONE_OK'), 'a hook awaited later is still running after its start');
    const done = r.step('after', 'CONFIGURE', undefined);
    release();
    await done;
    assert.ok(seen().includes('held DONE_OK'));
  });

  it('fails a critical hook with HOOK_FAILED naming it, and posts the environment and run to an HTTP hook', async () => {
    const { r, seen } = runner(`
  - { name: ok, trigger: after_START_ACTIVITY, call: { http: { url: "${url}/ok" } } }
  - { name: broken, trigger: after_START_ACTIVITY, critical: true, call: { http: { url: "${url}/fail" } } }
`);
    posted.length = 0;
    const err = await r.step('after', 'START_ACTIVITY', 7).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof HookFailure && isDaqError(err, 'HOOK_FAILED'), String(err));
    assert.equal(err.field, 'hooks.broken');
    assert.equal(err.httpStatus, 502);
    assert.match(err.message, /answered 503/);
    assert.ok(posted.some((p) => (p as { run?: number }).run === 7));
    // Both start before either is awaited (the critical one's failure ends the step at once).
    assert.deepEqual(seen().slice(0, 2), ['broken STARTED', 'ok STARTED'], 'same weight: by name');
    assert.ok(seen().includes('broken DONE_ERROR'));
  });

  it('reports a non-critical failure and goes on; a critical hook past its timeout is TIMEOUT', async () => {
    const never = () => new Promise<never>(() => undefined);
    const { r, seen } = runner(
      `
  - { name: optional, trigger: before_DEPLOY, call: { action: missing } }
  - { name: late, trigger: before_DEPLOY, critical: true, timeout: 50ms, call: { action: never } }
`,
      { never },
    );
    const err = await r.step('before', 'DEPLOY', undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isDaqError(err, 'TIMEOUT'), String(err));
    assert.equal((err as HookFailure).timedOut, true);
    assert.ok(seen().includes('optional DONE_ERROR'));
    assert.ok(seen().includes('late DONE_TIMEOUT'));
  });
});
