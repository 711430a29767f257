import { commandTasks } from './command-tasks.js';
import type { TransitionContext } from './context.js';

const MASKED_BY = new Set(['readout', 'processor']);

/** A task's CONFIGURE payload: its template configuration with the environment's namespace and Kafka. */
export function configurePayload(env: TransitionContext, task: string): Readonly<Record<string, unknown>> {
  const t = env.template.tasks.find((x) => x.name === task);
  // The masks set for this CONFIGURE go to the workloads that read cells: readouts and processors.
  const masked = t !== undefined && MASKED_BY.has(t.workload) && env.masks.length > 0;
  // The copy's placement generation: the writer fences its run directory with it.
  const generation = env.tasks().find((x) => x.name === task)?.generation;
  return {
    config: {
      ...(t?.config ?? {}),
      namespace: env.namespace,
      environment: env.id,
      task,
      brokers: env.brokers,
      ...(masked ? { maskedCells: env.masks.map((m) => ({ ...m })) } : {}),
      ...(generation === undefined ? {} : { generation }),
    },
  };
}

/** CONFIGURE: every task gets its configuration. */
export async function configure(env: TransitionContext): Promise<void> {
  await commandTasks(env, 'CONFIGURE', (t) => configurePayload(env, t.name));
}
