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

export async function benchProducer(
  brokers: readonly string[],
  totalMiB = 512,
): Promise<{ daqops: number; kcat: number | undefined }> {
  const client = new KafkaClient({ brokers, clientId: 'bench-producer' });
  const stamp = Date.now();
  const ours = `bench-${stamp}.raw-hits`;
  const theirs = `bench-kcat-${stamp}.raw-hits`;
  await client.ensureTopics([
    { topic: ours, partitions: 4 },
    { topic: theirs, partitions: 4 },
  ]);
  // 1 MiB of emulated words, sent as totalMiB sub-timeframes.
  const emu = new DtEmulator(emulatorConfig({ noiseRateHzPerChannel: 400_000 }));
  const g = emu.generate(0);
  const words = Math.min(g.count, MIB / 8);
  const payload = Buffer.from(bytesOfWords(g.words, words));
  // As the readout sends: 4 MiB per send, many sends in flight up to the link's buffer (64 MiB here).
  const producer = await RecordProducer.open(client, { maxQueuedBytes: 64 * MIB });
  const perRequest = 4;
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  for (let i = 0; i < totalMiB; i += perRequest) {
    const records = [];
    for (let k = 0; k < perRequest; k++) {
      const tf = i + k;
      records.push(
        encodeSubTimeframe(
          {
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
          },
          payload,
        ),
      );
    }
    while (inFlight.size >= 16) await Promise.race(inFlight);
    const sent: Promise<void> = producer.send([{ topic: ours, records }]).then(() => {
      inFlight.delete(sent);
    });
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  const oursSeconds = (performance.now() - t0) / 1000;
  await producer.close();
  const daqops = (totalMiB * payload.length) / MIB / oursSeconds;
  console.log(
    `  daqops producer (kafkajs, idempotent, acks=all): ${daqops.toFixed(0)} MiB/s (${totalMiB} messages of ${(payload.length / MIB).toFixed(2)} MiB)`,
  );

  let kcat: number | undefined;
  if (spawnSync('kcat', ['-V']).error !== undefined) {
    console.log('  kcat: not installed (Debian package kcat) — no comparison');
  } else {
    const dir = scratch();
    try {
      const files: string[] = [];
      for (let i = 0; i < totalMiB; i++) {
        const f = join(dir, `m${i}.bin`);
        writeFileSync(f, payload);
        files.push(f);
      }
      const t1 = performance.now();
      const r = spawnSync(
        'kcat',
        [
          '-P',
          '-b',
          brokers.join(','),
          '-t',
          theirs,
          '-X',
          'enable.idempotence=true',
          '-X',
          'acks=all',
          '-X',
          'message.max.bytes=8388608',
          ...files,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
      );
      const s = (performance.now() - t1) / 1000;
      if (r.status !== 0) throw new Error(`kcat failed: ${r.stderr}`);
      kcat = (totalMiB * payload.length) / MIB / s;
      console.log(`  kcat (librdkafka, idempotent, acks=all), same bytes: ${kcat.toFixed(0)} MiB/s`);
      console.log(
        `  daqops / kcat = ${(daqops / kcat).toFixed(2)} (target ≥ 0.8); target ≥ 230 MB/s (seed 001 per producer)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await client.deleteTopics([ours, theirs]).catch(() => undefined);
  return { daqops, kcat };
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
  return spawn(...daqopsArgv(...args), {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** End to end on this machine: recorded streams replayed at full speed through the whole path. */
export async function benchEndToEnd(
  brokers: readonly string[],
  options: { timeframes?: number; processors?: number; brokerPid?: number } = {},
): Promise<number> {
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
    const readoutsDone = Promise.all(readouts.map((c) => exited(c))).then(
      () => (performance.now() - t0) / 1000,
    );
    // Readouts exit when their file is replayed: sample them while they live.
    const stats = new Map<string, { peakRssMiB: number; cpuSeconds: number }>();
    const sample = (): void => {
      for (const c of children) {
        const st = processStats(c.pid);
        if (st !== undefined) stats.set(names.get(c) ?? String(c.pid), st);
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
      `  per process (peak RSS, CPU s): ${[...stats].map(([n, st]) => `${n} ${st.peakRssMiB.toFixed(0)} MiB ${st.cpuSeconds.toFixed(1)} s`).join(' · ')}${broker === undefined ? '' : ` · broker JVM CPU so far ${broker.cpuSeconds.toFixed(1)} s`}`,
    );
    const rate = r.processed.hits / seconds;
    console.log(
      `  ${processors} processor(s): ${r.processed.hits} hits (${((r.produced.words * 8) / MIB).toFixed(0)} MiB) in ${seconds.toFixed(1)} s = ${(rate / 1e6).toFixed(2)} M hits/s sustained, lost = ${r.lost} (target ≥ 20 M hits/s); the readouts were done after ${readoutSeconds.toFixed(1)} s`,
    );
    if (r.processed.hits !== hits) {
      console.log(
        `  note: ${hits} hits generated, ${r.processed.hits} processed, ${r.deadletteredWords} words dead-lettered (${r.incompleteTimeframes} incomplete timeframes)`,
      );
    }
    return rate;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
