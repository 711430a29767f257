import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTestbed } from '../../deploy/local/testbed.js';
import { inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';
import { KafkaClient } from '../../lib/kafka.js';
import { reconcileRun } from '../../lib/reconcile.js';
import type { EnvironmentView } from '../../platform/platform.js';
import { PlatformStore } from '../../platform/store/store.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';
import { daqopsArgv } from '../helpers/daqops.js';

/** Processes whose environment carries DAQOPS_HOME=home: what a testbed started and left behind. */
function processesOf(home: string): number[] {
  const mark = `DAQOPS_HOME=${home}\0`;
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/environ`, 'latin1').includes(mark);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('deploy/local/testbed (the README main job)', function () {
  this.timeout(240_000);
  let dir: string;
  let saved: string | undefined;
  let brokers: readonly string[];
  before(async () => {
    brokers = await testKafkaBrokers();
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-testbed-'));
    saved = process.env['DAQOPS_KAFKA_BROKERS'];
    process.env['DAQOPS_KAFKA_BROKERS'] = brokers.join(',');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['DAQOPS_KAFKA_BROKERS'];
    else process.env['DAQOPS_KAFKA_BROKERS'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the testbed under run control — platform, agent, real workloads, real Kafka — to lost = 0', async () => {
    const lines: string[] = [];
    const home = join(dir, 'home');
    const r = await runTestbed({
      seconds: 4,
      home,
      dataDir: join(dir, 'data'),
      print: (l) => lines.push(l),
    });
    const output = lines.join('\n');
    assert.equal(r.reconciliation.lost, 0, output);
    assert.ok(r.reconciliation.readoutFinal, 'both links sent their final report');
    assert.equal(
      r.reconciliation.incompleteTimeframes,
      0,
      'the links share the run clock: they start and stop on the same timeframes',
    );
    assert.ok(r.reconciliation.produced.hits > 20_000, output);
    assert.ok(r.reconciliation.events.built > 500, `${r.reconciliation.events.built} events`);
    assert.equal(r.reconciliation.events.stored, r.reconciliation.events.built);
    const inspection = inspectRun(runDir(r.dataDir, r.run));
    assert.equal(inspection.events, r.reconciliation.events.built);
    assert.equal(inspection.duplicateIds, 0);
    assert.equal(r.record.startedBy, 'admin:admin');
    for (const t of [r.record.start, r.record.startCompleted, r.record.end, r.record.endCompleted])
      assert.ok(t !== null, 'the run registry has the four times');
    assert.deepEqual(r.record.reconciliation, r.reconciliation, 'the balance is in the run registry');
    for (const step of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY', 'STOP_ACTIVITY', 'EXIT'])
      assert.match(output, new RegExp(`testbed: ${step} +→ \\w+ in`), `${step} shown`);
    assert.match(
      output,
      /live +\d+ s: RUNNING · tasks 5\/5 running · \d+ hits\/s · \d+ hits · events \d+ built \/ \d+ stored · incidents \d+ \(\d+ open\)/,
      'live progress',
    );
    assert.match(output, /^ {2}incidents: /m, 'the incidents of the run in the summary');
    assert.match(output, /^\s+lost\s+0$/m, 'the reconciliation is printed');
    assert.match(output, /drift time \(ns\)/, 'the inspection is printed');
    assert.match(output, /processor-0 +processor +node \S+ cores \d/, 'processors get their own cores');
    assert.match(output, /writer +writer +node \S+ shared cores/, 'the writer shares');
    const store = new PlatformStore(join(home, 'platform.db'));
    try {
      assert.equal(store.environment(r.environment)?.state, 'DONE');
      assert.deepEqual(
        store.runs().map((x) => x.run),
        [r.run],
      );
    } finally {
      store.close();
    }
    assert.deepEqual(processesOf(home), [], 'the platform, the agent and the workloads are gone');
  });

  it('survives a platform SIGKILL mid-run: data flows throughout, the restart reloads and reconciles, lost = 0', async () => {
    const lines: string[] = [];
    const home = join(dir, 'home');
    const client = new KafkaClient({ brokers, clientId: 'test-testbed-kill' });
    let before: EnvironmentView | undefined;
    let after: EnvironmentView | undefined;
    let hitsWhileDown = 0;
    const r = await runTestbed({
      seconds: 3,
      home,
      dataDir: join(dir, 'data'),
      print: (l) => lines.push(l),
      onRunning: async (stack, env) => {
        before = await stack.api.environment(env.id);
        await stack.killPlatform('SIGKILL');
        const h0 = (await reconcileRun(client, env.namespace, env.run!)).produced.hits;
        await new Promise((res) => setTimeout(res, 3000));
        hitsWhileDown = (await reconcileRun(client, env.namespace, env.run!)).produced.hits - h0;
        await stack.startPlatform();
        await stack.until('the agent to rejoin', 30_000, async () =>
          (await stack.agents()).some((a) => a.connected),
        );
        await stack.until('the tasks to be reported again', 30_000, async () => {
          after = await stack.api.environment(env.id);
          return after.tasks.every((t) => t.state === 'RUNNING');
        });
      },
    });
    const output = lines.join('\n');
    assert.ok(hitsWhileDown > 5_000, `data kept flowing while the platform was down (${hitsWhileDown} hits)`);
    assert.ok(before !== undefined && after !== undefined);
    assert.equal(after.state, 'RUNNING', 'the environment is RUNNING again');
    assert.equal(after.run, before.run, 'the same run');
    assert.deepEqual(
      after.tasks.map((t) => [t.name, t.node, t.cpus]),
      before.tasks.map((t) => [t.name, t.node, t.cpus]),
      'the same placement, no lock lost or doubled',
    );
    assert.match(output, /restored 1 environment\(s\)/);
    assert.equal(r.reconciliation.lost, 0, output);
    assert.equal(r.reconciliation.events.stored, r.reconciliation.events.built);
    assert.deepEqual(
      r.record.run,
      before.run,
      'the run registry carries the run through the restart (one run, same number)',
    );
    assert.deepEqual(processesOf(home), []);
  });

  it('Ctrl-C stops the run cleanly: STOP, summary with lost = 0, EXIT, nothing left running', async () => {
    const home = join(dir, 'home');
    const child = spawn(
      ...daqopsArgv('testbed', '--seconds', '120', '--home', home, '--data-dir', join(dir, 'data')),
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const deadline = Date.now() + 120_000;
    while (!/live +\d+ s: RUNNING/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no live progress:\n${out}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /stopping early \(interrupted\)/);
    assert.match(out, /testbed: STOP_ACTIVITY +→ CONFIGURED/);
    assert.match(out, /^\s+lost\s+0$/m);
    assert.match(out, /testbed: EXIT +→ DONE/);
    assert.deepEqual(processesOf(home), []);
  });
});
