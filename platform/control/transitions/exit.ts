import type { TransitionContext } from './context.js';

/** EXIT: every task process stopped (also excluded ones) and the environment's resources released. */
export async function exit(env: TransitionContext): Promise<void> {
  await Promise.all(env.tasks().map((t) => env.kill(t.name).catch(() => undefined)));
  env.releaseTasks();
}
