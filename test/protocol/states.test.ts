import assert from 'node:assert/strict';
import {
  DaqError,
  allowedEnvironmentTransitions,
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
});
