/**
 * The processor's assembly clock: wall time that stands still while Kafka is away. A timeframe waits
 * `assemblyTimeoutMs` for its missing links, and a link counts as silent after as long without data; both
 * must mean "the link stopped sending", never "nothing could reach us". So the clock is paused from the
 * last moment Kafka was known to answer until data flows again after it is back — an outage of any length
 * costs no timeframe its completeness, while a dead link still times out as before (Kafka answers then).
 */
export class OutageClock {
  /** Wall milliseconds not counted (outages that are over). */
  private skippedMs = 0;
  /** Wall time the current outage began, when there is one. */
  private pausedAtMs: number | undefined;
  /** The latest assembly time handed out: the clock never runs backwards. */
  private latest = Number.NEGATIVE_INFINITY;

  constructor(private readonly wall: () => number = () => Date.now()) {}

  /** Assembly time: wall time less the outages. */
  now(): number {
    this.latest = Math.max(this.latest, (this.pausedAtMs ?? this.wall()) - this.skippedMs);
    return this.latest;
  }

  get paused(): boolean {
    return this.pausedAtMs !== undefined;
  }

  /** Kafka stopped answering; it last answered at `sinceMs` (wall), from when the clock stands still. */
  pause(sinceMs: number): void {
    if (this.pausedAtMs !== undefined) return;
    this.pausedAtMs = Math.min(this.wall(), sinceMs);
  }

  /** Data flows again: the clock runs on from where it stood. */
  resume(): void {
    if (this.pausedAtMs === undefined) return;
    this.skippedMs += this.wall() - this.pausedAtMs;
    this.pausedAtMs = undefined;
  }
}
