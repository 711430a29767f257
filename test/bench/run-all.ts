/** `npm run bench`: prints figures; asserts nothing about speed (targets are in the README). */
import { cpus } from 'node:os';
import { envBrokerList } from '../../lib/env.js';
import { startLocalKafka, stopLocalKafka, type LocalKafka } from '../../deploy/local/kafka-local.js';
import { benchCodec } from './codec.bench.js';
import { benchEndToEnd, benchProducer } from './kafka.bench.js';
import { benchAgent } from './agent.bench.js';
import { benchControlPlane } from './control.bench.js';
import { benchProcessorKernel } from './processor.bench.js';
import { benchRecovery } from './recovery.bench.js';
import { benchDetection } from './detection.bench.js';
import { benchAlertStorm } from './api.bench.js';
import { benchLongRun } from './longrun.bench.js';

const only = process.argv[2];
console.log(
  `daqops bench — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`,
);
if (only === undefined || only === 'codec') {
  console.log('\n[codec] one core, 4 Mi words of 8 bytes');
  benchCodec();
}
if (only === undefined || only === 'kernel') {
  console.log('\n[processor kernel] one core, emulated muons in noise');
  benchProcessorKernel();
}
if (only === undefined || only === 'control') {
  console.log('\n[control plane] simulated agents, in-process');
  await benchControlPlane();
}
if (only === undefined || only === 'api') {
  console.log('\n[api] an alert storm over HTTP while the API is polled');
  await benchAlertStorm('channels');
  await benchAlertStorm('tasks');
}
if (only === undefined || only === 'agent') {
  console.log('\n[agent] overhead of the agent process itself');
  await benchAgent();
}
/** Runs `fn` with a Kafka: DAQOPS_KAFKA_BROKERS, or a local broker started and stopped around it. */
async function withKafka(fn: (brokers: string[], brokerPid?: number) => Promise<void>): Promise<void> {
  let local: LocalKafka | undefined;
  let brokers = envBrokerList('DAQOPS_KAFKA_BROKERS');
  if (brokers === undefined) {
    local = await startLocalKafka();
    brokers = [...local.brokers];
  }
  try {
    await fn(brokers, local?.pid);
  } finally {
    if (local !== undefined) await stopLocalKafka(local);
  }
}

if (only === undefined || only === 'kafka') {
  await withKafka(async (brokers, brokerPid) => {
    console.log(`\n[producer] one producer to the broker at ${brokers.join(',')}`);
    const figures = await benchProducer(brokers);
    const transport =
      figures.kcatWhileConsumed === undefined ? {} : { transportMiBs: figures.kcatWhileConsumed };
    console.log(
      '\n[end to end] readout ×2 → processor → writer on this machine (replayed streams, full speed)',
    );
    const pid = brokerPid === undefined ? {} : { brokerPid };
    await benchEndToEnd(brokers, { processors: 1, ...pid, ...transport });
    await benchEndToEnd(brokers, { processors: 2, ...pid, ...transport });
  });
}
if (only === 'e2e') {
  // The end-to-end figure alone (no producer comparison, so no ratio to the transport limit).
  await withKafka(async (brokers, brokerPid) => {
    console.log('\n[end to end] readout ×2 → processor → writer (replayed streams, full speed)');
    await benchEndToEnd(brokers, { processors: 1, ...(brokerPid === undefined ? {} : { brokerPid }) });
  });
}
if (only === undefined || only === 'recovery') {
  await withKafka(async (brokers) => {
    console.log(
      '\n[recovery] SIGKILL a processor of a live testbed run: time to incident, time to RUNNING again',
    );
    console.log('  from source (tsx), as the tests run:');
    await benchRecovery(brokers);
    // Deployments run the compiled dist/ (npm run build): workload processes start faster.
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('npm', ['run', 'build'], { stdio: 'ignore' }).status === 0) {
      console.log('  compiled (dist/, as deployed):');
      await benchRecovery(brokers, { compiled: true });
    } else console.log('  compiled: npm run build failed, skipped');
  });
}
if (only === undefined || only === 'detection') {
  await withKafka(async (brokers) => {
    console.log(
      '\n[detection] fault → incident through the whole chain (testbed, Prometheus, Alertmanager, platform)',
    );
    await benchDetection(brokers);
  });
}
if (only === undefined || only === 'longrun') {
  await withKafka(async (brokers) => {
    // DAQOPS_BENCH_HOURS / DAQOPS_BENCH_RUNS: a shorter long run or fewer runs, to look into one figure.
    const hours = Number(process.env['DAQOPS_BENCH_HOURS'] ?? 2);
    const runs = Number(process.env['DAQOPS_BENCH_RUNS'] ?? 20);
    if (!(hours > 0 && hours <= 24) || !(Number.isInteger(runs) && runs >= 1 && runs <= 200))
      throw new Error('DAQOPS_BENCH_HOURS must be in (0, 24], DAQOPS_BENCH_RUNS an integer in [1, 200]');
    console.log(
      `\n[longrun] a 1-minute and a ${hours}-hour run (emulators at pacing max), then ${runs} runs in one environment`,
    );
    await benchLongRun(brokers, { hours, runs });
  });
}
