import assert from 'node:assert/strict';
import {
  DaqError,
  environmentMachine,
  environmentStates,
  environmentTransitions,
  type EnvironmentState,
  type EnvironmentTransition,
} from '../../../protocol/index.js';
import { Environment, type EnvironmentContext } from '../../../platform/control/environment.js';
import type { ControlEvent } from '../../../platform/control/types.js';
import { ResourceLedger } from '../../../platform/placement/ledger.js';
import { parseTemplate } from '../../../platform/workflow/template.js';
import { SimulatedDriver, simulatedNode } from '../../helpers/simulated-driver.js';

const TEMPLATE = `
name: mini
roles:
  - name: readout
    tasks:
      - { name: ro-0, workload: readout, critical: false, resources: { cores: 1 }, config: { link: 0 } }
  - name: processing
    tasks:
      - { name: proc, workload: processor, resources: { cores: 2 } }
`;

function setup(hooks = '', overrides: Partial<EnvironmentContext> = {}) {
  const driver = new SimulatedDriver();
  const ledger = new ResourceLedger();
  ledger.addNode(simulatedNode('n1', 1, 4));
  const events: ControlEvent[] = [];
  const called: string[] = [];
  let run = 0;
  const ctx: EnvironmentContext = {
    driver,
    ledger,
    nextRun: () => Promise.resolve(++run),
    brokers: ['127.0.0.1:9092'],
    actions: {
      note: (args) => {
        called.push(String(args['tag']));
        return Promise.resolve();
      },
      fail: () => Promise.reject(new Error('integrated service down')),
      slow: () => new Promise((r) => setTimeout(r, 200)),
    },
    emit: (e) => events.push(e),
    ...overrides,
  };
  const env = new Environment('env-1', parseTemplate(TEMPLATE + hooks, 'mini.yaml'), ctx);
  return { env, ctx, driver, ledger, events, called };
}

/** The processor task's report when it has gone to ERROR. */
const procError = (failed: boolean) =>
  ({
    task: 'proc',
    environment: 'env-1',
    kind: 'processor',
    state: 'ERROR',
    pid: 1,
    restarts: 0,
    cpus: '1',
    mems: '0',
    failed,
  }) as const;

/** The shortest path of transitions from STANDBY to each state. */
const PATH: Record<EnvironmentState, EnvironmentTransition[]> = {
  STANDBY: [],
  DEPLOYED: ['DEPLOY'],
  CONFIGURED: ['DEPLOY', 'CONFIGURE'],
  RUNNING: ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'],
  ERROR: ['DEPLOY', 'GO_ERROR'],
  DONE: ['EXIT'],
};

describe('platform/control/environment', () => {
  it('starts downstream first and stops upstream first, draining between the roles', async () => {
    const drains: string[][] = [];
    const { env, driver } = setup('', {
      drain: (_env, stopped) => {
        drains.push([...stopped]);
        driver.log.push(`drain after ${stopped.join('+')}`);
        return Promise.resolve();
      },
    });
    await env.transition('DEPLOY');
    await env.transition('CONFIGURE');
    driver.log.length = 0;
    await env.transition('START_ACTIVITY');
    assert.deepEqual(driver.log, ['n1 START proc', 'n1 START ro-0']);
    driver.log.length = 0;
    await env.transition('STOP_ACTIVITY');
    assert.deepEqual(driver.log, ['n1 STOP ro-0', 'drain after readout', 'n1 STOP proc']);
    assert.deepEqual(drains, [['readout']], 'no drain after the last role');
  });

  it('runs the cycle DEPLOY → CONFIGURE → START → STOP → START → STOP → RESET → EXIT on its tasks', async () => {
    const { env, driver, ledger, events } = setup();
    await env.transition('DEPLOY');
    assert.deepEqual(
      env.taskList().map((t) => [t.name, t.node, t.cpus.length]),
      [
        ['ro-0', 'n1', 1],
        ['proc', 'n1', 2],
      ],
    );
    await env.transition('CONFIGURE');
    assert.equal(driver.find('proc')!.state, 'CONFIGURED');
    await env.transition('START_ACTIVITY');
    assert.equal(env.run, 1);
    assert.equal(env.rollUp(), 'RUNNING');
    await env.transition('STOP_ACTIVITY');
    await env.transition('START_ACTIVITY');
    assert.equal(env.run, 2, 'each START_ACTIVITY takes the next run number');
    await env.transition('STOP_ACTIVITY');
    await env.transition('RESET');
    assert.equal(env.rollUp(), 'STANDBY');
    await env.transition('EXIT');
    assert.equal(env.state, 'DONE');
    assert.equal(driver.tasks.size, 0);
    assert.equal(ledger.free()[0]!.freeCores, 4, 'resources released');
    const runs = events
      .filter((e) => e.kind === 'run')
      .map((e) => (e.kind === 'run' ? `${e.run}:${e.time}` : ''));
    assert.deepEqual(runs, [
      '1:start',
      '1:start-completed',
      '1:end',
      '1:end-completed',
      '2:start',
      '2:start-completed',
      '2:end',
      '2:end-completed',
    ]);
    assert.ok(env.runTimes.endCompleted !== undefined);
  });

  it('allows exactly the protocol table: every state × every transition', async () => {
    let checked = 0;
    for (const state of environmentStates) {
      for (const t of environmentTransitions) {
        const { env } = setup();
        for (const step of PATH[state]) await env.transition(step);
        assert.equal(env.state, state);
        if (environmentMachine[t].from.includes(state)) {
          assert.equal(await env.transition(t), environmentMachine[t].to, `${state} × ${t}`);
        } else {
          await assert.rejects(
            env.transition(t),
            (e: unknown) =>
              e instanceof DaqError &&
              e.code === 'ILLEGAL_TRANSITION' &&
              e.message.includes(state) &&
              e.message.includes(t),
          );
          assert.equal(env.state, state, 'a refused transition changes nothing');
        }
        checked++;
      }
    }
    assert.equal(checked, environmentStates.length * environmentTransitions.length);
  });

  it('runs hooks by trigger and weight; a failing critical hook sends the environment to ERROR', async () => {
    const { env, called, events } = setup(`hooks:
  - { name: b, trigger: before_CONFIGURE+5, call: { action: note, args: { tag: b } } }
  - { name: a, trigger: before_CONFIGURE-5, call: { action: note, args: { tag: a } } }
  - { name: c, trigger: after_START_ACTIVITY, call: { action: note, args: { tag: c } } }
  - { name: optional, trigger: after_CONFIGURE, critical: false, call: { action: fail } }
  - { name: late, trigger: before_STOP_ACTIVITY, timeout: 50ms, call: { action: slow } }`);
    await env.transition('DEPLOY');
    await env.transition('CONFIGURE');
    assert.deepEqual(called, ['a', 'b']);
    assert.ok(
      events.some((e) => e.kind === 'hook' && e.hook === 'optional' && e.status === 'DONE_ERROR'),
      'non-critical failure reported',
    );
    await env.transition('START_ACTIVITY');
    assert.deepEqual(called, ['a', 'b', 'c']);
    await assert.rejects(env.transition('STOP_ACTIVITY'), /late did not finish within 50 ms/);
    assert.equal(env.state, 'ERROR');
    assert.ok(events.some((e) => e.kind === 'hook' && e.hook === 'late' && e.status === 'DONE_TIMEOUT'));
    assert.ok(
      events.some(
        (e) => e.kind === 'environment' && e.transition === 'STOP_ACTIVITY' && e.status === 'DONE_ERROR',
      ),
    );
    assert.equal(await env.transition('RECOVER'), 'DEPLOYED');
    assert.equal(env.rollUp(), 'STANDBY');
  });

  it('excludes a failed non-critical task and keeps running; a critical failure means ERROR unless healed', async () => {
    const { env } = setup();
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await env.transition(t);
    await env.onTaskReport({
      task: 'ro-0',
      environment: 'env-1',
      kind: 'readout',
      state: 'ERROR',
      pid: 1,
      restarts: 0,
      cpus: '0',
      mems: '0',
      failed: true,
      message: 'link down',
    });
    assert.equal(env.state, 'RUNNING');
    assert.equal(env.task('ro-0')!.excluded, true);
    assert.equal(env.rollUp(), 'RUNNING', 'excluded tasks leave the roll-up');
    await env.transition('STOP_ACTIVITY');
    assert.equal(env.task('ro-0')!.state, 'ERROR', 'an excluded task is no longer commanded');

    let healed = 0;
    const healing = setup('', { onTaskFailure: () => Promise.resolve(++healed > 0) });
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await healing.env.transition(t);
    await healing.env.onTaskReport(procError(false));
    assert.equal(healing.env.state, 'RUNNING');
    assert.equal(healed, 1);

    const plain = setup();
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await plain.env.transition(t);
    await plain.env.onTaskReport(procError(true));
    assert.equal(plain.env.state, 'ERROR');
  });

  it('fails a transition on a critical task error, excludes a non-critical one, and refuses overlapping transitions', async () => {
    const { env, driver } = setup();
    await env.transition('DEPLOY');
    driver.failOn.set('ro-0', 'CONFIGURE');
    await env.transition('CONFIGURE');
    assert.equal(env.task('ro-0')!.excluded, true);
    driver.failOn.set('proc', 'START');
    await assert.rejects(env.transition('START_ACTIVITY'), /critical task\(s\): proc: proc refuses START/);
    assert.equal(env.state, 'ERROR');
    const other = setup();
    const first = other.env.transition('DEPLOY');
    await assert.rejects(other.env.transition('EXIT'), /busy with DEPLOY/);
    await first;
  });

  it('refuses to deploy what does not fit, naming the task, and stays in STANDBY', async () => {
    const { ctx } = setup();
    const big = new Environment(
      'env-big',
      parseTemplate(TEMPLATE.replace('cores: 2', 'cores: 9'), 'mini.yaml'),
      ctx,
    );
    await assert.rejects(big.transition('DEPLOY'), /proc: needs 9 core/);
    assert.equal(big.state, 'STANDBY', 'nothing was placed, nothing to clean up');
    assert.equal(big.taskList().length, 0);
  });
});
