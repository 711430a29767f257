import assert from 'node:assert/strict';
import { stopActivity } from '../../../../platform/control/transitions/stop-activity.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/stop-activity', () => {
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

  it('STOP_ACTIVITY leaves alone a task that finished by itself: not asked, not excluded, in the next run', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'RUNNING', placedIn: 'RUNNING', run: 5 });
    // The bounded readout sent its last timeframe: its workload moved it back by itself.
    env.task('ro-0').state = 'CONFIGURED';
    await stopActivity(env);
    assert.ok(!env.calls.includes('STOP ro-0'), env.calls.join(', '));
    assert.ok(
      env.calls.includes('drain readout'),
      'what it sent is still drained before the next role stops',
    );
    assert.deepEqual(env.failed, []);
    assert.equal(env.task('ro-0').excluded, false);
    assert.ok(
      env.activeTasks().some((t) => t.name === 'ro-0'),
      'it takes part in the next START',
    );
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
});
