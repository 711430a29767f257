/**
 * The README's main job: the DT testbed (seed 001) under run control on this machine. A local Kafka (ours,
 * a running `daqops kafka up` one, or DAQOPS_KAFKA_BROKERS), the platform and one agent as processes
 * (deploy/local/stack.ts), the testbed environment from deploy/local/testbed.yaml driven DEPLOY →
 * CONFIGURE → START_ACTIVITY, live progress for a while, STOP_ACTIVITY (which drains the data path role
 * by role), the run's reconciliation from the run registry, a look at the stored events, EXIT.
 * Ctrl-C (the `signal`) ends the run early the same clean way; everything started is stopped.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { envBrokerList } from '../../lib/env.js';
import { KafkaClient } from '../../lib/kafka.js';
import { projectRoot } from '../../lib/paths.js';
import { formatReconciliation, reconcileRun } from '../../lib/reconcile.js';
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
  readonly onRunning?: (stack: LocalStack, env: EnvironmentView) => Promise<void>;
}

export interface TestbedResult {
  readonly environment: string;
  readonly namespace: string;
  readonly run: number;
  readonly dataDir: string;
  readonly reconciliation: Reconciliation;
  /** The run registry's record of the run. */
  readonly record: RunRecord;
}

export const TESTBED_TEMPLATE = join(projectRoot(), 'deploy', 'local', 'testbed.yaml');

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
  try {
    const home = options.home ?? join(daqopsHome(), 'testbed');
    mkdirSync(home, { recursive: true });
    stack = await LocalStack.start({ home, brokers, print });
    const api = stack.api;
    const nodes = await stack.agents();
    print(
      `testbed: platform ${stack.url} (state in ${home}), agent ${nodes.map((a) => `${a.node} with ${a.cores} cores`).join(', ')}`,
    );
    await exitLeftovers(stack, print);
    const dataDir = options.dataDir ?? join(daqopsHome(), 'data');
    mkdirSync(dataDir, { recursive: true });
    let env = await api.call<EnvironmentView>('POST', '/api/v1/environments', {
      template: TESTBED_TEMPLATE,
      vars: {
        muonRateHz: options.muonRateHz ?? 1000,
        noiseRateHz: options.noiseRateHzPerChannel ?? 200,
        dataDir,
      },
    });
    print(`testbed: environment ${env.id} from ${TESTBED_TEMPLATE}, Kafka topics ${env.namespace}.*`);
    const transition = async (t: string): Promise<EnvironmentView> => {
      const t0 = Date.now();
      try {
        env = await api.call<EnvironmentView>('POST', `/api/v1/environments/${env.id}/transitions`, {
          transition: t,
        });
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
      const client = new KafkaClient({ brokers, clientId: 'daqops-testbed' });
      if (options.onRunning !== undefined) await options.onRunning(stack, env);
      await progress(api, client, env, options.seconds ?? 30, print, options.signal);
      await transition('STOP_ACTIVITY');
      const record = await api.call<RunRecord>('GET', `/api/v1/runs/${run}`);
      const reconciliation = record.reconciliation ?? (await reconcileRun(client, env.namespace, run));
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
      print('');
      print(formatInspection(inspectRun(runDir(dataDir, run))));
      return { environment: env.id, namespace: env.namespace, run, dataDir, reconciliation, record };
    } finally {
      await transition('EXIT').catch(() => undefined);
    }
  } finally {
    await stack?.stop();
    if (owned !== undefined) {
      await stopLocalKafka(owned);
      print('kafka: broker stopped');
    }
  }
}

/** A testbed environment an earlier, interrupted testbed left holding resources is ended first. */
async function exitLeftovers(stack: LocalStack, print: (l: string) => void): Promise<void> {
  const envs = await stack.api.call<EnvironmentView[]>('GET', '/api/v1/environments');
  for (const e of envs) {
    if (e.template !== 'testbed' || e.state === 'DONE' || e.state === 'STANDBY') continue;
    print(`testbed: ending environment ${e.id} (${e.state}) left by an earlier testbed run`);
    await stack.api
      .call('POST', `/api/v1/environments/${e.id}/transitions`, { transition: 'EXIT' })
      .catch((err: unknown) => print(`testbed: could not end ${e.id}: ${String(err)}`));
  }
}

/** One line every 2 s: state, tasks, hits/s, events, incidents, failed tasks; until time is up or abort. */
async function progress(
  api: LocalStack['api'],
  client: KafkaClient,
  start: EnvironmentView,
  seconds: number,
  print: (l: string) => void,
  signal: AbortSignal | undefined,
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
    const env = await api.call<EnvironmentView>('GET', `/api/v1/environments/${start.id}`);
    const r = await reconcileRun(client, start.namespace, start.run!);
    const now = Date.now();
    const rate = ((r.produced.hits - last.hits) * 1000) / Math.max(1, now - last.at);
    last = { at: now, hits: r.produced.hits };
    const running = env.tasks.filter((t) => t.state === 'RUNNING' && !t.excluded).length;
    const failed = env.tasks.filter((t) => t.state === 'ERROR' || t.excluded);
    const incidents = await incidentsOf(api, start.id);
    const open = incidents.filter((i) => i.state !== 'resolved').length;
    print(
      `live ${String(Math.round((now - t0) / 1000)).padStart(3)} s: ${env.state} · tasks ${running}/${env.tasks.length} running · ${Math.round(rate)} hits/s · ${r.produced.hits} hits · events ${r.events.built} built / ${r.events.stored} stored · incidents ${incidents.length} (${open} open)${failed.length === 0 ? '' : ` · failed ${failed.map((t) => `${t.name}${t.excluded ? ' (excluded)' : ''}`).join(', ')}`}`,
    );
  }
  if (signal?.aborted === true) print('testbed: stopping early (interrupted)');
}

async function incidentsOf(api: LocalStack['api'], environment: string): Promise<Incident[]> {
  return (await api.call<Incident[]>('GET', '/api/v1/incidents')).filter(
    (i) => i.environment === environment,
  );
}
