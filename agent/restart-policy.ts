/**
 * When a workload dies: restart after an exponential backoff, at most `maxRestarts` times within
 * `windowMs` (default 5 in 30 min, as ATLAS's expert system), then give up and report the task failed.
 * Time comes from an injected clock.
 */
export interface RestartPolicyOptions {
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  maxRestarts: 5,
  windowMs: 30 * 60_000,
  initialBackoffMs: 1000,
  maxBackoffMs: 30_000,
};

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly attempt: number }
  | { readonly action: 'give-up'; readonly restartsInWindow: number };

export class RestartPolicy {
  private readonly restarts: number[] = [];

  constructor(
    readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Called when the process exited unexpectedly. */
  onExit(): RestartDecision {
    const now = this.now();
    while (this.restarts.length > 0 && now - this.restarts[0]! >= this.options.windowMs)
      this.restarts.shift();
    if (this.restarts.length >= this.options.maxRestarts)
      return { action: 'give-up', restartsInWindow: this.restarts.length };
    const delayMs = Math.min(
      this.options.maxBackoffMs,
      this.options.initialBackoffMs * 2 ** this.restarts.length,
    );
    this.restarts.push(now);
    return { action: 'restart', delayMs, attempt: this.restarts.length };
  }

  get recentRestarts(): number {
    return this.restarts.length;
  }
}
