import type { Environment } from '../environment.js';
import { commandTasks } from './command-tasks.js';

/** A task's CONFIGURE payload: its template configuration with the environment's namespace and Kafka. */
export function configurePayload(env: Environment, task: string): Readonly<Record<string, unknown>> {
  return {
    config: {
      ...(env.template.tasks.find((t) => t.name === task)?.config ?? {}),
      namespace: env.namespace,
      environment: env.id,
      task,
      brokers: env.ctx.brokers,
    },
  };
}

/** CONFIGURE: every task gets its configuration. */
export async function configure(env: Environment): Promise<void> {
  await commandTasks(env, 'CONFIGURE', (t) => configurePayload(env, t.name));
}
