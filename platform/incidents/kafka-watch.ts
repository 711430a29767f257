/**
 * The platform's watch on Kafka: a light request every `intervalMs`; after `failures` in a row Kafka
 * counts as unreachable (told once), and the first answer after that as reachable again (told once). An
 * outage is weather — the clients buffer, pause and resume by themselves — but the on-call sees one
 * KafkaUnreachable incident for it, opened and resolved by this watch.
 */
export interface KafkaWatchOptions {
  /** Resolves when a broker answers; rejects (or times out by itself) when none does. */
  readonly ping: () => Promise<unknown>;
  readonly intervalMs?: number;
  /** Failed pings in a row before Kafka counts as unreachable (default 3: an outage of about 3 s). */
  readonly failures?: number;
  readonly onChange: (reachable: boolean, detail: string) => void;
}

export class KafkaWatch {
  private timer: NodeJS.Timeout | undefined;
  private failed = 0;
  private down = false;
  private stopped = false;
  private lastError = '';

  constructor(private readonly o: KafkaWatchOptions) {}

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
