/**
 * What the platform facade (platform.ts) is made with and what it hands out: its options, the changes it
 * tells its listeners of, and the views of environments and runbooks — copies, never the live model.
 */
import {
  allowedEnvironmentTransitions,
  type EnvironmentState,
  type EnvironmentTransition,
} from '../protocol/states.js';
import type { Environment } from './control/environment.js';
import type { Reconciliation } from '../protocol/accounting.js';
import type { MonitoringAggregate } from '../protocol/monitoring.js';
import type { Metrics } from '../lib/metrics.js';
import type { ErsReporter } from '../lib/ers.js';
import type { HookActions } from './control/hooks.js';
import type {
  ControlEvent,
  EnvironmentContext,
  MaskedCell,
  TaskDriver,
  TaskStatus,
} from './control/types.js';
import type { MonitoringFeed } from './monitoring/feed.js';
import type { RatesBook } from './monitoring/rates.js';
import type { ResourceLedger } from './placement/ledger.js';
import type { PageOptions } from './recovery/engine.js';
import type { Runbook } from './runbooks/runbook.js';
import type { PlatformStore } from './store/store.js';
import type { TemplateLibrary } from './workflow/library.js';

export interface PlatformOptions {
  readonly store: PlatformStore;
  readonly driver: TaskDriver;
  /** Where templates are taken from by name (default deploy/templates/ of the project). */
  readonly templates?: TemplateLibrary;
  readonly ledger?: ResourceLedger;
  readonly brokers: readonly string[];
  readonly actions?: HookActions;
  readonly onControlEvent?: (e: ControlEvent) => void;
  /** Where the platform counts (environment states, transition durations, tasks by state). */
  readonly metrics?: Metrics;
  /** STOP_ACTIVITY waits on this between roles (EnvironmentContext.drain). */
  readonly drain?: EnvironmentContext['drain'];
  /** DEPLOY makes and checks the namespace's topics with this (EnvironmentContext.prepareTopics). */
  readonly prepareTopics?: EnvironmentContext['prepareTopics'];
  /** Where the platform raises its ERS issues (failed transitions, hooks, tasks, lost agents). */
  readonly ers?: ErsReporter;
  /** The runbooks recovery follows (runbooks/ of the project by default in `daqops platform`). */
  readonly runbooks?: readonly Runbook[];
  /** Where escalations page. */
  readonly page?: PageOptions | undefined;
  /** Correlation window, settle and quiet times (ms) of incidents. */
  readonly incidentTiming?: { windowMs?: number; settleMs?: number; quietMs?: number };
  /** Dataflow rates from the agents' metrics (monitoring/rates.ts), for the web page's graph. */
  readonly rates?: RatesBook;
  /** The reader of the environments' <ns>.monitoring (monitoring/feed.ts): balances and aggregates. */
  readonly feed?: Pick<
    MonitoringFeed,
    'balance' | 'known' | 'catchUp' | 'aggregates' | 'forget' | 'readToEndAt'
  >;
}

/** What changed, for the live feed (the web page refetches what it shows of it). */
export interface Change {
  readonly kind: 'environment' | 'incident' | 'run' | 'agent';
  /** The environment id, the incident number, the run number or the node. */
  readonly id: string;
}

export interface EnvironmentView {
  readonly id: string;
  readonly template: string;
  /** Kafka topic namespace: `<namespace>.raw-hits`, `.events`, `.control`, … */
  readonly namespace: string;
  readonly state: EnvironmentState;
  readonly run: number | undefined;
  readonly rollUp: string;
  /** Cells masked from the next CONFIGURE on. */
  readonly masks: readonly MaskedCell[];
  /** The transitions the state table allows from `state` (what a page offers as buttons). */
  readonly allowed: readonly EnvironmentTransition[];
  /** The transition under way, if any. */
  readonly transition?: EnvironmentTransition | undefined;
  /** When the current run started and who started it (RUNNING only). */
  readonly runStart?: string | undefined;
  readonly startedBy?: string | undefined;
  /** Each task as the platform knows it: placement, state, process, whether it is critical or excluded. */
  readonly tasks: readonly TaskStatus[];
}

/** A runbook as listed (its text is in `runbook(name)`). */
export interface RunbookSummary {
  readonly name: string;
  readonly title: string;
  readonly matches: Runbook['matches'];
  readonly steps: Runbook['steps'];
}

/** A runbook with its text for the human; no host path. */
export type RunbookView = Omit<Runbook, 'file'>;

/** An environment as it is handed out: a copy. `startedBy` tells who started its run (when it runs). */
export function environmentView(
  env: Environment,
  startedBy: (run: number) => string | undefined,
): EnvironmentView {
  const running = env.state === 'RUNNING';
  return {
    id: env.id,
    template: env.template.name,
    namespace: env.namespace,
    state: env.state,
    run: env.run,
    rollUp: env.rollUp(),
    masks: env.masks.map((m) => ({ ...m })),
    allowed: env.transitionUnderWay === undefined ? allowedEnvironmentTransitions(env.state) : [],
    transition: env.transitionUnderWay,
    runStart: running ? env.runTimes.start : undefined,
    startedBy: running ? startedBy(env.run ?? 0) : undefined,
    tasks: env.taskList().map((t) => ({ ...t })),
  };
}

/**
 * A run's data-path balance and where it comes from: the run registry (stored at the end of the run),
 * the feed read to now (`live`), or the feed as far as it had read when Kafka did not answer (`stale`).
 */
export interface RunBalanceView {
  readonly run: number;
  readonly source: 'registry' | 'live' | 'stale';
  readonly reconciliation: Reconciliation | null;
  readonly detail?: string;
  /** `stale`: when the feed last read the topic to its end (absent: not since the platform started). */
  readonly asOf?: string;
}

/** What the processors' latest monitoring aggregates say of the detector, summed over them. */
export interface MonitoringView {
  readonly environment: string;
  readonly processors: number;
  readonly run: number | null;
  readonly detectorSeconds: number;
  readonly noiseRateHz: number;
  readonly driftHistogram: { minNs: number; binNs: number; counts: number[] } | null;
  readonly faults: Record<string, number>;
  readonly at: string | null;
}

/** The latest aggregates of an environment's processors as one view (rates add up: each owns its timeframes). */
export function monitoringView(
  environment: string,
  aggregates: readonly MonitoringAggregate[],
): MonitoringView {
  const latestRun = aggregates.reduce((r, a) => Math.max(r, a.run), -1);
  const of = aggregates.filter((a) => a.run === latestRun);
  let drift: MonitoringView['driftHistogram'] = null;
  const faults: Record<string, number> = {};
  let noise = 0;
  let seconds = 0;
  for (const a of of) {
    noise += a.noiseRateHz * a.detectorSeconds;
    seconds += a.detectorSeconds;
    for (const [k, n] of Object.entries(a.faults)) faults[k] = (faults[k] ?? 0) + n;
    const d = a.driftHistogram;
    if (drift === null) drift = { minNs: d.minNs, binNs: d.binNs, counts: [...d.counts] };
    else if (drift.minNs === d.minNs && drift.binNs === d.binNs)
      d.counts.forEach((n, i) => (drift!.counts[i] = (drift!.counts[i] ?? 0) + n));
  }
  return {
    environment,
    processors: of.length,
    run: latestRun < 0 ? null : latestRun,
    detectorSeconds: seconds,
    noiseRateHz: seconds > 0 ? noise / seconds : 0,
    driftHistogram: drift,
    faults,
    at:
      of.length === 0
        ? null
        : of
            .map((a) => a.at)
            .sort()
            .at(-1)!,
  };
}
