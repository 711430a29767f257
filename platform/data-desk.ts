/**
 * What the data path says, as the API and the page see it (docs/platform.md "Parts"), reached as
 * `platform.data`: an environment's dataflow rates and occupancy (the agents' /metrics, read while someone
 * looks), the processors' monitoring aggregates and a run's balance (both from `<ns>.monitoring` through
 * the feed, monitoring/feed.ts). Reads only; nothing here changes state.
 */
import { errorMessage } from './audit.js';
import type { EnvironmentRepository } from './control/repository.js';
import type { TaskStatus } from './control/types.js';
import { dataflowGraph } from './dataflow/graph.js';
import type { DataflowRates, Occupancy, RatesBook } from './monitoring/rates.js';
import type { RunRecord } from './store/store.js';
import { monitoringView, type MonitoringView, type PlatformOptions, type RunBalanceView } from './views.js';

export interface DataDeskOptions {
  readonly environments: EnvironmentRepository;
  /** One run of the registry; NOT_FOUND when there is none (the facade's `run`). */
  readonly run: (run: number) => RunRecord;
  readonly rates?: RatesBook;
  readonly feed?: NonNullable<PlatformOptions['feed']>;
}

export class DataDesk {
  constructor(private readonly o: DataDeskOptions) {}

  /** An environment's tasks and the rates on its dataflow edges (empty until the agents were read). */
  dataflow(id: string): {
    environment: string;
    tasks: readonly TaskStatus[];
    graph: ReturnType<typeof dataflowGraph>;
  } & DataflowRates {
    const env = this.o.environments.get(id);
    this.o.rates?.asked();
    const rates = this.o.rates?.of(id) ?? { edges: [], taskEdges: [], lag: {}, at: null };
    return {
      environment: id,
      tasks: env.taskList().map((t) => ({ ...t })),
      graph: dataflowGraph(env.template, rates),
      ...rates,
    };
  }

  /** An environment's occupancy per chamber, layer and cell, and its hit-rate trend. */
  occupancy(id: string): { environment: string } & Occupancy {
    this.o.environments.get(id);
    this.o.rates?.asked();
    return { environment: id, ...(this.o.rates?.occupancy(id) ?? { cells: [], trend: [], at: null }) };
  }

  /** What the processors' latest aggregates on `<ns>.monitoring` say of the detector (noise, drift, faults). */
  async monitoring(id: string): Promise<MonitoringView> {
    const env = this.o.environments.get(id);
    if (this.o.feed === undefined) return monitoringView(id, []);
    // Kafka away or slow: the latest known, after at most ANSWER_WITHIN_MS (the read goes on behind).
    await settled(this.o.feed.catchUp(env.namespace), ANSWER_WITHIN_MS);
    return monitoringView(id, this.o.feed.aggregates(env.namespace));
  }

  /** A run's balance: the registry's once stored, else the feed's read to now (or as far as it got). */
  async balance(run: number): Promise<RunBalanceView> {
    const r = this.o.run(run);
    if (r.reconciliation !== null) return { run, source: 'registry', reconciliation: r.reconciliation };
    const ns = this.o.environments.find(r.environment)?.namespace;
    if (ns === undefined || this.o.feed === undefined)
      return { run, source: 'registry', reconciliation: null, detail: 'no balance was stored for this run' };
    const feed = this.o.feed;
    const read = await settled(feed.catchUp(ns), ANSWER_WITHIN_MS);
    if (read.ok) return { run, source: 'live', reconciliation: feed.known(ns, run) };
    const at = feed.readToEndAt(ns);
    return {
      run,
      source: 'stale',
      reconciliation: feed.known(ns, run),
      detail:
        read.error === undefined
          ? `Kafka did not answer within ${ANSWER_WITHIN_MS} ms (the read goes on)`
          : errorMessage(read.error),
      ...(at === undefined ? {} : { asOf: new Date(at).toISOString() }),
    };
  }
}

/**
 * How long a read of the balance or the monitoring view waits for Kafka before answering with what the
 * feed already has: a page, `daqops run show` and the testbed's live line go on while Kafka is away
 * (STOP and the registry wait for the feed itself, with their own limits).
 */
export const ANSWER_WITHIN_MS = 1500;

/** Whether `p` settled within `ms`, and how; a later rejection is taken care of (nothing unhandled). */
async function settled(p: Promise<unknown>, ms: number): Promise<{ ok: boolean; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ ok: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false }), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => ({ ok: true }),
        (error: unknown) => ({ ok: false, error }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
