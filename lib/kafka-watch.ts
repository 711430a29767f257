/**
 * A watch on Kafka: a light request every `intervalMs` (never two at once); after `failures` in a row
 * Kafka counts as unreachable (told once), and the first answer after that as reachable again (told
 * once). The platform opens and resolves its KafkaUnreachable incident with it (three failures: a
 * broker's GC pause is no incident); the processor stops its assembly clock with it (one failure).
 */
export interface KafkaWatchOptions {
  /** Resolves when a broker answers; rejects (or times out by itself) when none does. */
  readonly ping: () => Promise<unknown>;
  readonly intervalMs?: number;
  /** Failed pings in a row before Kafka counts as unreachable (default 3: an outage of about 3 s). */
  readonly failures?: number;
  readonly onChange: (reachable: boolean, detail: string) => void;
  readonly now?: () => number;
}

export class KafkaWatch {
  private timer: NodeJS.Timeout | undefined;
  private failed = 0;
  private down = false;
  private stopped = false;
  private lastError = '';
  private answeredMs: number;

  constructor(private readonly o: KafkaWatchOptions) {
    this.answeredMs = (o.now ?? Date.now)();
  }

  /** When a broker last answered (or the watch was made, before any answer). */
  get lastAnsweredMs(): number {
    return this.answeredMs;
  }

  /** Whether Kafka answered lately (true until `failures` pings in a row failed). */
  get reachable(): boolean {
    return !this.down;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  /** One ping and its consequence; exposed so tests drive the watch without waiting for its timer. */
  async check(): Promise<void> {
    try {
      await this.o.ping();
      this.answeredMs = (this.o.now ?? Date.now)();
      this.failed = 0;
      if (this.down) {
        this.down = false;
        this.o.onChange(true, 'a broker answers again');
      }
    } catch (err) {
      this.failed++;
      this.lastError = err instanceof Error ? err.message : String(err);
      if (!this.down && this.failed >= (this.o.failures ?? 3)) {
        this.down = true;
        this.o.onChange(false, this.lastError);
      }
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule(this.o.intervalMs ?? 1000));
    }, ms);
    this.timer.unref();
  }
}
