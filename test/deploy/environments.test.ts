import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack } from '../../deploy/local/stack.js';
import { TESTBED_TEMPLATE } from '../../deploy/local/testbed.js';
import type { EnvironmentView } from '../../platform/platform.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('two environments on one node (real platform, agent, workloads, Kafka)', function () {
  this.timeout(300_000);
  let dir: string;
  let stack: LocalStack | undefined;
  const printed: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-two-envs-'));
    printed.length = 0;
  });
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs two environments of one template side by side: tasks named alike are two tasks everywhere', async function () {
    stack = await LocalStack.start({
      home: join(dir, 'home'),
      brokers: await testKafkaBrokers(),
      print: (l) => {
        if (printed.push(l) > 300) printed.splice(0, 100);
      },
    });
    const api = stack.api;
    const why = (): string => printed.slice(-60).join('\n');
    const envs: EnvironmentView[] = [];
    for (const name of ['a', 'b']) {
      let env = await api.createEnvironment(
        { name: TESTBED_TEMPLATE },
        { dataDir: join(dir, `data-${name}`), processors: 1 },
      );
      for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const)
        env = await api.transition(env.id, t);
      envs.push(env);
    }
    const [a, b] = envs as [EnvironmentView, EnvironmentView];
    const view = async (e: EnvironmentView): Promise<EnvironmentView> => api.environment(e.id);
    const task = async (e: EnvironmentView, name: string) =>
      (await view(e)).tasks.find((t) => t.name === name)!;
    for (const e of [a, b]) {
      const v = await view(e);
      assert.equal(v.state, 'RUNNING', why());
      assert.deepEqual(v.tasks.map((t) => t.name).sort(), [
        'processor-0',
        'readout-0',
        'readout-1',
        'writer',
      ]);
    }
    const pidsOf = async (e: EnvironmentView): Promise<number[]> =>
      (await view(e)).tasks.map((t) => t.pid!).sort((x, y) => x - y);
    const pidsA = await pidsOf(a);
    const pidsB = await pidsOf(b);
    assert.equal(new Set([...pidsA, ...pidsB]).size, 8, 'eight processes, none shared');

    // The node's metrics tell the two processor-0 apart by their environment.
    const [agent] = await api.agents();
    const text = await (await fetch(`http://${agent!.metrics!}/metrics`)).text();
    for (const e of [a, b])
      assert.ok(
        text
          .split('\n')
          .some(
            (l) =>
              l.startsWith('daq_agent_task_restarts_total{') &&
              l.includes('task="processor-0"') &&
              l.includes(`environment="${e.id}"`),
          ),
        `a restarts counter for ${e.id}/processor-0`,
      );

    // A crash of a's processor-0 is a's: its runbook restarts a's, b's goes on in the process it had.
    await stack.until('data in both runs', 60_000, async () => {
      const balances = await Promise.all([a, b].map((e) => api.runBalance(e.run!)));
      return balances.every((x) => (x.reconciliation?.processed.words ?? 0) > 0);
    });
    const victim = await task(a, 'processor-0');
    const bystander = await task(b, 'processor-0');
    process.kill(victim.pid!, 'SIGKILL');
    await stack.until("a's processor-0 running again in a new process", 90_000, async () => {
      const p = await task(a, 'processor-0');
      return p.state === 'RUNNING' && p.pid !== undefined && p.pid !== victim.pid;
    });
    const after = await task(b, 'processor-0');
    assert.deepEqual([after.state, after.pid], ['RUNNING', bystander.pid], "b's processor-0 untouched");

    // a ends for good; b's processes are b's and stay.
    await api.transition(a.id, 'STOP_ACTIVITY');
    await api.transition(a.id, 'EXIT');
    for (const pid of pidsB) assert.ok(alive(pid), `b's process ${pid} still runs after a's EXIT\n${why()}`);
    assert.equal((await view(b)).state, 'RUNNING');
    await api.transition(b.id, 'STOP_ACTIVITY');
    for (const e of [a, b]) {
      const record = await api.run(e.run!);
      const r = record.reconciliation;
      assert.ok(r, `run ${e.run} has its balance\n${why()}`);
      assert.equal(r.lost, 0, `run ${e.run}: lost 0\n${why()}`);
      assert.equal(r.events.stored, r.events.built, `run ${e.run}: every event built is stored`);
    }
    await api.transition(b.id, 'EXIT');
  });
});
