/** Transition → what it does to the tasks (one file each); the environment runs hooks around them. */
import type { EnvironmentTransition } from '../../../protocol/states.js';
import { configure } from './configure.js';
import type { TransitionContext } from './context.js';
import { deploy } from './deploy.js';
import { exit } from './exit.js';
import { goError } from './go-error.js';
import { recover } from './recover.js';
import { reset } from './reset.js';
import { startActivity } from './start-activity.js';
import { stopActivity } from './stop-activity.js';

export type { RunTime, TransitionContext } from './context.js';
export { moveTask } from './move-task.js';

export const transitionActions: Readonly<
  Record<EnvironmentTransition, (env: TransitionContext) => Promise<void>>
> = {
  DEPLOY: deploy,
  CONFIGURE: configure,
  START_ACTIVITY: startActivity,
  STOP_ACTIVITY: stopActivity,
  RESET: reset,
  EXIT: exit,
  GO_ERROR: goError,
  RECOVER: recover,
};
