/**
 * Waiting for a condition, not for a time. A check that answers with a retriable DaqError (Kafka or the
 * platform unavailable for a moment: the very faults the tests and the testbed put to the stack) has not
 * said "no" for good, only "not yet", so the wait goes on; when time runs out, the error names the last
 * such answer. Any other error ends the wait at once.
 */
import { DaqError, isDaqError } from '../protocol/errors.js';

export interface PollOptions {
  /** Give up after this long (default 10 s). */
  readonly ms?: number;
  /** Ask again after this long (default 200 ms). */
  readonly everyMs?: number;
}

export async function pollUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  o: PollOptions = {},
): Promise<void> {
  const ms = o.ms ?? 10_000;
  const deadline = Date.now() + ms;
  let last: DaqError | undefined;
  for (;;) {
    try {
      if (await check()) return;
      last = undefined;
    } catch (err) {
      if (!isDaqError(err) || !err.retriable) throw err;
      last = err;
    }
    if (Date.now() > deadline)
      throw new DaqError(
        'TIMEOUT',
        `gave up waiting for ${what} after ${ms} ms${last === undefined ? '' : ` (last answer: ${last.code} ${last.message})`}`,
      );
    await new Promise((r) => setTimeout(r, o.everyMs ?? 200));
  }
}
