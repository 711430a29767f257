import { DaqError } from '../../../protocol/errors.js';
import { traceparentOf } from '../../../lib/tracing.js';
import type { TaskSpec } from '../../../protocol/agent-link.js';
import type { TaskStatus } from '../types.js';
import type { TransitionContext } from './context.js';

/** What the agent of a task's node is asked to run (its configuration comes at CONFIGURE). */
export function taskSpec(env: TransitionContext, s: Readonly<TaskStatus>): TaskSpec {
  return {
    task: s.name,
    environment: env.id,
    kind: s.workload,
    config: {},
    cpus: s.cpus,
    memoryNode: s.numa,
    critical: s.critical,
    ...(s.generation === undefined ? {} : { generation: s.generation }),
  };
}

/**
 * DEPLOY: the namespace's topics made for the cluster they are on; every task placed (all or nothing,
 * resources locked) and its process started in STANDBY.
 */
export async function deploy(env: TransitionContext): Promise<void> {
  // The topics first: a replication the cluster cannot honour fails DEPLOY before anything is placed.
  await env.prepareTopics();
  const placed = env.placeTasks();
  const traceparent = traceparentOf();
  const failures: string[] = [];
  await Promise.all(
    placed.map(async (s) => {
      try {
        env.answered(s.name, await env.spawn(s.name, taskSpec(env, s), traceparent));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await env.taskFailed(s.name, message);
        if (s.critical) failures.push(`${s.name}: ${message}`);
      }
    }),
  );
  if (failures.length > 0)
    throw new DaqError('TASK_FAILED', `DEPLOY failed for critical task(s): ${failures.join('; ')}`);
}
