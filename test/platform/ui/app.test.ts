/**
 * The shift crew's page in a real browser against a real stack (Kafka, the platform and an agent as
 * processes, real workloads): log in, create the testbed, take it to RUNNING, watch the dataflow rates
 * move, SIGKILL a processor and follow its incident to resolved, STOP and find the run with lost 0; a
 * viewer sees no buttons and a forged call gets 403; bad input gets a message and changes nothing.
 * Screenshots of each page go to .daqops/ui-screenshots/ (the README shows copies of them, docs/ui/).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parse } from 'yaml';
import { LocalStack } from '../../../deploy/local/stack.js';
import { projectRoot } from '../../../lib/paths.js';
import { clickForResponse, fillField, launchBrowser } from '../../helpers/browser.js';
import { testKafkaBrokers } from '../../helpers/kafka-fixture.js';
import { until } from '../../helpers/until.js';

const SHOTS = join(projectRoot(), '.daqops', 'ui-screenshots');

/** Polls the text of `selector` until it matches (the page updates live; nothing waits for time). */
async function waitText(page: Page, selector: string, re: RegExp, ms: number): Promise<void> {
  await until(
    `${selector} to say ${re}`,
    async () => re.test((await page.textContent(selector).catch(() => null)) ?? ''),
    ms,
  );
}

describe('platform/ui (Chromium against a real stack)', function () {
  this.timeout(600_000);
  let dir: string;
  let stack: LocalStack | undefined;
  let browser: Browser | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-ui-'));
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchBrowser();
    stack = await LocalStack.start({
      home: join(dir, 'home'),
      brokers: await testKafkaBrokers(),
      print: () => undefined,
    });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tokenOf = (role: string): string =>
    (
      parse(readFileSync(join(dir, 'home', 'tokens.yaml'), 'utf8')) as {
        tokens: { role: string; token: string }[];
      }
    ).tokens.find((t) => t.role === role)!.token;

  async function loggedIn(role: string): Promise<Page> {
    const page = await (await browser!.newContext({ viewport: { width: 1366, height: 800 } })).newPage();
    await page.goto(stack!.url);
    await fillField(page, '#token', tokenOf(role));
    await page.press('#token', 'Enter');
    await page.waitForSelector('#app:not([hidden])');
    return page;
  }

  async function transition(page: Page, env: string, t: string, to: string): Promise<void> {
    await page.click(`#transitions [data-transition="${t}"]`);
    await page.click('#confirm-ok');
    await page.waitForSelector(`#envs tr[data-env="${env}"] .state.s-${to}`, { timeout: 120_000 });
  }

  it('runs a shift: create, RUNNING, rates, a crash and its incident, STOP with lost 0', async () => {
    const page = await loggedIn('admin');
    await page.waitForSelector('#live.on');
    // Bad input first: a variable the template refuses — a message, and no environment.
    await page.selectOption('#create-template', 'testbed');
    await fillField(page, '#create-vars', 'processors=100000');
    await page.click('#create-form button[type=submit]');
    await page.waitForSelector('#create-error:not(:empty)');
    assert.match((await page.textContent('#create-error')) ?? '', /INVALID_TEMPLATE: .*replicas/);
    assert.equal((await stack!.api.environments()).length, 0, 'nothing created');

    await fillField(page, '#create-vars', `dataDir=${join(dir, 'data')}\nmuonRateHz=500`);
    await page.click('#create-form button[type=submit]');
    await page.waitForSelector('#envs tr[data-env]');
    const env = (await page.getAttribute('#envs tr[data-env]', 'data-env'))!;
    await transition(page, env, 'DEPLOY', 'DEPLOYED');
    // Each task says why it is where it is: this agent has no board, so the readouts' links are emulated.
    await waitText(
      page,
      '#tasks tr[data-task="readout-1"] td.placement',
      /^NUMA \d+: link\(s\) 1 on no registered node's board \(emulated\)/,
      10_000,
    );
    // Channel masks for the next CONFIGURE. A live update while the shifter types (someone else sets the
    // masks) shows the new count and leaves the field, its focus and the typing as they are.
    await page.focus('#masks');
    await page.keyboard.type('9 1');
    await stack!.api.setMasks(env, [
      { chamber: 1, layer: 1, cell: 1 },
      { chamber: 1, layer: 1, cell: 2 },
    ]);
    await waitText(page, '#masks-form h3', /Channel masks \(2\)/, 10_000);
    await page.keyboard.type(' 1');
    assert.equal(await page.inputValue('#masks'), '9 1 1', 'the typing survived the update');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'masks', 'the field kept the focus');
    // A cell that does not exist is named; a good one replaces the list.
    const masksCall = /^\/api\/v1\/environments\/[^/]+\/masks$/;
    assert.equal(await clickForResponse(page, '#masks-form button[type=submit]', 'POST', masksCall), 422);
    await waitText(page, '#masks-error', /cells\[0\]\.chamber: no chamber 9/, 10_000);
    await fillField(page, '#masks', '1 2 3');
    assert.equal(await clickForResponse(page, '#masks-form button[type=submit]', 'POST', masksCall), 200);
    await waitText(page, '#masks-form h3', /Channel masks \(1\)/, 10_000);
    assert.deepEqual((await stack!.api.environment(env)).masks, [{ chamber: 1, layer: 2, cell: 3 }]);
    await transition(page, env, 'CONFIGURE', 'CONFIGURED');
    // The transition log: the tasks as they answered, and the transition's end.
    await waitText(page, '#transition-log', /CONFIGURE after DONE_OK/, 10_000);
    assert.match((await page.textContent('#transition-log')) ?? '', /task processor-0 → CONFIGURED/);

    // A transition the table refuses (the state moved under the page): the message says so.
    await page.click('#transitions [data-transition="RESET"]');
    await stack!.api.transition(env, 'START_ACTIVITY');
    await page.click('#confirm-ok');
    await page.waitForSelector('#transition-error');
    assert.match(
      (await page.textContent('#transition-error')) ?? '',
      /ILLEGAL_TRANSITION: .*RUNNING cannot take transition RESET/,
    );
    await page.waitForSelector(`#envs tr[data-env="${env}"] .state.s-RUNNING`);
    assert.match((await page.textContent(`#envs tr[data-env="${env}"]`)) ?? '', /admin/);
    await page.screenshot({ path: join(SHOTS, 'run-control.png'), fullPage: true });

    // The dataflow graph: rates on the edges move as the run takes data.
    await page.click('[data-view=dataflow]');
    const edge = '[data-edge="readout-0>raw-hits"]';
    await waitText(page, edge, /[1-9].*B\/s/, 60_000);
    const first = await page.textContent('.graph .hint');
    await until(
      'the rates refreshed',
      async () => (await page.textContent('.graph .hint')) !== first,
      30_000,
    );
    assert.match((await page.textContent(edge)) ?? '', /[1-9].*B\/s/);
    await page.click('.graph [data-task="processor-0"]');
    await page.waitForSelector('#task-detail:not([hidden])');
    await page.screenshot({ path: join(SHOTS, 'dataflow.png'), fullPage: true });

    // SIGKILL a processor: its incident appears, recovery restarts it, the shifter resolves it.
    const victim = (await stack!.api.environment(env)).tasks.find((t) => t.name === 'processor-0')!;
    process.kill(victim.pid!, 'SIGKILL');
    await page.click('[data-view=incidents]');
    await page.waitForSelector('#incidents tr[data-incident]', { timeout: 60_000 });
    await waitText(page, '#incidents tbody tr', /succeeded/, 120_000);
    assert.match((await page.textContent('#incident-card')) ?? '', /processor-0/);
    assert.match((await page.textContent('#incident-card')) ?? '', /Runbook WorkloadCrash/);
    await page.screenshot({ path: join(SHOTS, 'incidents.png'), fullPage: true });
    await page.click('#incident-card button:text("Resolve")');
    await fillField(page, '#confirm-input', 'processor-0 restarted by its runbook; checked the rates');
    await page.click('#confirm-ok');
    await page.waitForSelector('#incident-card .state.s-resolved');

    await page.click('[data-view=detector]');
    await page.waitForSelector('#occupancy [data-chamber]', { timeout: 60_000 });
    // The processors' aggregates, read by the platform from <ns>.monitoring: the drift-time histogram.
    // Waited for by a bin with hits in it: a selector for any bin takes the first, the -50 ns bin only
    // noise fills, and an empty bin is drawn 0 px high — never "visible" (a CI run waited 60 s on it).
    await page.waitForSelector('#monitoring rect[data-count]:not([data-count="0"])', { timeout: 60_000 });
    assert.match((await page.textContent('#monitoring h3')) ?? '', /noise \d/);
    const counts = await Promise.all(
      (await page.$$('#monitoring rect[data-count]')).map((r) => r.getAttribute('data-count')),
    );
    const counted = counts.reduce((n, c) => n + Number(c), 0);
    assert.ok(counted > 0, 'hits in the drift-time histogram');
    await page.screenshot({ path: join(SHOTS, 'detector.png'), fullPage: true });

    // STOP: the run's reconciliation, lost 0.
    await page.click('[data-view=control]');
    await transition(page, env, 'STOP_ACTIVITY', 'CONFIGURED');
    await page.click('[data-view=runs]');
    await page.waitForSelector('#runs td[data-lost]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('#runs tr[data-run] td[data-lost]', 'data-lost'), '0');
    await page.screenshot({ path: join(SHOTS, 'runs.png'), fullPage: true });
    await page.click('[data-view=control]');
    await transition(page, env, 'EXIT', 'DONE');

    // The node from the page: drained with a reason (audited), shown so, then uncordoned.
    const row = '#nodes tbody tr[data-node]';
    await page.waitForSelector(`${row} [data-node-action=drain]`);
    const node = (await page.getAttribute(row, 'data-node'))!;
    assert.match((await page.textContent(row)) ?? '', /connected/);
    await page.click(`${row} [data-node-action=drain]`);
    await fillField(page, '#confirm-input', 'fan replaced');
    await page.click('#confirm-ok');
    await waitText(page, `${row} td.cordon`, /^drained: takes no new task$/, 10_000);
    const drain = (await stack!.api.audit()).find((a) => a.action === 'node.drain');
    assert.equal(drain?.target, node);
    assert.match(drain?.detail ?? '', /fan replaced/);
    await page.click(`${row} [data-node-action=uncordon]`);
    await page.click('#confirm-ok');
    await waitText(page, `${row} td.cordon`, /^takes tasks$/, 10_000);
  });

  it('shows a viewer no actions, and the platform refuses what the viewer forges (403)', async () => {
    const page = await loggedIn('viewer');
    await page.waitForSelector('#envs tbody tr');
    assert.equal(await page.locator('#transitions button').count(), 0);
    await page.waitForSelector('#nodes tbody tr[data-node]');
    assert.equal(await page.locator('#nodes [data-node-action]').count(), 0, 'no drain for a viewer');
    assert.equal(await page.isHidden('#create-form'), true);
    // From inside the page, with the viewer's own token, as a forged click would send it.
    const envId = (await stack!.api.environments())[0]?.id ?? 'x';
    const forged = await page.evaluate(
      `fetch('/api/v1/environments/${envId}/transitions', { method: 'POST', headers: { authorization: 'Bearer ${tokenOf('viewer')}', 'content-type': 'application/json' }, body: JSON.stringify({ transition: 'DEPLOY' }) }).then((r) => r.status)`,
    );
    assert.equal(forged, 403);
  });

  it('sends a token that is no longer accepted back to the login, saying why', async () => {
    const page = await (await browser!.newContext()).newPage();
    await page.goto(stack!.url);
    await page.evaluate("sessionStorage.setItem('daqops-token', 'revoked-token-0123456789')");
    await page.reload();
    await page.waitForSelector('#login:not([hidden])');
    assert.match((await page.textContent('#login-error')) ?? '', /not accepted/);
    await page.screenshot({ path: join(SHOTS, 'login.png') });
  });

  it('lets an admin give a token from the page, shown once, and revoke it: its holder is logged out', async () => {
    const admin = await loggedIn('admin');
    await admin.click('[data-view=tokens]');
    await fillField(admin, '#token-name', 'dana');
    await admin.selectOption('#token-role', 'viewer');
    await admin.click('#token-form button[type=submit]');
    await waitText(admin, '#token-new', /shown this once: \S{24,}/, 10_000);
    const token = /shown this once: (\S+)/.exec((await admin.textContent('#token-new')) ?? '')![1]!;
    await admin.waitForSelector('#tokens tr[data-holder="dana"]');
    await admin.screenshot({ path: join(SHOTS, 'tokens.png'), fullPage: true });
    const dana = await (await browser!.newContext()).newPage();
    await dana.goto(stack!.url);
    await fillField(dana, '#token', token);
    await dana.press('#token', 'Enter');
    await waitText(dana, '#who', /dana \(viewer\)/, 10_000);
    assert.equal(await dana.isHidden('[data-view=tokens]'), true, 'only an admin sees the tokens');
    await admin.click('#tokens tr[data-holder="dana"] button');
    await admin.click('#confirm-ok');
    await admin.waitForSelector('#tokens tr[data-holder="dana"]', { state: 'detached' });
    // Her live feed ends with the revoke; the page's reconnect is refused (as any call of hers would be,
    // a refresh that got there first too): it goes back to the login and says why, with no click of hers.
    // (Clicking a tab here raced that: the tabs are gone once the login shows.)
    await waitText(dana, '#login-error', /not accepted/, 10_000);
    assert.equal(await dana.isVisible('#token'), true, 'the login is shown');
    assert.equal(await dana.isHidden('[data-view=runs]'), true, 'and her views are gone');
  });
});
