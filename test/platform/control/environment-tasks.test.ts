import assert from 'node:assert/strict';
import { EnvironmentTasks } from '../../../platform/control/environment-tasks.js';
import type { ControlEvent } from '../../../platform/control/types.js';
import { parseTemplate } from '../../../platform/workflow/template.js';
import { MINI, taskReport } from '../../helpers/environments.js';

function tasks() {
  const events: ControlEvent[] = [];
  const t = new EnvironmentTasks('env-1', (e) => events.push(e));
  const template = parseTemplate(MINI, 'mini.yaml');
  t.place(
    template,
    template.tasks.map((x, i) => ({ task: x.name, node: 'n1', numa: 0, cpus: [i], memoryMiB: 0 })),
  );
  const said = () =>
    events.flatMap((e) => (e.kind === 'task' ? [`${e.task} ${e.state}${e.excluded ? ' x' : ''}`] : []));
  return { t, said };
}

describe('platform/control/environment-tasks', () => {
  it('mirrors a report, says the state it was in, and logs only a change of state', () => {
    const { t, said } = tasks();
    assert.equal(t.mirror(taskReport('env-1', 'proc', 'processor', 'CONFIGURED', { pid: 42 })), 'STANDBY');
    assert.equal(t.mirror(taskReport('env-1', 'proc', 'processor', 'CONFIGURED', { pid: 42 })), 'CONFIGURED');
    assert.equal(t.mirror(taskReport('env-1', 'gone', 'processor', 'RUNNING')), undefined);
    assert.equal(t.get('proc')?.pid, 42);
    assert.deepEqual(said(), ['proc CONFIGURED']);
  });

  it('fails a task through the table, excludes only what is not critical, and ends every task with KILL', () => {
    const { t, said } = tasks();
    assert.equal(t.fail('ro-0', 'board gone').state, 'ERROR');
    t.exclude('ro-0', 'board gone');
    t.exclude('ro-0', 'again');
    assert.throws(() => t.exclude('proc', 'x'), /critical: it cannot be excluded/);
    assert.throws(() => t.fail('nope', 'x'), /no task nope in env-1/);
    t.killAll();
    assert.deepEqual(
      t.list().map((x) => x.state),
      ['DONE', 'DONE'],
    );
    assert.deepEqual(said(), ['ro-0 ERROR x'], 'one exclusion event');
  });

  it('places a task anew in STANDBY on its new node, its process yet to start', () => {
    const { t } = tasks();
    t.mirror(taskReport('env-1', 'proc', 'processor', 'CONFIGURED', { pid: 42 }));
    const moved = t.replace('proc', { task: 'proc', node: 'n2', numa: 1, cpus: [3], memoryMiB: 0 });
    assert.deepEqual([moved.node, moved.state, moved.pid, moved.cpus], ['n2', 'STANDBY', undefined, [3]]);
    assert.equal(t.saved().find((x) => x.name === 'proc')?.node, 'n2');
  });
});
