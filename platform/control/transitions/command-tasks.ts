import type { TaskTransition } from '../../../protocol/states.js';
import { traceparentOf } from '../../../lib/tracing.js';
import type { Environment } from '../environment.js';
import type { TaskStatus } from '../types.js';

/**
 * Sends one task transition to every active task in parallel. A non-critical task that fails is excluded
 * and the transition goes on; a critical one fails the transition (after all answers are in).
 */
export async function commandTasks(
  env: Environment,
  transition: TaskTransition,
  payload: (t: TaskStatus) => Readonly<Record<string, unknown>> = () => ({}),
): Promise<void> {
  const traceparent = traceparentOf();
  const failures: string[] = [];
  await Promise.all(
    env.activeTasks().map(async (t) => {
      try {
        const r = await env.ctx.driver.transition(t.node, t.name, transition, payload(t), traceparent);
        t.state = r.state;
        t.pid = r.pid;
      } catch (err) {
        t.message = err instanceof Error ? err.message : String(err);
        t.state = 'ERROR';
        if (t.critical) failures.push(`${t.name}: ${t.message}`);
        else await env.taskFailed(t);
      }
    }),
  );
  if (failures.length > 0)
    throw new Error(`${transition} failed for critical task(s): ${failures.join('; ')}`);
}
