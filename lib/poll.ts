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

export interface RetryOptions {
  /** Give up (resolve without an answer) when this turns true between two tries. */
  readonly stopped: () => boolean;
  /** Told of the first failure of a run of them (once: an ERS Warning, not one per try). */
  readonly onFirstFailure?: (err: DaqError) => void;
  /** First wait between tries (default 250 ms); it doubles up to `maxWaitMs` (default 5 s). */
  readonly firstWaitMs?: number;
  readonly maxWaitMs?: number;
}

/**
 * Calls `fn` until it answers: a retriable DaqError is asked again after a backoff, any other error is
 * thrown. For a call a workload cannot go on without and must not die of (Kafka away for a moment).
 * Resolves `undefined` when `stopped()` turns true before an answer came.
 */
export async function untilAnswered<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T | undefined> {
  let waitMs = o.firstWaitMs ?? 250;
  let told = false;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isDaqError(err) || !err.retriable) throw err;
      if (!told) {
        told = true;
        o.onFirstFailure?.(err);
      }
    }
    if (o.stopped()) return undefined;
    await new Promise((r) => setTimeout(r, waitMs));
    waitMs = Math.min(2 * waitMs, o.maxWaitMs ?? 5000);
    if (o.stopped()) return undefined;
  }
}

export interface WaitOptions {
  /** Give up after this long (the command's `--wait`). */
  readonly waitMs: number;
  /** Where the waiting is said: once when it starts, then every `sayEveryMs` (default 10 s). */
  readonly say: (line: string) => void;
  readonly sayEveryMs?: number;
  /** First wait between tries (default 250 ms), doubling up to 2 s. */
  readonly firstWaitMs?: number;
}

/**
 * A command's read that Kafka (or the platform) may not answer for a while: tried again while the answer
 * is retriable, saying how long it has waited, until `waitMs` — then the last answer is thrown, with how
 * long it waited. Any other error is thrown at once. For the CLI and the testbed: an outage is a wait
 * with a bound, never the end of the command at its first refused connection.
 */
export async function answeredWithin<T>(what: string, fn: () => Promise<T>, o: WaitOptions): Promise<T> {
  const t0 = Date.now();
  let waitMs = o.firstWaitMs ?? 250;
  let saidAt: number | undefined;
  for (;;) {
    try {
      const answer = await fn();
      if (saidAt !== undefined) o.say(`${what}: answered after ${secondsSince(t0)} s`);
      return answer;
    } catch (err) {
      if (!isDaqError(err) || !err.retriable) throw err;
      const waited = Date.now() - t0;
      if (waited >= o.waitMs)
        throw new DaqError(err.code, `${what}: no answer within ${secondsSince(t0)} s (${err.message})`, {
          cause: err,
        });
      if (saidAt === undefined || Date.now() - saidAt >= (o.sayEveryMs ?? 10_000)) {
        saidAt = Date.now();
        o.say(
          `${what}: ${err.code} (${err.message}); waited ${secondsSince(t0)} s, trying again for up to ${Math.round(o.waitMs / 1000)} s`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(waitMs, Math.max(0, o.waitMs - waited))));
      waitMs = Math.min(2 * waitMs, 2000);
    }
  }
}

const secondsSince = (t0: number): number => Math.round((Date.now() - t0) / 1000);
