import { DaqError } from '../../../protocol/errors.js';
import type { TaskTransition } from '../../../protocol/states.js';
import { traceparentOf } from '../../../lib/tracing.js';
import { markTaskFailed, type Environment } from '../environment.js';
import type { TaskStatus } from '../types.js';

/**
 * Sends one task transition to every active task in parallel. A non-critical task that fails is excluded
 * and the transition goes on; a critical one fails the transition (after all answers are in).
 */
export async function commandTasks(
  env: Environment,
  transition: TaskTransition,
  payload: (t: TaskStatus) => Readonly<Record<string, unknown>> = () => ({}),
  which: (t: TaskStatus) => boolean = () => true,
): Promise<void> {
  const traceparent = traceparentOf();
  const failures: string[] = [];
  await Promise.all(
    env
      .activeTasks()
      .filter(which)
      .map(async (t) => {
        try {
          env.taskAnswered(
            t,
            await env.ctx.driver.transition(t.node, t.name, transition, payload(t), traceparent),
          );
        } catch (err) {
          markTaskFailed(t, err instanceof Error ? err.message : String(err));
          if (t.critical) failures.push(`${t.name}: ${t.message}`);
          else await env.taskFailed(t);
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
export function stages(env: Environment): { role: string; tasks: TaskStatus[] }[] {
  const roleOf = new Map(env.template.tasks.map((t) => [t.name, t.role]));
  const out: { role: string; tasks: TaskStatus[] }[] = [];
  for (const t of env.activeTasks()) {
    const role = roleOf.get(t.name) ?? '';
    const stage = out.find((s) => s.role === role);
    if (stage === undefined) out.push({ role, tasks: [t] });
    else stage.tasks.push(t);
  }
  const order = [...new Set(env.template.tasks.map((t) => t.role))];
  return out.sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
}
