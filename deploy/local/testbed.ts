/**
 * The README's main job: the DT testbed (seed 001) under run control on this machine. A local Kafka (ours,
 * a running `daqops kafka up` one, or DAQOPS_KAFKA_BROKERS), the platform and one agent as processes
 * (deploy/local/stack.ts), the testbed environment from deploy/templates/testbed.yaml driven DEPLOY →
 * CONFIGURE → START_ACTIVITY, live progress for a while, STOP_ACTIVITY (which drains the data path role
 * by role), the run's reconciliation from the run registry, a look at the stored events, EXIT.
 * Ctrl-C (the `signal`) ends the run early the same clean way; everything started is stopped.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { envBrokerList } from '../../lib/env.js';
import { formatReconciliation } from '../../lib/reconcile.js';
import { reconcile } from '../../protocol/balance.js';
import type { Reconciliation } from '../../protocol/accounting.js';
import type { EnvironmentView } from '../../platform/platform.js';
import type { RunRecord } from '../../platform/store/store.js';
import type { Incident } from '../../platform/incidents/types.js';
import { incidentLine } from '../../platform/incidents/format.js';
import { formatInspection, inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';
import { startLocalKafka, stopLocalKafka, type LocalKafka } from './kafka-local.js';
import { daqopsHome, runningLocalKafka } from './kafka-state.js';
import { LocalStack } from './stack.js';
import { missingMonitoring, monitoringTargetsFile, startMonitoring, type Monitoring } from './monitoring.js';
import { DaqError } from '../../protocol/errors.js';
import { describeFault, faultLinks, parseFault, type FaultKind } from '../../protocol/faults.js';

export interface TestbedOptions {
  /** How long the run takes data (default 30 s). */
  readonly seconds?: number;
  readonly muonRateHz?: number;
  readonly noiseRateHzPerChannel?: number;
  readonly dataDir?: string;
  /** Platform store, tokens and ERS files (default .daqops/testbed). */
  readonly home?: string;
  readonly print?: (line: string) => void;
  /** Aborting ends the run early: STOP, summary, EXIT, everything stopped (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Called with the stack once the environment is RUNNING (tests inject faults here). */
  readonly onRunning?: (stack: LocalStack, env: EnvironmentView, monitoring?: Monitoring) => Promise<void>;
  /**
   * Start Prometheus and Alertmanager with the shipped rules (default: when their binaries are there;
   * the testbed says when they are not). `true` insists: missing binaries are an error.
   */
  readonly monitoring?: boolean;
  /** Drill faults at chosen seconds of the run (`--inject noisy-channel@10`). */
  readonly inject?: readonly Injection[];
  /** More `daqops platform` options (e.g. --settle-seconds for tests). */
  readonly platformArgs?: readonly string[];
  /** Called once the run is stopped, before EXIT, while monitoring still runs (tests query it). */
  readonly onStopped?: (stack: LocalStack, env: EnvironmentView, monitoring?: Monitoring) => Promise<void>;
}

/** A drill for the testbed: an emulator fault (protocol/faults.ts) or a crashed processor, at a second. */
export interface Injection {
  readonly kind: FaultKind | 'crash-processor';
  readonly atSeconds: number;
  /** The fault's settings (default: the testbed's drill of that kind). */
  readonly fault?: Readonly<Record<string, unknown>>;
}

/** What each drill kind does in the testbed unless told otherwise. */
export const DRILL_DEFAULTS: Readonly<Record<Injection['kind'], Readonly<Record<string, unknown>>>> = {
  'noisy-channel': { chamber: 2, layer: 3, cell: 7, rateHz: 50_000 },
  'dead-chamber': { chamber: 3 },
  'rate-change': { noiseRateHzPerChannel: 1000 },
  'stalled-link': { link: 1 },
  clear: {},
  'crash-processor': {},
};

/** `noisy-channel@10` → the drill and its second; errors name the problem. */
export function parseInjection(text: string): Injection {
  const m = /^([a-z-]+)@(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (m === null)
    throw new DaqError('INVALID_FAULT', `--inject ${text}: write KIND@SECONDS, e.g. noisy-channel@10`, {
      field: 'inject',
    });
  const kind = m[1]!;
  if (!(kind in DRILL_DEFAULTS))
    throw new DaqError(
      'INVALID_FAULT',
      `--inject ${text}: unknown drill ${kind} (known: ${Object.keys(DRILL_DEFAULTS).join(', ')})`,
      { field: 'inject' },
    );
  return { kind: kind as Injection['kind'], atSeconds: Number(m[2]) };
}

/** A drill as it happened, and the incidents opened after it. */
export interface InjectionOutcome {
  readonly injection: Injection;
  readonly atMs: number;
  readonly error?: string;
}

export interface TestbedResult {
  readonly environment: string;
  readonly namespace: string;
  readonly run: number;
  readonly dataDir: string;
  readonly reconciliation: Reconciliation;
  /** The run registry's record of the run. */
  readonly record: RunRecord;
  readonly incidents: readonly Incident[];
  readonly injected: readonly InjectionOutcome[];
}

/** The testbed's workflow template, by name (deploy/templates/testbed.yaml). */
export const TESTBED_TEMPLATE = 'testbed';

export async function runTestbed(options: TestbedOptions = {}): Promise<TestbedResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  let owned: LocalKafka | undefined;
  let brokers = envBrokerList('DAQOPS_KAFKA_BROKERS') ?? runningLocalKafka()?.brokers;
  if (brokers === undefined) {
    owned = await startLocalKafka({ progress: (l) => print(`kafka: ${l}`) });
    brokers = owned.brokers;
    print(`kafka: broker up at ${brokers.join(',')} (pid ${owned.pid})`);
  } else {
    print(`kafka: using ${brokers.join(',')}`);
  }
  let stack: LocalStack | undefined;
  let monitoring: Monitoring | undefined;
  try {
    const home = options.home ?? join(daqopsHome(), 'testbed');
    mkdirSync(home, { recursive: true });
    const missing = missingMonitoring();
    const withMonitoring = options.monitoring ?? missing.length === 0;
    if (withMonitoring && missing.length > 0)
      throw new DaqError(
        'PREREQUISITE_MISSING',
        `monitoring needs ${missing.join(' and ')} (Debian: apt-get install prometheus prometheus-alertmanager)`,
      );
    if (!withMonitoring && options.monitoring === undefined)
      print(
        `monitoring: ${missing.join(' and ')} not found — running without Prometheus and Alertmanager (Debian: apt-get install prometheus prometheus-alertmanager)`,
      );
    const targetsFile = monitoringTargetsFile(home);
    stack = await LocalStack.start({
      home,
      brokers,
      print,
      platformArgs: [
        ...(withMonitoring ? ['--prometheus-sd', targetsFile] : []),
        ...(options.platformArgs ?? []),
      ],
    });
    const api = stack.api;
    const nodes = await stack.agents();
    print(
      `testbed: platform ${stack.url} (the web page; log in with a token of ${join(home, 'tokens.yaml')}; state in ${home}), agent ${nodes.map((a) => `${a.node} with ${a.cores} cores`).join(', ')}`,
    );
    if (withMonitoring) {
      monitoring = await startMonitoring({
        home,
        platformUrl: stack.url,
        webhookToken: stack.token,
        targetsFile,
      });
      print(
        `monitoring: Prometheus ${monitoring.prometheusUrl} (scrape and rules every ${monitoring.scrapeIntervalSeconds} s, rules from alerts/), Alertmanager ${monitoring.alertmanagerUrl} → the platform`,
      );
    }
    await exitLeftovers(stack, print);
    const dataDir = options.dataDir ?? join(daqopsHome(), 'data');
    mkdirSync(dataDir, { recursive: true });
    let env = await api.createEnvironment(
      { name: TESTBED_TEMPLATE },
      {
        muonRateHz: options.muonRateHz ?? 1000,
        noiseRateHz: options.noiseRateHzPerChannel ?? 200,
        dataDir,
      },
    );
    print(`testbed: environment ${env.id} from ${TESTBED_TEMPLATE}, Kafka topics ${env.namespace}.*`);
    const transition = async (t: string): Promise<EnvironmentView> => {
      const t0 = Date.now();
      try {
        env = await api.transition(env.id, t);
      } catch (err) {
        print(`testbed: ${t} failed: ${err instanceof Error ? err.message : String(err)}`);
        throw err;
      }
      print(`testbed: ${t.padEnd(14)} → ${env.state} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return env;
    };
    try {
      await transition('DEPLOY');
      for (const t of env.tasks)
        print(
          `  ${t.name.padEnd(12)} ${t.workload.padEnd(9)} node ${t.node} ${t.cpus.length > 0 ? `cores ${t.cpus.join(',')}` : `shared cores`} of NUMA ${t.numa}`,
        );
      await transition('CONFIGURE');
      await transition('START_ACTIVITY');
      const run = env.run!;
      if (options.onRunning !== undefined) await options.onRunning(stack, env, monitoring);
      const drills = scheduleDrills(stack, env, options.inject ?? [], print);
      try {
        await progress(api, env, options.seconds ?? 30, print, options.signal, monitoring);
      } finally {
        drills.cancel();
      }
      await transition('STOP_ACTIVITY');
      await options.onStopped?.(stack, env, monitoring);
      const record = await api.run(run);
      // The same balance STOP waited on, the run show and the page read: the platform's (monitoring/feed.ts).
      const reconciliation = record.reconciliation ?? (await api.runBalance(run)).reconciliation;
      if (reconciliation === null) throw new DaqError('INTERNAL', `run ${run} has no balance`);
      print('');
      print(formatReconciliation(reconciliation));
      print(
        `  run ${run}: started by ${record.startedBy}, ${record.start ?? '?'} → ${record.endCompleted ?? '?'}`,
      );
      print(`  data: Kafka topics ${env.namespace}.*, events in ${runDir(dataDir, run)}`);
      const incidents = await incidentsOf(api, env.id);
      print(
        `  incidents: ${incidents.length === 0 ? 'none' : `${incidents.length}\n${incidents.map((i) => `    ${incidentLine(i)}`).join('\n')}`}`,
      );
      for (const d of drills.done) print(`  ${drillLine(d, incidents)}`);
      print('');
      print(formatInspection(inspectRun(runDir(dataDir, run))));
      return {
        environment: env.id,
        namespace: env.namespace,
        run,
        dataDir,
        reconciliation,
        record,
        incidents,
        injected: drills.done,
      };
    } finally {
      await transition('EXIT').catch(() => undefined);
    }
  } finally {
    await monitoring?.stop();
    await stack?.stop();
    if (owned !== undefined) {
      await stopLocalKafka(owned);
      print('kafka: broker stopped');
    }
  }
}

/** A testbed environment an earlier, interrupted testbed left holding resources is ended first. */
async function exitLeftovers(stack: LocalStack, print: (l: string) => void): Promise<void> {
  const envs = await stack.api.environments();
  for (const e of envs) {
    if (e.template !== 'testbed' || e.state === 'DONE' || e.state === 'STANDBY') continue;
    print(`testbed: ending environment ${e.id} (${e.state}) left by an earlier testbed run`);
    await stack.api
      .transition(e.id, 'EXIT')
      .catch((err: unknown) => print(`testbed: could not end ${e.id}: ${String(err)}`));
  }
}

/** Runs each drill at its second of the run; what was done (or refused) is kept for the summary. */
function scheduleDrills(
  stack: LocalStack,
  env: EnvironmentView,
  drills: readonly Injection[],
  print: (l: string) => void,
): { done: InjectionOutcome[]; cancel: () => void } {
  const done: InjectionOutcome[] = [];
  const timers = drills.map((d) =>
    setTimeout(() => {
      const atMs = Date.now();
      void drill(stack, env, d).then(
        (what) => {
          done.push({ injection: d, atMs });
          print(`drill: ${d.kind}@${d.atSeconds} s — ${what}`);
        },
        (err: unknown) => {
          const error = err instanceof Error ? err.message : String(err);
          done.push({ injection: d, atMs, error });
          print(`drill: ${d.kind}@${d.atSeconds} s failed: ${error}`);
        },
      );
    }, d.atSeconds * 1000),
  );
  return { done, cancel: () => timers.forEach((t) => clearTimeout(t)) };
}

async function drill(stack: LocalStack, env: EnvironmentView, d: Injection): Promise<string> {
  if (d.kind === 'crash-processor') {
    const now = await stack.api.environment(env.id);
    const p = now.tasks.find((t) => t.workload === 'processor' && t.pid !== undefined);
    if (p?.pid === undefined)
      throw new DaqError('INVALID_FAULT', 'no running processor to crash', { field: 'kind' });
    process.kill(p.pid, 'SIGKILL');
    return `SIGKILL to ${p.name} (pid ${p.pid})`;
  }
  // The platform checks the fault and answers with it as it went out (with its common start).
  const r = await stack.api.injectFault(env.id, {
    kind: d.kind,
    ...DRILL_DEFAULTS[d.kind],
    ...(d.fault ?? {}),
  });
  return `${describeFault(r.fault)} on ${r.tasks.join(', ')}`;
}

/** The incidents a drill became: those opened after it, with the time it took. */
function drillLine(d: InjectionOutcome, incidents: readonly Incident[]): string {
  const head = `drill ${d.injection.kind}@${d.injection.atSeconds} s`;
  if (d.error !== undefined) return `${head}: not injected (${d.error})`;
  // The part of the detector (or the task) the drill hits: its incident is about that, or holds it.
  const about = (i: Incident): boolean => {
    const ids = i.signals.map((s) => `${s.component.kind}:${s.component.id}`);
    if (d.injection.kind === 'crash-processor') return ids.some((c) => c.startsWith('task:processor'));
    if (d.injection.kind === 'rate-change' || d.injection.kind === 'clear') return true;
    const f = parseFault(
      { kind: d.injection.kind, ...DRILL_DEFAULTS[d.injection.kind], ...(d.injection.fault ?? {}) },
      { chambers: 16 },
    );
    return faultLinks(f, []).some((l) => ids.includes(`link:${l}`));
  };
  const after = incidents
    .filter((i) => Date.parse(i.openedAt) >= d.atMs - 1000 && about(i))
    .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt));
  if (after.length === 0) return `${head}: no incident opened after it`;
  const first = after[0]!;
  return `${head} → incident #${first.id} ${first.root.component.kind}:${first.root.component.id} (${first.root.name}), runbook ${first.runbook ?? '-'}, opened ${((Date.parse(first.openedAt) - d.atMs) / 1000).toFixed(1)} s after`;
}

/** One line every 2 s: state, tasks, hits/s, events, incidents, alerts; until time is up or abort. */
async function progress(
  api: LocalStack['api'],
  start: EnvironmentView,
  seconds: number,
  print: (l: string) => void,
  signal: AbortSignal | undefined,
  monitoring: Monitoring | undefined,
): Promise<void> {
  const t0 = Date.now();
  let last = { at: t0, hits: 0 };
  while (Date.now() - t0 < seconds * 1000 && signal?.aborted !== true) {
    await new Promise<void>((r) => {
      const onAbort = (): void => (clearTimeout(t), r());
      const t = setTimeout(
        () => (signal?.removeEventListener('abort', onAbort), r()),
        Math.min(2000, Math.max(0, seconds * 1000 - (Date.now() - t0))),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const env = await api.environment(start.id);
    const balance = await api.runBalance(start.run!);
    const r = balance.reconciliation ?? reconcile(start.run!, []);
    const now = Date.now();
    const rate = ((r.produced.hits - last.hits) * 1000) / Math.max(1, now - last.at);
    last = { at: now, hits: r.produced.hits };
    const running = env.tasks.filter((t) => t.state === 'RUNNING' && !t.excluded).length;
    const failed = env.tasks.filter((t) => t.state === 'ERROR' || t.excluded);
    const incidents = await incidentsOf(api, start.id);
    const open = incidents.filter((i) => i.state !== 'resolved').length;
    const alerts = monitoring === undefined ? undefined : await monitoring.alerts().catch(() => undefined);
    const alertText =
      alerts === undefined
        ? ''
        : ` · alerts ${
            alerts
              .filter((a) => a.state === 'firing')
              .map((a) => a.name)
              .join(', ') || 'none'
          }${
            alerts.some((a) => a.state === 'pending')
              ? ` (pending ${alerts
                  .filter((a) => a.state === 'pending')
                  .map((a) => a.name)
                  .join(', ')})`
              : ''
          }`;
    print(
      `live ${String(Math.round((now - t0) / 1000)).padStart(3)} s: ${env.state} · tasks ${running}/${env.tasks.length} running · ${Math.round(rate)} hits/s · ${r.produced.hits} hits · events ${r.events.built} built / ${r.events.stored} stored · incidents ${incidents.length} (${open} open)${balance.source === 'stale' ? ` · ${kafkaAway(balance.asOf, now)}` : ''}${alertText}${failed.length === 0 ? '' : ` · failed ${failed.map((t) => `${t.name}${t.excluded ? ' (excluded)' : ''}`).join(', ')}`}`,
    );
  }
  if (signal?.aborted === true) print('testbed: stopping early (interrupted)');
}

/** The live line while the platform's balance is stale: how long Kafka has been away, as the platform saw it. */
export function kafkaAway(asOf: string | undefined, nowMs: number): string {
  const at = asOf === undefined ? NaN : Date.parse(asOf);
  if (Number.isNaN(at)) return 'Kafka away (no balance read yet)';
  return `Kafka away for ${Math.max(0, Math.round((nowMs - at) / 1000))} s (balance as of then)`;
}

async function incidentsOf(api: LocalStack['api'], environment: string): Promise<Incident[]> {
  return (await api.incidents()).filter((i) => i.environment === environment);
}
