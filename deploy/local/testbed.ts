/**
 * The README's main job: the trigger-less testbed on this machine. A local Kafka (ours, a running
 * `daqops kafka up` one, or DAQOPS_KAFKA_BROKERS), then the data path as separate processes — two
 * emulated readout links of the DT testbed paced in real time, two processors in one consumer group, one
 * writer — with live progress, and at the end the run's reconciliation and a look at the stored events.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { envBrokerList } from '../../lib/env.js';
import { KafkaClient } from '../../lib/kafka.js';
import { daqopsCommand } from '../../lib/paths.js';
import { formatReconciliation, reconcileRun } from '../../lib/reconcile.js';
import { ensureNamespaceTopics } from '../../lib/topics.js';
import type { Reconciliation } from '../../protocol/accounting.js';
import { formatInspection, inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';
import { startLocalKafka, stopLocalKafka, type LocalKafka } from './kafka-local.js';
import { daqopsHome, runningLocalKafka } from './kafka-state.js';

export interface TestbedOptions {
  readonly seconds?: number;
  readonly muonRateHz?: number;
  readonly noiseRateHzPerChannel?: number;
  readonly dataDir?: string;
  readonly print?: (line: string) => void;
}

export interface TestbedResult {
  readonly namespace: string;
  readonly dataDir: string;
  readonly reconciliation: Reconciliation;
}

const TF_SECONDS = (32 * 3564 * 25) / 1e9;

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
  const children: ChildProcess[] = [];
  try {
    const namespace = `testbed-${randomBytes(3).toString('hex')}`;
    const dataDir = options.dataDir ?? join(daqopsHome(), 'data', namespace);
    mkdirSync(dataDir, { recursive: true });
    const client = new KafkaClient({ brokers, clientId: 'daqops-testbed' });
    await ensureNamespaceTopics(client, namespace);
    const seconds = options.seconds ?? 10;
    const timeframes = Math.max(1, Math.round(seconds / TF_SECONDS));
    const { command, args } = daqopsCommand();
    const start = (name: string, kind: string, settings: Record<string, unknown>): ChildProcess => {
      const sets = Object.entries({ namespace, environment: 'testbed', task: name, ...settings }).flatMap(
        ([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`],
      );
      const child = spawn(command, [...args, 'workload', kind, '--brokers', brokers.join(','), ...sets], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      // Workload ERS issues and errors reach the console, prefixed by task.
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        for (const line of text.split('\n'))
          if (line.trim() !== '' && !line.includes('nodedir')) print(`${name}: ${line}`);
      });
      children.push(child);
      return child;
    };
    print(
      `testbed: namespace ${namespace}, run 1, ${seconds} s of detector time (${timeframes} timeframes), data in ${dataDir}`,
    );
    // Five processes start at once on a small machine: give the links time to line up before a timeframe
    // is declared incomplete.
    for (const p of [0, 1]) start(`processor-${p}`, 'processor', { assemblyTimeoutMs: 5000 });
    start('writer', 'writer', { dataDir, flushIntervalMs: 500 });
    const readouts = [0, 1].map((link) =>
      start(`readout-${link}`, 'readout', {
        link,
        timeframes,
        pacing: 'realtime',
        'source.muonRateHz': options.muonRateHz ?? 1000,
        'source.noiseRateHzPerChannel': options.noiseRateHzPerChannel ?? 200,
      }),
    );
    const readoutsDone = Promise.all(
      readouts.map((c) => new Promise<number | null>((r) => c.once('exit', (code) => r(code)))),
    );
    let r: Reconciliation | undefined;
    let finished = false;
    void readoutsDone.then(() => {
      finished = true;
    });
    const deadline = Date.now() + (seconds + 90) * 1000;
    for (;;) {
      await new Promise((res) => setTimeout(res, 2000));
      r = await reconcileRun(client, namespace, 1);
      print(
        `live: produced ${r.produced.hits} hits · processed ${r.processed.hits} · corrupt ${r.processed.corrupt} · events ${r.events.built} built / ${r.events.stored} stored · in flight ${Math.max(0, r.produced.words - r.processed.words - r.deadletteredWords)} words (readouts report every second)`,
      );
      const drained =
        finished &&
        r.readoutFinal &&
        r.processed.words + r.deadletteredWords >= r.produced.words &&
        r.events.stored >= r.events.built;
      if (drained) break;
      if (Date.now() > deadline) {
        print('testbed: the data path did not drain in time');
        break;
      }
    }
    const codes = await readoutsDone;
    if (codes.some((c) => c !== 0)) print(`testbed: a readout exited with code ${codes.join(', ')}`);
    print('');
    print(formatReconciliation(r));
    print('');
    print(formatInspection(inspectRun(runDir(dataDir, 1))));
    return { namespace, dataDir, reconciliation: r };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((r) => c.once('exit', () => r())),
      ),
    );
    if (owned !== undefined) {
      await stopLocalKafka(owned);
      print('kafka: broker stopped');
    }
  }
}
