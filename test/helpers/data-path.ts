/** Running the real workloads against the test broker: in-process or as child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { applyOverrides } from '../../lib/config.js';
import { KafkaClient } from '../../lib/kafka.js';
import { reconcileRun } from '../../lib/reconcile.js';
import type { Reconciliation } from '../../protocol/accounting.js';
import { parseWorkloadConfig, type WorkloadKind } from '../../agent/workloads/config.js';
import { runWorkload } from '../../agent/workloads/run-workload.js';
import { daqopsArgv } from './daqops.js';

export function uniqueNamespace(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface RunningWorkload {
  readonly done: Promise<object>;
  stop(): Promise<object>;
}

/** Starts a workload in this process; `stop` aborts it and waits for its clean end. */
export function startWorkload(
  kind: WorkloadKind,
  brokers: readonly string[],
  settings: Record<string, unknown>,
): RunningWorkload {
  const config = parseWorkloadConfig(
    kind,
    applyOverrides(
      {},
      Object.entries(settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
    ),
    brokers,
  );
  const controller = new AbortController();
  const done = runWorkload(config, { signal: controller.signal, handleSignals: false }).then((r) => r.totals);
  return {
    done,
    stop: async () => {
      controller.abort();
      return done;
    },
  };
}

/** Starts a workload as a child process (`daqops workload`), so a test can SIGKILL it. */
export function spawnWorkload(
  kind: WorkloadKind,
  brokers: readonly string[],
  settings: Record<string, unknown>,
): ChildProcess {
  const sets = Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]);
  const env = { ...process.env };
  delete env['DAQOPS_KAFKA_BROKERS'];
  const child = spawn(...daqopsArgv('workload', kind, '--brokers', brokers.join(','), ...sets), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Polls the run's reconciliation until every produced word is processed or dead-lettered, every expected
 * link's readout sent its final report and (unless `writer` is false) every built event is stored.
 */
export async function waitForDrain(
  brokers: readonly string[],
  namespace: string,
  run: number,
  options: { timeoutMs?: number; writer?: boolean; links?: readonly number[] } = {},
): Promise<Reconciliation> {
  const client = new KafkaClient({ brokers, clientId: 'test-drain', log: () => {} });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last: Reconciliation | undefined;
  for (;;) {
    last = await reconcileRun(client, namespace, run);
    const r = last;
    // Every expected link must have reported: one fast link's final report alone is not the end.
    const allLinks = (options.links ?? [0, 1]).every((l) => (r.perLink[String(l)]?.produced ?? 0) > 0);
    const drained =
      allLinks &&
      last.readoutFinal &&
      last.produced.words > 0 &&
      last.lost === 0 &&
      (options.writer === false || last.events.stored >= last.events.built);
    if (drained) return last;
    if (Date.now() > deadline)
      throw new Error(`run ${run} in ${namespace} did not drain: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
