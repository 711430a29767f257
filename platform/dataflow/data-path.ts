/**
 * What run control needs to know of the data path, from the platform's feed of the accounting records on
 * Kafka (`<ns>.monitoring`, monitoring/feed.ts): whether it has drained after part of it stopped, and the
 * run's balance for the run registry. STOP_ACTIVITY waits on `drain` between roles; the `reconcile` hook
 * action stores the balance. Each ask reads only what came since the last one.
 */
import type { Reconciliation } from '../../protocol/accounting.js';
import type { ErsReporter } from '../../lib/ers.js';
import type { DrainSubject } from '../control/environment.js';
import type { MonitoringFeed } from '../monitoring/feed.js';

export interface DataPathOptions {
  readonly feed: Pick<MonitoringFeed, 'balance'>;
  /** How long STOP waits for one stage to drain before going on (the rest stays in Kafka). */
  readonly drainTimeoutMs?: number;
  readonly pollMs?: number;
  readonly ers?: ErsReporter;
}

/**
 * Drained after these workloads stopped: what each link's readout produced is processed or dead-lettered
 * (the balance's `lost` is 0: a link counted per link, so words of a lost readout processed beyond its last
 * report never stand in for another link's words still in Kafka); what processors built is stored.
 */
export function drained(r: Reconciliation, stopped: readonly string[], readoutExcluded: boolean): boolean {
  const processedAll = (r.readoutFinal || readoutExcluded) && r.lost === 0;
  if (stopped.includes('processor')) return processedAll && r.events.stored >= r.events.built;
  if (stopped.includes('readout')) return processedAll;
  return true;
}

export class DataPath {
  constructor(private readonly o: DataPathOptions) {}

  async balance(namespace: string, run: number): Promise<Reconciliation> {
    return this.o.feed.balance(namespace, run);
  }

  /** Resolves when the data path drained after `stopped` (or the time limit passed: an ERS Warning). */
  async drain(env: DrainSubject, stopped: readonly string[]): Promise<void> {
    const run = env.run;
    if (run === undefined) return;
    // A readout that failed never sends its final report: do not wait for it.
    const readoutExcluded = env.readoutExcluded;
    const limit = this.o.drainTimeoutMs ?? 60_000;
    const deadline = Date.now() + limit;
    let r = await this.balance(env.namespace, run);
    while (!drained(r, stopped, readoutExcluded)) {
      if (Date.now() > deadline) {
        this.o.ers?.raise(
          'daqops.platform.DrainTimeout',
          `environment ${env.id} run ${run}: the data path did not drain within ${limit} ms after ${stopped.join(', ')} stopped; ${r.lost} words not processed yet stay in Kafka`,
          { environment: env.id, run },
        );
        return;
      }
      await new Promise((res) => setTimeout(res, this.o.pollMs ?? 50));
      r = await this.balance(env.namespace, run);
    }
  }
}
