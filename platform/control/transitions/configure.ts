import type { Environment } from '../environment.js';
import { commandTasks } from './command-tasks.js';

/** CONFIGURE: every task gets its configuration, completed with the environment's namespace and Kafka. */
export async function configure(env: Environment): Promise<void> {
  const byName = new Map(env.template.tasks.map((t) => [t.name, t]));
  await commandTasks(env, 'CONFIGURE', (t) => ({
    config: {
      ...(byName.get(t.name)?.config ?? {}),
      namespace: env.namespace,
      environment: env.id,
      task: t.name,
      brokers: env.ctx.brokers,
    },
  }));
}
