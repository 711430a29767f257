import { pollUntil } from '../../lib/poll.js';

/** Waits for a condition, not for a time (lib/poll.ts): polls `check` until it holds, or fails naming what never came. */
export function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  everyMs = 20,
): Promise<void> {
  return pollUntil(what, check, { ms, everyMs });
}
