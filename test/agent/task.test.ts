import assert from 'node:assert/strict';
import { SupervisedTask } from '../../agent/task.js';
import { DEFAULT_RESTART_POLICY } from '../../agent/restart-policy.js';

const task = (kind = 'processor') =>
  new SupervisedTask(
    { task: 'p0', environment: 'env-1', kind, config: {}, cpus: [1], critical: true },
    DEFAULT_RESTART_POLICY,
    () => 0,
  );

describe('agent/task', () => {
  it('moves only through the task table, and keeps the shortest history a restart replays', () => {
    const t = task();
    assert.throws(() => t.move('START'), /task in state STANDBY cannot take transition START/);
    t.commanded('CONFIGURE', { config: { a: 1 } });
    t.commanded('START', { run: 7 });
    assert.equal(t.state, 'RUNNING');
    assert.deepEqual(
      t.history.map((h) => h.transition),
      ['CONFIGURE', 'START'],
    );
    t.commanded('STOP', {});
    assert.deepEqual(
      t.history.map((h) => [h.transition, h.payload]),
      [['CONFIGURE', { config: { a: 1 } }]],
      'stopped: a restart configures it, it does not start it',
    );
    t.commanded('RESET', {});
    assert.deepEqual(t.history, []);
  });

  it('takes a move a workload makes by itself only when the table leads there: a finished run, a failure', () => {
    const t = task();
    t.commanded('CONFIGURE', {});
    t.commanded('START', {});
    assert.equal(t.movedByItself('CONFIGURED'), true, 'a bounded run finished: STOP');
    assert.equal(t.state, 'CONFIGURED');
    assert.equal(t.movedByItself('RUNNING'), false, 'a workload does not start itself');
    assert.equal(t.movedByItself('ERROR'), true);
    assert.equal(t.movedByItself('DONE'), false);
    assert.equal(t.state, 'ERROR');
  });

  it('comes back from ERROR through RECOVER when a new process is up; a command task runs through LAUNCH', () => {
    const t = task();
    t.move('GO_ERROR');
    t.processStarted();
    assert.equal(t.state, 'STANDBY');
    t.restarted();
    assert.equal(t.report().restarts, 1);
    const c = task('command');
    assert.equal(c.isWorkload, false);
    c.move('LAUNCH');
    assert.equal(c.report().state, 'RUNNING');
    assert.equal(c.moveIfAllowed('LAUNCH'), false, 'it runs once');
  });
});
