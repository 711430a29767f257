import type { Environment } from '../environment.js';

/** GO_ERROR: nothing is sent to the tasks — they may be anywhere; the state says what the operator must do. */
export function goError(_env: Environment): Promise<void> {
  return Promise.resolve();
}
