import assert from 'node:assert/strict';
import { ErsReporter } from '../../../lib/ers.js';
import type { ErsIssue } from '../../../protocol/ers.js';
import { ControlEventSink } from '../../../platform/control/event-sink.js';
import type { ControlEvent } from '../../../platform/control/types.js';
import type { SignalInput } from '../../../platform/incidents/types.js';
import { environments, miniEnvironment } from '../../helpers/environments.js';

describe('platform/control/event-sink', () => {
  it('raises the ERS issue of each failure, signals the incidents, keeps the run registry, and passes every event on', () => {
    const h = environments();
    const env = miniEnvironment(h);
    const issues: ErsIssue[] = [];
    const signals: SignalInput[] = [];
    const passed: ControlEvent[] = [];
    const sink = new ControlEventSink({
      store: h.store,
      environments: h.repo,
      signal: (s) => signals.push(s),
      startedBy: () => 'shifter:alice',
      ers: new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
      next: (e) => passed.push(e),
    });
    const at = new Date().toISOString();
    const events: ControlEvent[] = [
      { kind: 'run', environment: env.id, run: 7, at, time: 'start' },
      { kind: 'run', environment: env.id, run: 7, at, time: 'start-completed' },
      {
        kind: 'environment',
        environment: env.id,
        transition: 'CONFIGURE',
        step: 'after',
        status: 'DONE_ERROR',
        state: 'ERROR',
        at,
        error: 'proc refused',
      },
      {
        kind: 'hook',
        environment: env.id,
        hook: 'h',
        transition: 'START_ACTIVITY',
        step: 'before',
        status: 'DONE_TIMEOUT',
        at,
      },
      {
        kind: 'task',
        environment: env.id,
        task: 'ro-0',
        state: 'ERROR',
        excluded: true,
        at,
        message: 'excluded: failed',
      },
      {
        kind: 'task',
        environment: env.id,
        task: 'proc',
        state: 'ERROR',
        excluded: false,
        at,
        message: 'exit 3',
      },
      {
        kind: 'environment',
        environment: env.id,
        transition: 'DEPLOY',
        step: 'after',
        status: 'DONE_OK',
        state: 'DEPLOYED',
        at,
      },
    ];
    for (const e of events) sink.on(e);
    assert.deepEqual(
      issues.map((i) => i.name),
      [
        'daqops.platform.TransitionFailed',
        'daqops.platform.HookFailed',
        'daqops.platform.TaskExcluded',
        'daqops.platform.TaskFailed',
      ],
    );
    assert.ok(!signals.some((s) => s.component.id === 'ro-0'), 'an excluded task is not a signal of its own');
    assert.ok(signals.some((s) => s.name === 'TransitionFailed'));
    const run = h.store.run(7);
    assert.equal(run?.startedBy, 'shifter:alice');
    assert.equal(run?.template, 'mini');
    assert.equal(run?.startCompleted, at);
    assert.equal(passed.length, events.length);
  });
});
