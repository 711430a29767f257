/**
 * One-at-a-time execution for a workload's Kafka callbacks and timers (batches, expiries, flushes never
 * interleave), and the first failure among them, which ends the workload.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private firstFailure: Error | undefined;

  get failure(): Error | undefined {
    return this.firstFailure;
  }

  /** Runs `fn` after everything queued before it; its rejection also becomes the workload's failure. */
  run(fn: () => Promise<void>): Promise<void> {
    const next = this.tail.then(fn);
    this.tail = next.catch((err: unknown) => {
      this.firstFailure ??= err instanceof Error ? err : new Error(String(err));
    });
    return next;
  }

  /** Waits for everything queued so far (failures included, not rethrown). */
  drain(): Promise<void> {
    return this.tail;
  }

  /** Resolves when `signal` aborts; rejects as soon as a queued task has failed. */
  untilStopped(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (this.firstFailure !== undefined) {
          clearInterval(poll);
          reject(this.firstFailure);
        }
      }, 50);
      const stop = (): void => {
        clearInterval(poll);
        resolve();
      };
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
  }
}
