import type { Environment } from '../environment.js';
import { commandTasks } from './command-tasks.js';

/** RESET: every task back to STANDBY; the processes and their resource locks stay. */
export async function reset(env: Environment): Promise<void> {
  await commandTasks(env, 'RESET');
}
