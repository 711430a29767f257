import type { TransitionContext } from './context.js';
import { deploy } from './deploy.js';
import { exit } from './exit.js';

/** RECOVER (ERROR → DEPLOYED): stop what is left, release it, and deploy the tasks afresh in STANDBY. */
export async function recover(env: TransitionContext): Promise<void> {
  await exit(env);
  await deploy(env);
}
