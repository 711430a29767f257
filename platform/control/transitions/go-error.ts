import type { TransitionContext } from './context.js';

/** GO_ERROR: nothing is sent to the tasks — they may be anywhere; the state says what the operator must do. */
export function goError(_env: TransitionContext): Promise<void> {
  return Promise.resolve();
}
