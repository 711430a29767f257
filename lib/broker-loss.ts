/**
 * Tells when a librdkafka client has lost its way to the brokers for good, a state it does not leave by
 * itself, while a fresh client reaches them.
 *
 * Seen here after a broker was paused past its session with the controller and resumed, fenced for a
 * moment (docs/data-path.md "Broker outages"): a metadata response listing no broker made the client
 * forget them all and, racing its own re-bootstrap, never connect again (librdkafka issue 5301, open in
 * the version we use); or its broker stayed in INIT and its group coordinator in TRY_CONNECT for good.
 * Either way the process looks healthy and never takes or sends a record again. The statistics
 * librdkafka reports every STATS_INTERVAL_MS give each broker connection's state; a client with none up
 * for STUCK_AFTER_MS, and still none STUCK_AFTER_MS after the cluster answered a fresh connection (its
 * owner's), is replaced by its owner (lib/kafka.ts). An outage does not count: nothing answers then.
 */

/** How often each long-lived librdkafka client reports its statistics. */
export const STATS_INTERVAL_MS = 2000;
/**
 * How long a client that needs a broker may have no connection up before the cluster is asked whether
 * it answers, and how long after the cluster answered it may still have none. A healthy client
 * reconnects within a second or two of a broker coming back.
 */
export const STUCK_AFTER_MS = 10_000;

/** librdkafka broker states in which requests flow. */
const UP_STATES = new Set(['UP', 'UPDATE']);

/**
 * How many broker connections a librdkafka statistics report (its JSON) has up, logical ones (the group
 * coordinator) included; undefined when the report cannot be read.
 */
export function brokersUp(statsJson: string): number | undefined {
  let stats: unknown;
  try {
    stats = JSON.parse(statsJson);
  } catch {
    return undefined;
  }
  const brokers = (stats as { brokers?: unknown } | null)?.brokers;
  if (brokers === null || typeof brokers !== 'object') return undefined;
  let n = 0;
  for (const b of Object.values(brokers as Record<string, { source?: unknown; state?: unknown }>)) {
    if (b.source !== 'internal' && typeof b.state === 'string' && UP_STATES.has(b.state)) n++;
  }
  return n;
}

export interface BrokerLossWatchOptions {
  /** Told once, with how long the client has had no connection up. */
  readonly onStuck: (forMs: number) => void;
  /** Whether the cluster answers a fresh connection now; asked only once the client looks stuck. */
  readonly reachable: () => Promise<boolean>;
  /** Whether the client needs a broker now (a producer with nothing to send may let its connections go). */
  readonly needsBroker?: () => boolean;
  readonly afterMs?: number;
  readonly now?: () => number;
}

/**
 * Fed each statistics report of one client; says once when the client is stuck away from the brokers:
 * no connection up for `afterMs`, and still none `afterMs` after the cluster was first seen answering
 * (an outage's end gives the client that long to reconnect by itself, as a healthy one does in a second
 * or two).
 */
export class BrokerLossWatch {
  private downSince: number | undefined;
  private answeringSince: number | undefined;
  private asking = false;
  private told = false;
  private readonly afterMs: number;
  private readonly now: () => number;

  constructor(private readonly o: BrokerLossWatchOptions) {
    this.afterMs = o.afterMs ?? STUCK_AFTER_MS;
    this.now = o.now ?? Date.now;
  }

  report(statsJson: string): void {
    const up = brokersUp(statsJson);
    // An unreadable report says nothing either way.
    if (up === undefined || this.told) return;
    if (up > 0 || !(this.o.needsBroker?.() ?? true)) {
      this.downSince = undefined;
      this.answeringSince = undefined;
      return;
    }
    const now = this.now();
    this.downSince ??= now;
    if (now - this.downSince < this.afterMs || this.asking) return;
    const since = this.downSince;
    this.asking = true;
    void this.o
      .reachable()
      .catch(() => false)
      .then((answers) => {
        this.asking = false;
        // Up again meanwhile: nothing to judge.
        if (this.told || this.downSince !== since) return;
        if (!answers) {
          this.answeringSince = undefined;
          return;
        }
        const at = this.now();
        this.answeringSince ??= at;
        // The cluster has answered for a while and this client still has no connection: it will not
        // find the cluster again by itself.
        if (at - this.answeringSince >= this.afterMs) {
          this.told = true;
          this.o.onStuck(at - since);
        }
      });
  }
}
