/** Each transition on its own, against a fake context: what it asks of the environment, in which order. */
import assert from 'node:assert/strict';
import { configure } from '../../../../platform/control/transitions/configure.js';
import { deploy } from '../../../../platform/control/transitions/deploy.js';
import { exit } from '../../../../platform/control/transitions/exit.js';
import { goError } from '../../../../platform/control/transitions/go-error.js';
import { recover } from '../../../../platform/control/transitions/recover.js';
import { reset } from '../../../../platform/control/transitions/reset.js';
import { startActivity } from '../../../../platform/control/transitions/start-activity.js';
import { stopActivity } from '../../../../platform/control/transitions/stop-activity.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions', () => {
  it('DEPLOY places every task and spawns each; a non-critical one that fails is handed back, not fatal', async () => {
    const env = new FakeTransitionContext(undefined, { refuse: { 'ro-0 spawn': 'no board' } });
    await deploy(env);
    assert.equal(env.calls[0], 'place');
    assert.deepEqual(env.calls.slice(1).sort(), [
      'spawn proc-0',
      'spawn proc-1',
      'spawn ro-0',
      'spawn writer',
    ]);
    assert.deepEqual(env.failed, ['ro-0']);
    assert.equal(env.task('ro-0').excluded, true);
  });

  it('DEPLOY fails with TASK_FAILED naming a critical task that did not start', async () => {
    const env = new FakeTransitionContext(undefined, { refuse: { 'writer spawn': 'disk full' } });
    await assert.rejects(deploy(env), (e: unknown) => {
      const err = e as { code: string; message: string };
      return (
        err.code === 'TASK_FAILED' &&
        /DEPLOY failed for critical task\(s\): writer: disk full/.test(err.message)
      );
    });
  });

  it('CONFIGURE sends each task its configuration, the namespace and Kafka, and the masks to readouts and processors', async () => {
    const env = new FakeTransitionContext(undefined, {
      placedIn: 'STANDBY',
      masks: [{ chamber: 1, layer: 2, cell: 3 }],
    });
    await configure(env);
    const sent = Object.fromEntries(
      env.payloads.map((p) => [p.task, p.payload['config'] as Record<string, unknown>]),
    );
    assert.equal(sent['ro-0']!['link'], 0);
    assert.equal(sent['writer']!['namespace'], 'ns-1');
    assert.deepEqual(sent['proc-0']!['brokers'], ['127.0.0.1:9092']);
    assert.deepEqual(sent['ro-0']!['maskedCells'], [{ chamber: 1, layer: 2, cell: 3 }]);
    assert.equal(sent['writer']!['maskedCells'], undefined, 'the writer reads no cells');
  });

  it('START_ACTIVITY begins the run, starts downstream first, gives the readouts the clock, then records start-completed', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'CONFIGURED', placedIn: 'CONFIGURED' });
    const before = Date.now();
    await startActivity(env);
    assert.equal(env.calls[0], 'run start');
    assert.deepEqual(env.calls.slice(1), [
      'START writer',
      'START proc-0',
      'START proc-1',
      'START ro-0',
      'run start-completed',
    ]);
    assert.ok(env.epochMs! >= before + 2000, 'timeframe 0 lies ahead of the START');
    const ro = env.payloads.find((p) => p.task === 'ro-0')!.payload;
    assert.deepEqual(ro, { run: env.run, epochMs: env.epochMs });
    assert.deepEqual(env.payloads.find((p) => p.task === 'writer')!.payload, { run: env.run });
  });

  it('STOP_ACTIVITY stops upstream first and drains between the roles; the readouts get one stop time', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'RUNNING', placedIn: 'RUNNING', run: 5 });
    await stopActivity(env);
    assert.deepEqual(env.calls, [
      'run end',
      'STOP ro-0',
      'drain readout',
      'STOP proc-0',
      'STOP proc-1',
      'drain readout,processor',
      'STOP writer',
      'run end-completed',
    ]);
    assert.equal(typeof env.payloads[0]!.payload['stopAtMs'], 'number');
    assert.deepEqual(env.payloads.at(-1)!.payload, {}, 'only the readouts stop at a set time');
  });

  it('STOP_ACTIVITY fails naming a critical task that refused, after every task was asked', async () => {
    const env = new FakeTransitionContext(undefined, {
      state: 'RUNNING',
      placedIn: 'RUNNING',
      refuse: { 'proc-0 STOP': 'stuck' },
    });
    await assert.rejects(stopActivity(env), /STOP failed for critical task\(s\): proc-0: stuck/);
    assert.ok(env.calls.includes('STOP proc-1'), 'its sibling was asked too');
    assert.ok(!env.calls.includes('STOP writer'), 'the next role is not stopped');
  });

  it('RESET sends RESET to the active tasks only; EXIT kills every task and releases; GO_ERROR touches nothing', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'CONFIGURED', placedIn: 'CONFIGURED' });
    await env.taskFailed('ro-0', 'gone'); // excluded
    await reset(env);
    assert.deepEqual(env.calls.sort(), ['RESET proc-0', 'RESET proc-1', 'RESET writer']);
    env.calls.length = 0;
    await goError(env);
    assert.deepEqual(env.calls, []);
    await exit(env);
    assert.deepEqual(env.calls.slice(0, 4).sort(), [
      'kill proc-0',
      'kill proc-1',
      'kill ro-0',
      'kill writer',
    ]);
    assert.equal(env.calls.at(-1), 'release');
  });

  it('RECOVER stops and releases what is left, then deploys afresh', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'ERROR', placedIn: 'ERROR' });
    await recover(env);
    const release = env.calls.indexOf('release');
    const place = env.calls.indexOf('place');
    assert.ok(release > 0 && place > release, env.calls.join(', '));
    assert.ok(env.tasks().every((t) => t.state === 'STANDBY'));
  });
});
