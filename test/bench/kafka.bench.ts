/**
 * Benches against a real broker (the local one, or DAQOPS_KAFKA_BROKERS):
 *  b. producer MB/s for one daqops producer (idempotent, acks=all, 1 MiB sub-timeframes in 4 MiB
 *     requests, as the readout sends them) beside kcat (librdkafka) producing the same bytes;
 *  c. end-to-end sustained hits/s: 2 readouts → processor(s) → writer, as separate processes, lost = 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaClient, RecordProducer } from '../../lib/kafka.js';
import { bytesOfWords, encodeSubTimeframe } from '../../protocol/index.js';
import { DtEmulator } from '../../agent/workloads/readout/emulator.js';
import { emulatorConfig } from '../helpers/pipeline.js';
import { exited, waitForDrain } from '../helpers/data-path.js';
import { daqopsArgv } from '../helpers/daqops.js';

const MIB = 1024 * 1024;
const scratch = (): string => mkdtempSync(join(existsShm() ? '/dev/shm' : tmpdir(), 'daqops-bench-'));

function existsShm(): boolean {
  try {
    mkdirSync('/dev/shm', { recursive: true });
    return true;
  } catch {
    return false;
  }
}

export interface ProducerFigures {
  /** The daqops producer, MiB/s. */
  readonly daqops: number;
  /** kcat producing the same bytes, MiB/s (undefined without kcat). */
  readonly kcat: number | undefined;
  /** kcat producing while another kcat consumes the same topic: the transport limit, MiB/s. */
  readonly kcatWhileConsumed: number | undefined;
}

const KCAT_PRODUCE = ['-X', 'enable.idempotence=true', '-X', 'acks=all', '-X', 'message.max.bytes=8388608'];

/** kcat producing `files` (one message each) to `topic`, optionally while a second kcat consumes them. */
async function kcatRun(
  brokers: readonly string[],
  topic: string,
  files: readonly string[],
  consume: boolean,
): Promise<number> {
  const b = brokers.join(',');
  // Bounded: a kcat that has not finished in 2 minutes is killed and the figure reported as missing.
  const run = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = spawn('kcat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      const timer = setTimeout(() => c.kill('SIGKILL'), 120_000);
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            new Error(
              `kcat ${args[0]} ${signal === 'SIGKILL' ? 'did not finish in 120 s' : `failed`}: ${err}`,
            ),
          );
      });
    });
  const t0 = performance.now();
  await Promise.all([
    run(['-P', '-b', b, '-t', topic, ...KCAT_PRODUCE, ...files]),
    ...(consume
      ? [run(['-C', '-b', b, '-t', topic, '-o', 'beginning', '-c', String(files.length), '-q'])]
      : []),
  ]);
  return (performance.now() - t0) / 1000;
}

/** The daqops producer as the readout drives it: 4 MiB per send, up to 64 MiB unacknowledged. */
async function daqopsProduce(
  client: KafkaClient,
  topic: string,
  payload: Buffer,
  count: number,
): Promise<number> {
  const words = payload.length / 8;
  const producer = await RecordProducer.open(client, { maxQueuedBytes: 64 * MIB });
  const perRequest = 4;
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let i = 0; i < count; i += perRequest) {
    const records = [];
    for (let k = 0; k < perRequest; k++) {
      const tf = i + k;
      const header = {
        run: 1,
        link: 0,
        timeframe: tf,
        sequence: tf,
        words,
        hits: 0,
        part: 0,
        parts: 1,
        lead: 0,
        trail: 0,
        overlapNs: 0,
      };
      records.push(encodeSubTimeframe(header, payload));
    }
    while (inFlight.size >= 16) await Promise.race(inFlight);
    const sent: Promise<void> = producer.send([{ topic, records }]).then(() => {
      inFlight.delete(sent);
    });
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - t0) / 1000;
  await producer.close();
  return seconds;
}

/**
 * Producer MiB/s on one broker, in the same run: kcat producing, the daqops producer, and kcat producing
 * while another kcat consumes (the transport limit for the end-to-end figure). Two interleaved rounds,
 * the better of each printed, since the shared machine varies from second to second.
 */
export async function benchProducer(brokers: readonly string[], totalMiB = 512): Promise<ProducerFigures> {
  const client = new KafkaClient({ brokers, clientId: 'bench-producer' });
  // 1 MiB of emulated words, sent as totalMiB sub-timeframes.
  const emu = new DtEmulator(emulatorConfig({ noiseRateHzPerChannel: 400_000 }));
  const g = emu.generate(0);
  const payload = Buffer.from(bytesOfWords(g.words, Math.min(g.count, MIB / 8)));
  const mib = (totalMiB * payload.length) / MIB;
  const haveKcat = spawnSync('kcat', ['-V']).error === undefined;
  if (!haveKcat) console.log('  kcat: not installed (Debian package kcat) — no comparison');
  const dir = scratch();
  const topics: string[] = [];
  const topic = async (name: string): Promise<string> => {
    const t = `bench-${name}-${Date.now()}.raw-hits`;
    await client.ensureTopics([{ topic: t, partitions: 4 }]);
    topics.push(t);
    return t;
  };
  const best = { daqops: 0, kcat: 0, kcatWhileConsumed: 0 };
  try {
    const files: string[] = [];
    if (haveKcat) {
      for (let i = 0; i < totalMiB; i++) {
        const f = join(dir, `m${i}.bin`);
        writeFileSync(f, payload);
        files.push(f);
      }
    }
    for (let round = 1; round <= 2; round++) {
      const line: string[] = [];
      if (haveKcat) {
        const k = mib / (await kcatRun(brokers, await topic('kcat'), files, false));
        best.kcat = Math.max(best.kcat, k);
        line.push(`kcat ${k.toFixed(0)}`);
      }
      const d = mib / (await daqopsProduce(client, await topic('daqops'), payload, totalMiB));
      best.daqops = Math.max(best.daqops, d);
      line.push(`daqops ${d.toFixed(0)}`);
      if (haveKcat) {
        try {
          const kc = mib / (await kcatRun(brokers, await topic('kcat-pc'), files, true));
          best.kcatWhileConsumed = Math.max(best.kcatWhileConsumed, kc);
          line.push(`kcat while consumed ${kc.toFixed(0)}`);
        } catch (err) {
          line.push(`kcat while consumed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      console.log(`  round ${round}: ${line.join(' · ')} MiB/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await client.deleteTopics(topics).catch(() => undefined);
  }
  console.log(
    `  daqops producer (librdkafka, idempotent, acks=all, 1 MiB sub-timeframes): ${best.daqops.toFixed(0)} MiB/s`,
  );
  if (!haveKcat) return { daqops: best.daqops, kcat: undefined, kcatWhileConsumed: undefined };
  console.log(`  kcat producing the same bytes: ${best.kcat.toFixed(0)} MiB/s`);
  console.log(
    `  kcat producing while another kcat consumes (the transport limit): ${best.kcatWhileConsumed.toFixed(0)} MiB/s`,
  );
  console.log(`  daqops / kcat = ${(best.daqops / best.kcat).toFixed(2)} (target ≥ 0.8)`);
  return { ...best, kcatWhileConsumed: best.kcatWhileConsumed > 0 ? best.kcatWhileConsumed : undefined };
}

/** Peak resident memory (VmHWM) and CPU seconds so far of a live process; undefined once it is gone. */
export function processStats(
  pid: number | undefined,
): { peakRssMiB: number; cpuSeconds: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    return { peakRssMiB: Number(hwm?.[1] ?? 0) / 1024, cpuSeconds: ticks / 100 };
  } catch {
    return undefined;
  }
}

function daqops(args: string[]): ReturnType<typeof spawn> {
  const env = { ...process.env };
  delete env['DAQOPS_KAFKA_BROKERS'];
  const [command, argv] = daqopsArgv(...args);
  // DAQOPS_BENCH_CPU_PROF=<dir>: each workload writes a V8 CPU profile there when it exits.
  const prof = process.env['DAQOPS_BENCH_CPU_PROF'];
  if (prof !== undefined) argv.unshift('--cpu-prof', `--cpu-prof-dir=${prof}`);
  return spawn(command, argv, {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** End to end on this machine: recorded streams replayed at full speed through the whole path. */
export async function benchEndToEnd(
  brokers: readonly string[],
  options: { timeframes?: number; processors?: number; brokerPid?: number; transportMiBs?: number } = {},
): Promise<{ hitsPerSecond: number; mibPerSecond: number }> {
  const timeframes = options.timeframes ?? 1000;
  const brokerPid = options.brokerPid;
  const processors = options.processors ?? 1;
  const dir = scratch();
  const ns = `bench-e2e-${Date.now()}`;
  const b = brokers.join(',');
  const children: ReturnType<typeof spawn>[] = [];
  const names = new Map<ReturnType<typeof spawn>, string>();
  try {
    // ~10 M hits/s per link of noise plus muons: the trigger-less stream of seed 001.
    let hits = 0;
    const files = [0, 1].map((fpga) => {
      const emu = new DtEmulator(
        emulatorConfig({ fpga, noiseRateHzPerChannel: 80_000, muonRateHz: 2000, layerEfficiency: 0.95 }),
      );
      const parts: Buffer[] = [];
      for (let tf = 0; tf < timeframes; tf++) {
        const g = emu.generate(tf);
        hits += g.hits;
        parts.push(Buffer.from(bytesOfWords(g.words, g.count)));
      }
      const f = join(dir, `link-${fpga}.raw`);
      writeFileSync(f, Buffer.concat(parts));
      return f;
    });
    const sets = (kv: Record<string, unknown>): string[] =>
      Object.entries(kv).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]);
    for (let p = 0; p < processors; p++) {
      const c = daqops([
        'workload',
        'processor',
        '--brokers',
        b,
        ...sets({ namespace: ns, task: `processor-${p}` }),
      ]);
      children.push(c);
      names.set(c, `processor-${p}`);
    }
    const writer = daqops([
      'workload',
      'writer',
      '--brokers',
      b,
      ...sets({ namespace: ns, dataDir: join(dir, 'data') }),
    ]);
    children.push(writer);
    names.set(writer, 'writer');
    await new Promise((r) => setTimeout(r, 5000)); // group joins
    const readouts = [0, 1].map((link) =>
      daqops([
        'workload',
        'readout',
        '--brokers',
        b,
        ...sets({
          namespace: ns,
          link,
          task: `readout-${link}`,
          'source.type': 'replay',
          'source.file': files[link],
          pacing: 'max',
        }),
      ]),
    );
    children.push(...readouts);
    readouts.forEach((c, link) => names.set(c, `readout-${link}`));
    // The clock starts with the first sub-timeframe on Kafka, not at process start (module loading is
    // not data-path throughput).
    const probe = new KafkaClient({ brokers, clientId: 'bench-probe', log: () => {} });
    for (;;) {
      const offsets = await probe.topicOffsets(`${ns}.raw-hits`).catch(() => []);
      if (offsets.some((o) => o.high > 0n)) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const t0 = performance.now();
    const brokerCpu0 = processStats(brokerPid)?.cpuSeconds;
    // CPU spent before the clock started (module loading, group joins) is not the data path's.
    const cpu0 = new Map(children.map((c) => [c, processStats(c.pid)?.cpuSeconds ?? 0]));
    const readoutsDone = Promise.all(readouts.map((c) => exited(c))).then(
      () => (performance.now() - t0) / 1000,
    );
    // Readouts exit when their file is replayed: sample them while they live.
    const stats = new Map<string, { peakRssMiB: number; cpuSeconds: number }>();
    const sample = (): void => {
      for (const c of children) {
        const st = processStats(c.pid);
        if (st !== undefined)
          stats.set(names.get(c) ?? String(c.pid), {
            peakRssMiB: st.peakRssMiB,
            cpuSeconds: st.cpuSeconds - (cpu0.get(c) ?? 0),
          });
      }
    };
    const sampler = setInterval(sample, 200);
    const r = await waitForDrain(brokers, ns, 1, { timeoutMs: 600_000, writer: false });
    const seconds = (performance.now() - t0) / 1000;
    const readoutSeconds = await readoutsDone;
    clearInterval(sampler);
    sample();
    const broker = brokerPid === undefined ? undefined : processStats(brokerPid);
    console.log(
      `  per process (peak RSS, CPU s from the first record on): ${[...stats].map(([n, st]) => `${n} ${st.peakRssMiB.toFixed(0)} MiB ${st.cpuSeconds.toFixed(1)} s`).join(' · ')}${broker === undefined || brokerCpu0 === undefined ? '' : ` · broker JVM ${(broker.cpuSeconds - brokerCpu0).toFixed(1)} s CPU during the run`}`,
    );
    const rate = r.processed.hits / seconds;
    const mibPerSecond = (r.produced.words * 8) / MIB / seconds;
    const limit = options.transportMiBs;
    console.log(
      `  ${processors} processor(s): ${r.processed.hits} hits (${((r.produced.words * 8) / MIB).toFixed(0)} MiB) in ${seconds.toFixed(1)} s = ${(rate / 1e6).toFixed(2)} M hits/s (${mibPerSecond.toFixed(0)} MiB/s) sustained, lost = ${r.lost} (target ≥ 20 M hits/s); the readouts were done after ${readoutSeconds.toFixed(1)} s`,
    );
    if (limit !== undefined && limit > 0)
      console.log(
        `  end to end / transport limit (kcat producing while consumed, ${limit.toFixed(0)} MiB/s) = ${(mibPerSecond / limit).toFixed(2)} (target ≥ 0.6)`,
      );
    if (r.processed.hits !== hits) {
      console.log(
        `  note: ${hits} hits generated, ${r.processed.hits} processed, ${r.deadletteredWords} words dead-lettered (${r.incompleteTimeframes} incomplete timeframes)`,
      );
    }
    return { hitsPerSecond: rate, mibPerSecond };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
