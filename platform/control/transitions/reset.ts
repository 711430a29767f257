import { commandTasks } from './command-tasks.js';
import type { TransitionContext } from './context.js';

/** RESET: every task back to STANDBY; the processes and their resource locks stay. */
export async function reset(env: TransitionContext): Promise<void> {
  await commandTasks(env, 'RESET');
}
