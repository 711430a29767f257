import assert from 'node:assert/strict';
import {
  DaqError,
  allowedEnvironmentTransitions,
  commandedTaskTransitions,
  environmentFailure,
  failedEnvironmentState,
  taskAllows,
  taskPathTo,
  environmentMachine,
  environmentStates,
  environmentTransitions,
  nextEnvironmentState,
  nextTaskState,
  taskMachine,
  taskStates,
  taskTransitions,
  type EnvironmentState,
} from '../../protocol/index.js';

describe('protocol/states', () => {
  it('walks the run cycle DEPLOY → CONFIGURE → START → STOP → RESET → EXIT', () => {
    let s: EnvironmentState = 'STANDBY';
    const seen: EnvironmentState[] = [s];
    for (const t of [
      'DEPLOY',
      'CONFIGURE',
      'START_ACTIVITY',
      'STOP_ACTIVITY',
      'START_ACTIVITY',
      'STOP_ACTIVITY',
      'RESET',
      'EXIT',
    ] as const) {
      s = nextEnvironmentState(s, t);
      seen.push(s);
    }
    assert.deepEqual(seen, [
      'STANDBY',
      'DEPLOYED',
      'CONFIGURED',
      'RUNNING',
      'CONFIGURED',
      'RUNNING',
      'CONFIGURED',
      'DEPLOYED',
      'DONE',
    ]);
  });

  it('recovers from ERROR to DEPLOYED and can always exit from ERROR', () => {
    assert.equal(nextEnvironmentState(nextEnvironmentState('RUNNING', 'GO_ERROR'), 'RECOVER'), 'DEPLOYED');
    assert.equal(nextEnvironmentState('ERROR', 'EXIT'), 'DONE');
  });

  it('refuses every transition not in the table, naming state and transition', () => {
    let refused = 0;
    for (const s of environmentStates) {
      for (const t of environmentTransitions) {
        if (environmentMachine[t].from.includes(s)) continue;
        assert.throws(
          () => nextEnvironmentState(s, t),
          (e: unknown) =>
            e instanceof DaqError &&
            e.code === 'ILLEGAL_TRANSITION' &&
            e.message.includes(s) &&
            e.message.includes(t),
        );
        refused++;
      }
    }
    assert.ok(refused > 30);
    for (const s of taskStates) {
      for (const t of taskTransitions) {
        if (taskMachine[t].from.includes(s)) assert.equal(nextTaskState(s, t), taskMachine[t].to);
        else assert.throws(() => nextTaskState(s, t), /cannot take transition/);
      }
    }
  });

  it('leaves DONE terminal and offers the transitions a UI shows', () => {
    assert.deepEqual(allowedEnvironmentTransitions('DONE'), []);
    assert.deepEqual(allowedEnvironmentTransitions('RUNNING'), ['STOP_ACTIVITY', 'GO_ERROR']);
    assert.deepEqual(allowedEnvironmentTransitions('STANDBY'), ['DEPLOY', 'EXIT']);
  });

  it('has a failure edge from every live state to ERROR, STANDBY included, that is not offered', () => {
    for (const s of environmentStates) {
      if (s === 'ERROR' || s === 'DONE') assert.throws(() => failedEnvironmentState(s), /cannot fail/);
      else assert.equal(failedEnvironmentState(s), 'ERROR');
    }
    assert.ok(!allowedEnvironmentTransitions('STANDBY').includes('GO_ERROR'), 'a shifter is not offered it');
    assert.deepEqual(environmentFailure.from, ['STANDBY', 'DEPLOYED', 'CONFIGURED', 'RUNNING']);
  });

  it('KILL ends a task from any state but DONE and is never commanded', () => {
    for (const s of taskStates)
      if (s === 'DONE') assert.throws(() => nextTaskState(s, 'KILL'));
      else assert.equal(nextTaskState(s, 'KILL'), 'DONE');
    assert.ok(!(commandedTaskTransitions as readonly string[]).includes('KILL'));
    assert.equal(taskAllows('RUNNING', 'STOP'), true);
    assert.equal(taskAllows('STANDBY', 'STOP'), false);
  });

  it('LAUNCH runs a command task from STANDBY only and is never commanded', () => {
    for (const s of taskStates)
      if (s === 'STANDBY') assert.equal(nextTaskState(s, 'LAUNCH'), 'RUNNING');
      else assert.throws(() => nextTaskState(s, 'LAUNCH'), /cannot take transition LAUNCH/);
    assert.ok(!(commandedTaskTransitions as readonly string[]).includes('LAUNCH'));
  });

  it("reads from the table the path of a task placed anew to its environment's state", () => {
    assert.deepEqual(taskPathTo('STANDBY'), []);
    assert.deepEqual(taskPathTo('CONFIGURED'), ['CONFIGURE']);
    assert.deepEqual(taskPathTo('RUNNING'), ['CONFIGURE', 'START']);
    assert.throws(() => taskPathTo('ERROR'), /cannot be brought to ERROR/);
  });
});
