import { DaqError } from '../../../protocol/errors.js';
import type { TaskTransition } from '../../../protocol/states.js';
import { traceparentOf } from '../../../lib/tracing.js';
import type { TaskStatus } from '../types.js';
import type { TransitionContext } from './context.js';

/**
 * Sends one task transition to every active task in parallel. A non-critical task that fails is excluded
 * and the transition goes on; a critical one fails the transition (after all answers are in).
 */
export async function commandTasks(
  env: TransitionContext,
  transition: TaskTransition,
  payload: (t: Readonly<TaskStatus>) => Readonly<Record<string, unknown>> = () => ({}),
  which: (t: Readonly<TaskStatus>) => boolean = () => true,
): Promise<void> {
  const traceparent = traceparentOf();
  const failures: string[] = [];
  await Promise.all(
    env
      .activeTasks()
      .filter(which)
      .map(async (t) => {
        try {
          env.answered(t.name, await env.command(t.name, transition, payload(t), traceparent));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          await env.taskFailed(t.name, message);
          if (t.critical) failures.push(`${t.name}: ${message}`);
        }
      }),
  );
  if (failures.length > 0)
    throw new DaqError('TASK_FAILED', `${transition} failed for critical task(s): ${failures.join('; ')}`);
}

/**
 * The environment's roles in dataflow order (as the template lists them: readout → processing → storage),
 * each with its active tasks. START runs them downstream first, STOP upstream first.
 */
export function stages(env: TransitionContext): { role: string; tasks: Readonly<TaskStatus>[] }[] {
  const roleOf = new Map(env.template.tasks.map((t) => [t.name, t.role]));
  const out: { role: string; tasks: Readonly<TaskStatus>[] }[] = [];
  for (const t of env.activeTasks()) {
    const role = roleOf.get(t.name) ?? '';
    const stage = out.find((s) => s.role === role);
    if (stage === undefined) out.push({ role, tasks: [t] });
    else stage.tasks.push(t);
  }
  const order = [...new Set(env.template.tasks.map((t) => t.role))];
  return out.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
}
