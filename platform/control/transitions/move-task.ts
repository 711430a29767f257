import type { TaskReport } from '../../../protocol/agent-link.js';
import { DaqError } from '../../../protocol/errors.js';
import { taskPathTo, type EnvironmentState, type TaskState } from '../../../protocol/states.js';
import { traceparentOf } from '../../../lib/tracing.js';
import { configurePayload } from './configure.js';
import type { TransitionContext } from './context.js';
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
 * numbers timeframes as the others do). Resolves with the last report of the moved task, which the
 * environment applies with its failure semantics. `stopless`: the old process stops only after the new
 * one reached the environment's state (a drain), not before (a lost node, where it is gone anyway).
 */
export async function moveTask(env: TransitionContext, task: string, stopless = false): Promise<TaskReport> {
  if (!env.tasks().some((t) => t.name === task) || !env.template.tasks.some((x) => x.name === task))
    throw new DaqError('NOT_FOUND', `no task ${task} in ${env.id}`, { field: 'task' });
  const target = taskStateIn[env.state];
  if (target === undefined)
    throw new DaqError('ILLEGAL_TRANSITION', `environment ${env.id} is ${env.state}: no task can be moved`, {
      field: 'state',
    });
  const from = env.tasks().find((t) => t.name === task)!.node;
  const moved = await env.replaceTask(task, stopless);
  const tp = traceparentOf();
  try {
    let r = await env.spawn(task, taskSpec(env, moved), tp);
    for (const step of taskPathTo(target)) {
      const payload = step === 'CONFIGURE' ? configurePayload(env, task) : startPayload(env, task);
      r = await env.command(task, step, payload, tp);
    }
    return r;
  } finally {
    // Stopless (a drain): the old copy leaves once the new one has joined — a processor's group takes the
    // new member before the old one's partitions move — or when the new one failed: never two copies
    // the platform does not track.
    if (stopless) await env.killOn(from, task);
  }
}
