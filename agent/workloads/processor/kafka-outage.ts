/**
 * How a processor lives through Kafka going away (docs/data-path.md "Processor"): a probe asks every
 * PROBE_INTERVAL_MS whether a broker answers; on the first failure the assembly clock (outage-clock.ts)
 * stands still from Kafka's last answer, so no timeframe is given up for an outage. It runs again with the
 * first data once Kafka is back, or after a full assembly timeout back without data (nothing was in
 * flight then).
 */
import { DaqError } from '../../../protocol/errors.js';
import { KafkaProbe, type KafkaClient } from '../../../lib/kafka.js';
import { KafkaWatch } from '../../../lib/kafka-watch.js';
import { OutageClock } from './outage-clock.js';

/** How often the processor asks whether Kafka answers, and how long it waits for the answer. */
const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 1000;

export class KafkaOutage {
  readonly clock: OutageClock;
  private readonly probe: KafkaProbe;
  private readonly watch: KafkaWatch;
  /** Since when Kafka answers again, while the clock still stands (no data yet). */
  private backSinceMs: number | undefined;

  constructor(
    client: KafkaClient,
    private readonly now: () => number,
    onChange: (reachable: boolean) => void,
  ) {
    this.clock = new OutageClock(now);
    this.probe = new KafkaProbe(client);
    const probe = this.probe;
    this.watch = new KafkaWatch({
      ping: async () => {
        if (!(await probe.check(PROBE_TIMEOUT_MS)))
          throw new DaqError('KAFKA_UNAVAILABLE', 'no Kafka broker answers');
      },
      intervalMs: PROBE_INTERVAL_MS,
      failures: 1,
      now,
      onChange: (reachable) => {
        if (reachable) this.backSinceMs = this.now();
        else {
          this.clock.pause(this.watch.lastAnsweredMs);
          this.backSinceMs = undefined;
        }
        onChange(reachable);
      },
    });
  }

  get reachable(): boolean {
    return this.watch.reachable;
  }

  start(): void {
    this.watch.start();
  }

  async stop(): Promise<void> {
    this.watch.stop();
    await this.probe.close();
  }

  /** Data arrived: the clock runs on, unless Kafka is away (a batch prefetched before the outage). */
  dataArrived(): void {
    if (this.watch.reachable) this.clock.resume();
  }

  /** Kafka has been back for `ms` without data: nothing was in flight, the clock runs on. */
  quietFor(ms: number): void {
    if (this.clock.paused && this.backSinceMs !== undefined && this.now() - this.backSinceMs >= ms)
      this.clock.resume();
  }
}
