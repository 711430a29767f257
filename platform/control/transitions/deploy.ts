import { DaqError } from '../../../protocol/errors.js';
import { traceparentOf } from '../../../lib/tracing.js';
import type { TaskSpec } from '../../../protocol/agent-link.js';
import { markTaskFailed, type Environment } from '../environment.js';
import type { TaskStatus } from '../types.js';

/** What the agent of a task's node is asked to run (its configuration comes at CONFIGURE). */
export function taskSpec(env: Environment, s: TaskStatus): TaskSpec {
  return {
    task: s.name,
    environment: env.id,
    kind: s.workload,
    config: {},
    cpus: s.cpus,
    memoryNode: s.numa,
    critical: s.critical,
  };
}

/** DEPLOY: place every task (all or nothing, resources locked) and start its process in STANDBY. */
export async function deploy(env: Environment): Promise<void> {
  const placed = env.ctx.ledger.allocate(
    env.id,
    env.template.tasks.map((t) => ({
      task: t.name,
      cores: t.resources.cores,
      numa: t.resources.numa,
      near: t.resources.near,
      memoryMiB: t.resources.memoryMiB,
    })),
  );
  env.tasks.clear();
  for (const [i, p] of placed.entries()) {
    const t = env.template.tasks[i]!;
    env.tasks.set(t.name, {
      name: t.name,
      workload: t.workload,
      node: p.node,
      cpus: p.cpus,
      numa: p.numa,
      memoryMiB: p.memoryMiB,
      critical: t.critical,
      state: 'STANDBY',
      excluded: false,
      pid: undefined,
      message: undefined,
    });
  }
  const traceparent = traceparentOf();
  const failures: string[] = [];
  await Promise.all(
    [...env.tasks.values()].map(async (s) => {
      try {
        env.taskAnswered(s, await env.ctx.driver.spawn(s.node, taskSpec(env, s), traceparent));
      } catch (err) {
        markTaskFailed(s, err instanceof Error ? err.message : String(err));
        if (s.critical) failures.push(`${s.name}: ${s.message}`);
        else await env.taskFailed(s);
      }
    }),
  );
  if (failures.length > 0)
    throw new DaqError('TASK_FAILED', `DEPLOY failed for critical task(s): ${failures.join('; ')}`);
}
