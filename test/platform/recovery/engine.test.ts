import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DaqError } from '../../../protocol/errors.js';
import { Metrics } from '../../../lib/metrics.js';
import { Correlator } from '../../../platform/incidents/correlator.js';
import { DataflowTopology } from '../../../platform/incidents/topology.js';
import type { SignalInput } from '../../../platform/incidents/types.js';
import { RecoveryEngine, type RecoveryTarget } from '../../../platform/recovery/engine.js';
import { loadRunbooks } from '../../../platform/runbooks/runbook.js';

const TOPO = new DataflowTopology('env-1', [
  { name: 'readout-0', workload: 'readout', node: 'n1', stage: 0, links: [0] },
  { name: 'processor-0', workload: 'processor', node: 'n1', stage: 1, links: [] },
  { name: 'processor-1', workload: 'processor', node: 'n1', stage: 1, links: [] },
]);
const CRITICAL: Record<string, boolean> = { 'readout-0': false, 'processor-0': true, 'processor-1': true };

const crash = (task: string): SignalInput => ({
  fingerprint: `control/env-1/task:${task}/TaskFailed`,
  source: 'control',
  name: 'TaskFailed',
  severity: 'error',
  environment: 'env-1',
  component: { kind: 'task', id: task },
  taskKind: task.replace(/-\d+$/, ''),
  summary: `${task} exited`,
  at: new Date().toISOString(),
  status: 'firing',
  point: false,
});

describe('platform/recovery/engine', () => {
  let pages: unknown[];
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        pages.push(JSON.parse(body));
        res.writeHead(202).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  /** What an action does: fail with this message, or with these errors one call after another. */
  function setup(fail: Partial<Record<string, string | Error[]>> = {}) {
    pages = [];
    const calls: string[] = [];
    const audits: string[] = [];
    const waits: number[] = [];
    const excluded = new Set<string>();
    const metrics = new Metrics({ task: 'platform' }, { processMetrics: false });
    const correlator = new Correlator({ topology: () => TOPO, settleMs: 0 });
    const act = (what: string) => {
      calls.push(what);
      const err = fail[what.split(' ')[0]!];
      if (Array.isArray(err)) {
        const next = err.shift();
        return next === undefined ? Promise.resolve() : Promise.reject(next);
      }
      return err === undefined ? Promise.resolve() : Promise.reject(new Error(err));
    };
    const target: RecoveryTarget = {
      tasksOf: (_env, c) =>
        TOPO.tasksOf(c).map((t) => ({
          name: t.name,
          critical: CRITICAL[t.name]!,
          excluded: excluded.has(t.name),
        })),
      restartTask: (_e, t) => act(`restart ${t}`),
      excludeTask: (_e, t) => (excluded.add(t), act(`exclude ${t}`)),
      moveTask: (_e, t) => act(`move ${t}`),
      transition: (_e, t) => act(`transition ${t}`),
      audit: (e) => audits.push(`${e.who} ${e.action} ${e.result}`),
    };
    const engine = new RecoveryEngine({
      runbooks: loadRunbooks('runbooks'),
      correlator,
      target,
      page: { url, routingKey: 'test-key' },
      metrics,
      sleep: (ms) => (waits.push(ms), Promise.resolve()),
    });
    return { engine, correlator, calls, audits, waits, metrics };
  }

  it('restarts a crashed critical task by its runbook, and says so everywhere', async () => {
    const { engine, correlator, calls, audits, metrics } = setup();
    const id = correlator.ingest(crash('processor-0'))!.incident.id;
    assert.equal(await engine.recover(id), true);
    assert.deepEqual(calls, ['restart processor-0']);
    const inc = correlator.get(id);
    assert.equal(inc.runbook, 'WorkloadCrash');
    assert.equal(inc.recovery, 'succeeded');
    assert.ok(
      inc.timeline.some(
        (e) => e.kind === 'action' && /restart-task .*processor-0/.test(e.text) && e.result === 'ok',
      ),
    );
    assert.deepEqual(audits, ['platform:recovery recovery.restart-task ok']);
    assert.match(
      await metrics.text(),
      /daq_platform_recovery_actions_total\{[^}]*kind="restart-task"[^}]*result="ok"[^}]*\} 1/,
    );
  });

  it('restarts the task that failed, also when its crash joined the incident of another', async () => {
    const { engine, correlator, calls } = setup();
    const id = correlator.ingest(crash('processor-0'))!.incident.id;
    assert.equal(await engine.recover(id, { kind: 'task', id: 'processor-0' }), true);
    assert.equal(
      correlator.ingest(crash('processor-1'))!.incident.id,
      id,
      'one consumer group: one incident',
    );
    assert.equal(await engine.recover(id, { kind: 'task', id: 'processor-1' }), true);
    assert.deepEqual(calls, ['restart processor-0', 'restart processor-1']);
  });

  it('excludes a crashed non-critical task instead', async () => {
    const { engine, correlator, calls } = setup();
    const id = correlator.ingest(crash('readout-0'))!.incident.id;
    assert.equal(await engine.recover(id), true);
    assert.deepEqual(calls, ['exclude readout-0']);
  });

  it('backs off, hits the attempt cap, escalates to CrashLoop and pages once per incident', async () => {
    const { engine, correlator, calls, waits } = setup();
    const id = correlator.ingest(crash('processor-0'))!.incident.id;
    for (let i = 0; i < 5; i++) assert.equal(await engine.recover(id), true);
    assert.deepEqual(waits, [1000, 2000, 4000, 8000], 'the 1st at once, then doubling');
    assert.equal(await engine.recover(id), false, 'the 6th within 30 min is refused');
    assert.equal(calls.length, 5);
    const inc = correlator.get(id);
    assert.equal(inc.recovery, 'escalated');
    assert.equal(inc.runbook, 'CrashLoop');
    assert.equal(pages.length, 1);
    const page = pages[0] as {
      routing_key: string;
      event_action: string;
      dedup_key: string;
      payload: Record<string, unknown>;
    };
    assert.equal(page.routing_key, 'test-key');
    assert.equal(page.event_action, 'trigger');
    assert.equal(page.dedup_key, `daqops-incident-${id}`);
    assert.equal(page.payload['severity'], 'error');
    assert.equal(page.payload['component'], 'task:processor-0');
    assert.ok(inc.timeline.some((e) => e.kind === 'escalation' && /cap 5/.test(e.text)));
  });

  it('escalates when a step fails', async () => {
    const { engine, correlator } = setup({ restart: 'agent of node n1 is not connected' });
    const id = correlator.ingest(crash('processor-0'))!.incident.id;
    assert.equal(await engine.recover(id), false);
    const inc = correlator.get(id);
    assert.equal(inc.recovery, 'escalated');
    assert.ok(inc.timeline.some((e) => e.result === 'error' && /not connected/.test(e.text)));
    assert.equal(pages.length, 1);
  });

  it('tries a step again after a retriable error (an agent away for a moment) before escalating', async () => {
    const away = () => new DaqError('UNREACHABLE', 'agent of node n1 is not connected');
    const { engine, correlator, calls, waits } = setup({ restart: [away()] });
    const id = correlator.ingest(crash('processor-0'))!.incident.id;
    assert.equal(await engine.recover(id), true);
    assert.deepEqual(calls, ['restart processor-0', 'restart processor-0']);
    assert.deepEqual(waits, [1000]);
    assert.equal(correlator.get(id).recovery, 'succeeded');
    assert.ok(correlator.get(id).timeline.some((e) => /retry 1 of 2 in 1000 ms/.test(e.text)));

    const still = setup({ restart: [away(), away(), away()] });
    const other = still.correlator.ingest(crash('processor-0'))!.incident.id;
    assert.equal(await still.engine.recover(other), false, 'still away after the retries: a human');
    assert.equal(still.calls.length, 3);
    assert.deepEqual(still.waits, [1000, 2000]);
    assert.equal(still.correlator.get(other).recovery, 'escalated');
  });

  it('escalates at once on an error that trying again cannot mend', async () => {
    const { engine, correlator, calls, waits } = setup({
      restart: [new DaqError('INVALID_CONFIG', 'processor-0: bad config')],
    });
    const id = correlator.ingest(crash('processor-0'))!.incident.id;
    assert.equal(await engine.recover(id), false);
    assert.deepEqual(calls, ['restart processor-0']);
    assert.deepEqual(waits, []);
  });
});
