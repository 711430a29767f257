import type { TaskReport } from '../../../protocol/agent-link.js';
import { DaqError } from '../../../protocol/errors.js';
import { taskPathTo, type EnvironmentState, type TaskState } from '../../../protocol/states.js';
import { traceparentOf } from '../../../lib/tracing.js';
import type { Environment } from '../environment.js';
import type { TaskStatus } from '../types.js';
import { configurePayload } from './configure.js';
import { taskSpec } from './deploy.js';
import { startPayload } from './start-activity.js';

/** The state a task of an environment in `state` is in when all is well. */
const taskStateIn: Partial<Record<EnvironmentState, TaskState>> = {
  DEPLOYED: 'STANDBY',
  CONFIGURED: 'CONFIGURED',
  RUNNING: 'RUNNING',
};

/**
 * Places a task again away from its node and brings it to its environment's state there, with the
 * transitions the task table gives and the payloads the environment's own transitions send: CONFIGURE its
 * configuration, START the run number and, for a readout, the run's common clock (so the moved readout
 * numbers timeframes as the others do). Resolves with the last report of the moved task.
 */
export async function moveTask(env: Environment, task: string): Promise<TaskReport> {
  const t = env.tasks.get(task);
  const tt = env.template.tasks.find((x) => x.name === task);
  if (t === undefined || tt === undefined)
    throw new DaqError('NOT_FOUND', `no task ${task} in ${env.id}`, { field: 'task' });
  const target = taskStateIn[env.state];
  if (target === undefined)
    throw new DaqError('ILLEGAL_TRANSITION', `environment ${env.id} is ${env.state}: no task can be moved`, {
      field: 'state',
    });
  const path = taskPathTo(target);
  const p = env.ctx.ledger.move(env.id, task, t.node, {
    task,
    cores: tt.resources.cores,
    numa: tt.resources.numa,
    near: tt.resources.near,
    memoryMiB: tt.resources.memoryMiB,
  });
  await env.ctx.driver.kill(t.node, task).catch(() => undefined);
  const moved: TaskStatus = {
    ...t,
    node: p.node,
    cpus: p.cpus,
    numa: p.numa,
    state: 'STANDBY',
    pid: undefined,
    message: undefined,
  };
  env.tasks.set(task, moved);
  const tp = traceparentOf();
  let r = await env.ctx.driver.spawn(p.node, taskSpec(env, moved), tp);
  for (const step of path) {
    const payload = step === 'CONFIGURE' ? configurePayload(env, task) : startPayload(env, task);
    r = await env.ctx.driver.transition(p.node, task, step, payload, tp);
  }
  return r;
}
