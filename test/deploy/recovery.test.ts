import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firingAlert } from '../helpers/alerts.js';
import { runbooksWithCrashPolicy, runningTestbed, type RunningTestbed } from '../helpers/running-testbed.js';

const task = async (tb: RunningTestbed, name: string) => (await tb.env()).tasks.find((t) => t.name === name)!;
/** The run takes data for a while before the fault, so that anything lost would show in the reconciliation. */
const takeData = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('incidents and automated recovery on a live testbed run (real agent, workloads, Kafka)', function () {
  this.timeout(240_000);
  let dir: string;
  let tb: RunningTestbed | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-recovery-'));
    tb = undefined;
  });
  afterEach(async () => {
    await tb?.finish().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL a processor: one incident rooted at it, restarted by its runbook, RUNNING again, lost = 0', async () => {
    tb = await runningTestbed(dir);
    const t = tb;
    await takeData(2000);
    const victim = await task(t, 'processor-0');
    assert.ok(victim.pid !== undefined);
    process.kill(victim.pid, 'SIGKILL');
    await t.until('processor-0 running again in a new process', async () => {
      const p = await task(t, 'processor-0');
      return p.state === 'RUNNING' && p.pid !== undefined && p.pid !== victim.pid;
    });
    const env = await t.env();
    assert.equal(env.state, 'RUNNING');
    assert.ok(env.tasks.every((x) => x.state === 'RUNNING' && !x.excluded));
    // The last signal of this fault: the exit's ERS issue, through Kafka <ns>.ers. Once it is in, every
    // signal of the fault is, and they must all be in one incident.
    await t.until('the ERS issue of the exit, through Kafka <ns>.ers', async () =>
      (await t.incidents()).some((i) =>
        i.signals.some((s) => s.source === 'ers' && s.name === 'daqops.agent.TaskExited'),
      ),
    );
    const incidents = await t.incidents();
    assert.equal(incidents.length, 1, JSON.stringify(incidents, null, 1));
    const inc = incidents[0]!;
    assert.deepEqual(inc.root.component, { kind: 'task', id: 'processor-0' });
    assert.equal(inc.runbook, 'WorkloadCrash');
    assert.equal(inc.recovery, 'succeeded');
    assert.ok(
      inc.timeline.some(
        (e) => e.kind === 'action' && /restart-task .*processor-0/.test(e.text) && e.result === 'ok',
      ),
    );
    assert.ok(inc.signals.some((s) => s.name === 'TaskExited' && s.source === 'agent'));
    const record = await t.finish();
    tb = undefined;
    assert.equal(record?.reconciliation?.lost, 0, JSON.stringify(record?.reconciliation));
    assert.equal(record?.reconciliation?.events.stored, record?.reconciliation?.events.built);
  });

  it('kill a non-critical readout link: excluded, the run goes on, and the stall it causes downstream joins its incident', async () => {
    tb = await runningTestbed(dir);
    const t = tb;
    await takeData(2000);
    const victim = await task(t, 'readout-1');
    process.kill(victim.pid!, 'SIGKILL');
    await t.until('readout-1 excluded', async () => (await task(t, 'readout-1')).excluded);
    // The processors miss link 1 now; Prometheus would say the dataflow of processor-0 stalls.
    const alert = await t.stack.api.alertmanager(
      firingAlert(
        { alertname: 'DaqDataflowStalled', severity: 'warning', environment: t.id, task: 'processor-0' },
        'processor-0 processed rate fell',
        'stall-processor-0',
      ),
    );
    const incidents = await t.incidents();
    assert.equal(incidents.length, 1, JSON.stringify(incidents, null, 1));
    const inc = incidents[0]!;
    assert.deepEqual(alert.incidents, [inc.id], 'the downstream symptom joined the incident');
    assert.deepEqual(
      inc.root.component,
      { kind: 'task', id: 'readout-1' },
      'the upstream crash is the root cause',
    );
    assert.ok(inc.signals.some((s) => s.name === 'DaqDataflowStalled'));
    assert.ok(inc.timeline.some((e) => /exclude-task .*readout-1/.test(e.text) && e.result === 'ok'));
    await t.until('the others running on', async () =>
      (await t.env()).tasks.filter((x) => x.name !== 'readout-1').every((x) => x.state === 'RUNNING'),
    );
    const env = await t.env();
    assert.equal(env.state, 'RUNNING', 'the run goes on');
    assert.ok(env.tasks.filter((x) => x.name !== 'readout-1').every((x) => x.state === 'RUNNING'));
    const record = await t.finish();
    tb = undefined;
    assert.equal(record?.reconciliation?.lost, 0, JSON.stringify(record?.reconciliation));
  });

  it('a crash loop hits the attempt cap and escalates: CrashLoop, a page to the on-call webhook, ERROR', async () => {
    const pages: { dedup_key: string; payload: { severity: string; component: string } }[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        pages.push(JSON.parse(body) as (typeof pages)[number]);
        res.writeHead(202).end('{"status":"success"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const books = runbooksWithCrashPolicy(dir, '{ maxAttempts: 2, windowMinutes: 30, backoffSeconds: 0 }');
      tb = await runningTestbed(dir, {
        platformArgs: [
          '--runbooks',
          books,
          '--page-url',
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`,
        ],
      });
      const t = tb;
      for (let i = 1; i <= 2; i++) {
        const victim = await task(t, 'processor-0');
        process.kill(victim.pid!, 'SIGKILL');
        await t.until(`restart ${i}`, async () => {
          const p = await task(t, 'processor-0');
          return p.state === 'RUNNING' && p.pid !== victim.pid;
        });
      }
      assert.equal(pages.length, 0, 'no page while the runbook copes');
      process.kill((await task(t, 'processor-0')).pid!, 'SIGKILL');
      await t.until('the environment in ERROR', async () => (await t.env()).state === 'ERROR');
      await t.until('the page', () => Promise.resolve(pages.length > 0), 10_000);
      const incidents = await t.incidents();
      assert.equal(incidents.length, 1, 'a crash loop is one incident');
      const inc = incidents[0]!;
      assert.equal(inc.recovery, 'escalated');
      assert.equal(inc.runbook, 'CrashLoop');
      assert.ok(inc.timeline.some((e) => e.kind === 'escalation' && /cap 2/.test(e.text)));
      assert.equal(pages.length, 1);
      assert.equal(pages[0]!.dedup_key, `daqops-incident-${inc.id}`);
      assert.equal(pages[0]!.payload.component, 'task:processor-0');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
