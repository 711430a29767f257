import assert from 'node:assert/strict';
import { DaqError } from '../../protocol/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErsReporter } from '../../lib/ers.js';
import type { ErsIssue } from '../../protocol/ers.js';
import type { TaskReport } from '../../protocol/agent-link.js';
import { Platform } from '../../platform/platform.js';
import { PlatformStore } from '../../platform/store/store.js';
import type { TaskDriver } from '../../platform/control/types.js';
import { SimulatedDriver, simulatedNode } from '../helpers/simulated-driver.js';
import { until } from '../helpers/until.js';
import { loadRunbooks } from '../../platform/runbooks/runbook.js';
import type { EnvironmentView } from '../../platform/platform.js';

/** A task of an environment's view; fails the test naming it when there is none. */
function taskOf(env: EnvironmentView, name: string): EnvironmentView['tasks'][number] {
  const t = env.tasks.find((x) => x.name === name);
  if (t === undefined) throw new Error(`${env.id} has no task ${name}`);
  return t;
}

const TEMPLATE = { name: 'testbed' };
// Two cores: the testbed's two processors take both; readouts and writer share (cores: 0).
const NODE = simulatedNode('n1', 1, 2);

function reportsOf(driver: SimulatedDriver, node: string): TaskReport[] {
  return [...driver.tasks]
    .filter(([, t]) => t.node === node)
    .map(([, t]) => ({
      task: t.spec.task,
      environment: t.spec.environment,
      kind: t.spec.kind,
      state: t.state,
      pid: t.pid,
      restarts: 0,
      cpus: undefined,
      mems: undefined,
      failed: false,
    }));
}

describe('platform/platform', () => {
  let dir: string;
  let stores: PlatformStore[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-platform-'));
    stores = [];
  });
  afterEach(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function platform(driver: TaskDriver, issues: ErsIssue[] = []): Platform {
    const store = new PlatformStore(join(dir, 'platform.db'));
    stores.push(store);
    return new Platform({
      store,
      driver,
      brokers: [],
      actions: { reconcile: () => Promise.resolve() },
      ers: new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
    });
  }

  async function running(p: Platform, driver: SimulatedDriver): Promise<string> {
    await p.agentRegistered(NODE, reportsOf(driver, 'n1'));
    const env = p.createEnvironment(TEMPLATE, {}, 'expert:bob');
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await p.transition(env.id, t, 'bob');
    return env.id;
  }

  it('restarted on its store, reloads environments, runs and placements and takes the agents back', async () => {
    const driver = new SimulatedDriver();
    const first = platform(driver);
    const id = await running(first, driver);
    const run = first.environment(id).run!;
    const free = first.ledger.free();
    const placed = first.ledger.placement(id);
    // The first platform dies without a word; the simulated agent keeps its tasks.
    const second = platform(driver);
    const summary = second.restore();
    assert.deepEqual(summary, { environments: 1, holdingResources: 1, interrupted: [], unreadable: [] });
    const env = second.environment(id);
    assert.equal(env.state, 'RUNNING');
    assert.equal(env.run, run);
    assert.equal(env.runStart, first.environment(id).runStart, 'run times come back from the run registry');
    assert.deepEqual(second.ledger.placement(id), placed, 'the same placement, locked once');
    await second.agentRegistered(NODE, reportsOf(driver, 'n1'));
    assert.deepEqual(second.ledger.free(), free, 'the node registers with exactly the old locks');
    assert.equal(second.environment(id).rollUp, 'RUNNING');
    assert.throws(
      () => second.ledger.allocate('other', [{ task: 'x', cores: 1, memoryMiB: 0 }]),
      /cannot be placed/,
      'the running processors still own their cores',
    );
    await second.transition(id, 'STOP_ACTIVITY', 'bob');
    await second.transition(id, 'START_ACTIVITY', 'bob');
    assert.equal(second.environment(id).run, run + 1, 'run numbers go on from the store');
  });

  it('puts an environment cut mid-transition in ERROR, naming the transition, and EXIT still cleans up', async () => {
    const driver = new SimulatedDriver();
    const hanging: TaskDriver = {
      spawn: (n, s) => driver.spawn(n, s),
      kill: (n, t) => driver.kill(n, t),
      restart: (n, t) => driver.restart(n, t),
      fault: (n, t, f) => driver.fault(n, t, f),
      transition: (n, t, tr) => (tr === 'START' ? new Promise(() => undefined) : driver.transition(n, t, tr)),
    };
    const first = platform(hanging);
    await first.agentRegistered(NODE, []);
    const env = first.createEnvironment(TEMPLATE, {}, 'expert:bob');
    await first.transition(env.id, 'DEPLOY', 'bob');
    await first.transition(env.id, 'CONFIGURE', 'bob');
    void first.transition(env.id, 'START_ACTIVITY', 'bob');
    await new Promise((r) => setImmediate(r));
    const issues: ErsIssue[] = [];
    const second = platform(driver, issues);
    assert.deepEqual(second.restore().interrupted, [env.id]);
    assert.equal(second.environment(env.id).state, 'ERROR');
    assert.ok(
      issues.some((i) => i.name === 'daqops.platform.TransitionFailed' && /START_ACTIVITY/.test(i.message)),
    );
    await second.agentRegistered(NODE, reportsOf(driver, 'n1'));
    await second.transition(env.id, 'EXIT', 'bob');
    assert.equal(driver.tasks.size, 0, 'every task stopped');
    assert.equal(second.ledger.placement(env.id).length, 0, 'and its resources released');
  });

  it('reconciles a registering agent: a task it lost has failed, a task nobody holds is stopped', async () => {
    const driver = new SimulatedDriver();
    const issues: ErsIssue[] = [];
    const p = platform(driver, issues);
    const id = await running(p, driver);
    await driver.spawn('n1', {
      task: 'leftover',
      environment: 'gone-1',
      kind: 'command',
      config: {},
      cpus: [],
      critical: false,
    });
    const reports = reportsOf(driver, 'n1').filter((r) => r.task !== 'readout-1');
    await p.agentRegistered(NODE, reports);
    const env = p.environment(id);
    assert.equal(taskOf(env, 'readout-1').excluded, true, 'a lost non-critical link is taken out');
    assert.equal(env.state, 'RUNNING', 'and the run goes on');
    assert.equal(driver.find('leftover') !== undefined, false, 'the stray task is stopped');
    assert.deepEqual(issues.map((i) => i.name).sort(), [
      'daqops.platform.StrayTask',
      'daqops.platform.TaskExcluded',
      'daqops.platform.TaskFailed',
    ]);
    await p.agentRegistered(
      NODE,
      reportsOf(driver, 'n1').filter((r) => r.task !== 'writer'),
    );
    assert.equal(p.environment(id).state, 'ERROR', 'a lost critical task takes the environment to ERROR');
    assert.ok(
      issues.some((i) => i.name === 'daqops.platform.TaskFailed' && i.parameters['task'] === 'writer'),
    );
  });

  it('a DEPLOY that cannot be placed opens an incident that escalates, and nothing breaks', async () => {
    const driver = new SimulatedDriver();
    const issues: ErsIssue[] = [];
    const store = new PlatformStore(join(dir, 'platform.db'));
    stores.push(store);
    const p = new Platform({
      store,
      driver,
      brokers: [],
      runbooks: loadRunbooks('runbooks'),
      ers: new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
    });
    const env = p.createEnvironment(TEMPLATE, {}, 'expert:bob');
    await assert.rejects(p.transition(env.id, 'DEPLOY', 'bob'), /no node is registered/);
    await until('the incident escalated', () => p.incidents.open()[0]?.recovery === 'escalated');
    const [inc] = p.incidents.open();
    assert.equal(inc?.root.name, 'TransitionFailed');
    assert.equal(inc?.runbook, 'TransitionTimeout');
    assert.equal(inc?.recovery, 'escalated', 'no pager configured: escalated, on the timeline');
    assert.ok(inc?.timeline.some((e) => /no pager configured/.test(e.text)));
    assert.equal(env.state, 'STANDBY');
  });

  it('moves the critical tasks of a lost node to another by the AgentLost runbook; the run goes on', async () => {
    const driver = new SimulatedDriver();
    const store = new PlatformStore(join(dir, 'platform.db'));
    stores.push(store);
    const p = new Platform({ store, driver, brokers: [], runbooks: loadRunbooks('runbooks') });
    await p.agentRegistered(NODE, []);
    const id = p.createEnvironment(TEMPLATE, {}, 'expert:bob').id;
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await p.transition(id, t, 'bob');
    await p.agentRegistered(simulatedNode('n2', 1, 2), []);
    driver.log.length = 0;
    await p.agentLost('n1');
    const env = p.environment(id);
    assert.equal(env.state, 'RUNNING', 'recovered, not ERROR');
    for (const name of ['processor-0', 'processor-1', 'writer']) {
      const t = taskOf(env, name);
      assert.equal(t.node, 'n2', `${name} moved`);
      assert.equal(t.state, 'RUNNING');
      assert.deepEqual(
        driver.log.filter((l) => l.endsWith(` ${name}`)),
        [`n1 kill ${name}`, `n2 spawn ${name}`, `n2 CONFIGURE ${name}`, `n2 START ${name}`],
      );
    }
    const starts = driver.payloads.filter((x) => x.transition === 'START');
    assert.ok(
      starts.length > 0 && starts.every((x) => x.payload['run'] === env.run),
      'the run number goes along',
    );
    assert.equal(taskOf(env, 'readout-0').excluded, true, 'non-critical tasks of the node are excluded');
    assert.equal(taskOf(env, 'readout-0').state, 'LOST', 'on the lost node: LOST, never RUNNING');
    assert.ok(taskOf(env, 'readout-0').lostAt !== undefined, 'with the time it was lost');
    assert.deepEqual(
      p.ledger
        .placement(env.id)
        .filter((x) => x.cpus.length > 0)
        .map((x) => [x.task, x.node, x.cpus]),
      [
        ['processor-0', 'n2', [0]],
        ['processor-1', 'n2', [1]],
      ].sort(),
    );
    const [inc] = p.incidents.open();
    assert.deepEqual(inc?.root.component, { kind: 'node', id: 'n1' });
    assert.equal(inc?.runbook, 'AgentLost');
    assert.equal(p.incidents.open().length, 1, 'one incident for the node and all its tasks');
  });

  it('places readouts on their boards, spreads processors, and drains a node stoplessly; uncordon lets tasks back', async () => {
    const driver = new SimulatedDriver();
    const p = platform(driver);
    const withBoard = (name: string, links: number[]) => ({
      ...simulatedNode(name, 1, 2),
      devices: [{ name: `board-${name}`, numaNode: 0, links }],
    });
    await p.agentRegistered(withBoard('n1', [0]), []);
    await p.agentRegistered(withBoard('n2', [1]), []);
    await p.agentRegistered(simulatedNode('n3', 1, 2), []);
    const id = p.createEnvironment(TEMPLATE, {}, 'expert:bob').id;
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await p.transition(id, t, 'bob');
    let env = p.environment(id);
    assert.equal(taskOf(env, 'readout-0').node, 'n1');
    assert.equal(taskOf(env, 'readout-1').node, 'n2');
    assert.match(taskOf(env, 'readout-1').placement!, /^n2, NUMA 0: link 1 → board-n2 on n2 \(NUMA 0\)$/);
    const procNodes = ['processor-0', 'processor-1'].map((t) => taskOf(env, t).node);
    assert.notEqual(procNodes[0], procNodes[1], 'the consumer group spread over two nodes');
    assert.match(taskOf(env, 'processor-1').placement!, /spread: 0 other processing task\(s\)/);

    // Drain the node of processor-0: it runs on another node before the old copy stops.
    const from = taskOf(env, 'processor-0').node;
    driver.log.length = 0;
    const drained = await p.nodes.drain(from, 'expert:eve');
    env = p.environment(id);
    assert.equal(env.state, 'RUNNING', 'the run goes on');
    const to = taskOf(env, 'processor-0').node;
    assert.notEqual(to, from);
    assert.deepEqual(
      driver.log.filter((l) => l.endsWith(' processor-0')),
      [
        `${to} spawn processor-0`,
        `${to} CONFIGURE processor-0`,
        `${to} START processor-0`,
        `${from} kill processor-0`,
      ],
      'stopless: the new copy joins before the old one leaves',
    );
    assert.ok(drained.moved.some((m) => m.startsWith(`${id}/processor-0 → ${to}`)));
    assert.ok(
      env.tasks.every((t) => t.node !== from || t.excluded),
      `nothing taking part is left on ${from}: ${JSON.stringify(env.tasks.map((t) => [t.name, t.node]))}`,
    );
    if (from === 'n1' || from === 'n2')
      assert.equal(drained.excluded.length, 1, "the readout wired to the node's board is excluded");
    // A drained node takes nothing new; uncordoned, it does again. Both are audited.
    const other = p.createEnvironment(TEMPLATE, { processors: 1 }, 'expert:bob').id;
    const agentsFree = p.ledger.free().filter((f) => f.node === from);
    await p.transition(other, 'DEPLOY', 'bob').catch(() => undefined);
    assert.deepEqual(
      p.ledger.free().filter((f) => f.node === from),
      agentsFree,
      'no new lock on it',
    );
    assert.ok(p.nodes.cordons().some((c) => c.node === from && c.who === 'expert:eve'));
    p.nodes.uncordon(from, 'expert:eve');
    assert.equal(p.ledger.isCordoned(from), false);
    assert.deepEqual(
      p
        .auditLog()
        .filter((a) => a.action.startsWith('node.'))
        .map((a) => [a.action, a.target, a.result]),
      [
        ['node.uncordon', from, 'ok'],
        ['node.drain', from, 'ok'],
      ],
      'newest first',
    );
  });

  it('leaves a task of an environment in ERROR where it is on a drain, saying why, its state untouched', async () => {
    const driver = new SimulatedDriver();
    const p = platform(driver);
    await p.agentRegistered(simulatedNode('n1', 1, 2), []);
    await p.agentRegistered(simulatedNode('n2', 1, 2), []);
    const id = p.createEnvironment(TEMPLATE, { processors: 1 }, 'expert:bob').id;
    await p.transition(id, 'DEPLOY', 'bob');
    await p.transition(id, 'GO_ERROR', 'bob');
    const on = p.environment(id).tasks.find((t) => t.name === 'processor-0')!;
    const drained = await p.nodes.drain(on.node, 'expert:eve');
    assert.ok(
      drained.failed.some(
        (f) => f.startsWith(`${id}/processor-0: `) && /is ERROR: no task can be moved/.test(f),
      ),
      JSON.stringify(drained),
    );
    const after = p.environment(id).tasks.find((t) => t.name === 'processor-0')!;
    assert.deepEqual([after.node, after.state], [on.node, on.state], 'not moved, not marked failed');
  });

  it('refuses to drain a node a critical task is bound to, naming it, and changes nothing', async () => {
    const driver = new SimulatedDriver();
    const p = platform(driver);
    await p.agentRegistered({ ...simulatedNode('n1', 1, 2), devices: [{ name: 'b', links: [0] }] }, []);
    await p.agentRegistered(simulatedNode('n2', 1, 2), []);
    const yaml = `name: critical-readout
roles:
  - name: readout
    tasks:
      - { name: ro, workload: readout, resources: { cores: 0, links: [0] }, config: { link: 0 } }
`;
    const id = p.createEnvironment({ yaml }, {}, 'expert:bob').id;
    await p.transition(id, 'DEPLOY', 'bob');
    await assert.rejects(
      () => p.nodes.drain('n1', 'expert:eve'),
      (e: unknown) =>
        e instanceof DaqError &&
        e.code === 'PLACEMENT_FAILED' &&
        /node n1 cannot be drained: critical-readout-\w+\/ro is critical and reads link\(s\) 0, wired only to n1/.test(
          e.message,
        ),
    );
    assert.equal(p.ledger.isCordoned('n1'), false, 'not cordoned');
    assert.equal(p.environment(id).tasks[0]!.node, 'n1');
  });

  it('a readout moved during a run starts with the run number and the run clock the others got', async () => {
    const driver = new SimulatedDriver();
    const p = platform(driver);
    const id = await running(p, driver);
    await p.agentRegistered(simulatedNode('n2', 1, 2), []);
    const started = driver.payloads.filter((x) => x.transition === 'START' && /^readout-/.test(x.task));
    const epochMs = started[0]?.payload['epochMs'];
    assert.equal(typeof epochMs, 'number', 'readouts get the run clock at START');
    assert.ok(
      started.every((x) => x.payload['epochMs'] === epochMs),
      'one clock for every link',
    );
    const movedWith = () =>
      driver.payloads
        .filter((x) => x.task === 'readout-0')
        .map((x) => [x.transition, x.payload['epochMs'] ?? null]);
    driver.payloads.length = 0;
    const env = await p.moveTask(id, 'readout-0', 'expert:bob');
    assert.equal(taskOf(env, 'readout-0').node, 'n2');
    assert.equal(taskOf(env, 'readout-0').state, 'RUNNING');
    assert.deepEqual(
      movedWith(),
      [
        ['CONFIGURE', null],
        ['START', epochMs],
      ],
      'CONFIGURE then START with the same epoch, not a clock of its own',
    );
    assert.ok(p.auditLog().some((a) => a.action === 'env.move-task' && a.detail === 'readout-0 → n2'));
    // A restarted platform keeps the clock too (it is in the store): moved back, the same epoch.
    const again = platform(driver);
    again.restore();
    await again.agentRegistered(NODE, reportsOf(driver, 'n1'));
    await again.agentRegistered(simulatedNode('n2', 1, 2), reportsOf(driver, 'n2'));
    driver.payloads.length = 0;
    await again.moveTask(id, 'readout-0', 'expert:bob');
    assert.deepEqual(movedWith(), [
      ['CONFIGURE', null],
      ['START', epochMs],
    ]);
  });

  it('a lost agent fails its tasks (non-critical excluded, critical → ERROR) and frees its node', async () => {
    const driver = new SimulatedDriver();
    const issues: ErsIssue[] = [];
    const p = platform(driver, issues);
    const id = await running(p, driver);
    await p.agentLost('n1');
    const env = p.environment(id);
    assert.equal(env.state, 'ERROR');
    assert.equal(taskOf(env, 'readout-0').excluded, true);
    assert.match(taskOf(env, 'processor-0').message ?? '', /agent of node n1 lost/);
    assert.deepEqual(p.ledger.free(), [], 'the node is gone from placement');
    assert.ok(issues.some((i) => i.name === 'daqops.platform.AgentLost' && i.parameters['node'] === 'n1'));
  });
});
