/**
 * Long runs (docs/data-path.md "Accounting"): what knowing where a run stands costs at hour 2 against
 * minute 1, and in an environment's 20th run against its first. On the real local stack (platform and
 * agent processes, real workloads, Kafka), the testbed template with its emulators at pacing max and a
 * fixed number of timeframes, so 2 hours of detector time take minutes:
 *
 * - a 1-minute run and a 2-hour run, side by side: one balance read (`GET /api/v1/runs/{run}/balance`,
 *   median of the reads once the data drained), STOP_ACTIVITY, and the peak resident memory (VmHWM) of
 *   the platform and of each workload;
 * - one environment taking 20 short runs: the first and the 20th run's balance read and STOP.
 *
 * Targets (README): the long run's balance read and STOP within 1.5× of the short run's; memory flat
 * within 20 %; the 20th run as the first. Prints figures, asserts nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStack } from '../../deploy/local/stack.js';
import { projectRoot } from '../../lib/paths.js';
import type { Reconciliation } from '../../protocol/accounting.js';

/** Detector time of one timeframe: 32 orbits of 3564 bunch crossings of 25 ns. */
const TIMEFRAME_SECONDS = (32 * 3564 * 25) / 1e9;
/** Short runs measured after the warm-up run: STOP and the balance read are their medians. */
const SHORT_SAMPLES = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The testbed template, its readouts at pacing max for `{{timeframes}}` timeframes. */
function template(): string {
  const yaml = readFileSync(join(projectRoot(), 'deploy', 'templates', 'testbed.yaml'), 'utf8');
  const out = yaml
    .replace('name: testbed', 'name: testbed-longrun')
    .replace('  dataDir: .daqops/data', '  dataDir: .daqops/data\n  timeframes: 1000')
    .replace('          pacing: realtime', "          pacing: max\n          timeframes: '{{timeframes}}'");
  if (!out.includes("timeframes: '{{timeframes}}'")) throw new Error('the testbed template changed shape');
  return out;
}

/** A process's resident memory in MiB now (VmRSS) or at its peak (VmHWM), undefined when it is gone. */
function memMiB(pid: number | undefined, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** The processors' assembly gauges summed, from the node's /metrics (undefined when it does not answer). */
async function assembly(metricsUrl: string | undefined): Promise<Record<string, number>> {
  if (metricsUrl === undefined) return {};
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })).text();
    const sum = (name: string): number =>
      [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    // Where a processor's memory is: V8's heap and the memory outside it (Buffers), per task; the rest
    // of its RSS is native (librdkafka's queues and fetch buffers, the code).
    const perTask = (name: string, label: string): [string, number][] =>
      [...text.matchAll(new RegExp(`^${name}\\{[^}]*task="(processor-\\d+)"[^}]*\\} (\\S+)$`, 'gm'))].map(
        (m) => [`${m[1]} ${label}`, Number(m[2]) / 2 ** 20],
      );
    return {
      'assembly timeframes': sum('daq_processor_assembly_timeframes'),
      'assembly MiB': sum('daq_processor_assembly_bytes') / 2 ** 20,
      ...Object.fromEntries([
        ...perTask('nodejs_heap_size_total_bytes', 'V8 heap'),
        ...perTask('nodejs_external_memory_bytes', 'external'),
      ]),
    };
  } catch {
    return {};
  }
}

/**
 * Resident memory sampled while a run takes data: per process, the highest VmRSS in each quarter of it;
 * the timeframes the processors hold waiting in assembly, and their V8 heap and external memory.
 */
class RssSampler {
  private readonly samples: { atMs: number; rss: Record<string, number> }[] = [];
  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    private readonly metricsUrl: string | undefined,
  ) {}

  async sample(): Promise<void> {
    const rss: Record<string, number> = await assembly(this.metricsUrl);
    for (const [k, pid] of Object.entries(this.pids())) {
      const v = memMiB(pid, 'VmRSS');
      if (v !== undefined) rss[k] = v;
    }
    // Bounded: one sample a second, a few hours at most.
    if (this.samples.length < 100_000) this.samples.push({ atMs: Date.now(), rss });
  }

  /** Per process: the highest VmRSS of each quarter of the sampled time. */
  quarters(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    if (this.samples.length === 0) return out;
    const t0 = this.samples[0]!.atMs;
    const span = Math.max(1, this.samples.at(-1)!.atMs - t0);
    for (const s of this.samples) {
      const q = Math.min(3, Math.floor(((s.atMs - t0) / span) * 4));
      for (const [k, v] of Object.entries(s.rss)) {
        const row = (out[k] ??= [0, 0, 0, 0]);
        row[q] = Math.max(row[q]!, v);
      }
    }
    return out;
  }
}

interface RunFigures {
  readonly timeframes: number;
  readonly takeSeconds: number;
  readonly balanceMs: number;
  readonly stopSeconds: number;
  readonly rss: Record<string, number>;
  /** Per process: the highest VmRSS in each quarter of the time the run took data. */
  readonly quarters: Record<string, number[]>;
  readonly r: Reconciliation;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function oneRun(
  stack: LocalStack,
  id: string,
  timeframes: number,
  metricsUrl: string | undefined,
): Promise<RunFigures> {
  const api = stack.api;
  const t0 = Date.now();
  let env = await api.transition(id, 'START_ACTIVITY');
  const run = env.run!;
  const tasks = env.tasks;
  const sampler = new RssSampler(
    () => ({
      platform: stack.platform?.pid,
      ...Object.fromEntries(tasks.map((t) => [t.name, t.pid])),
    }),
    metricsUrl,
  );
  // Until the readouts sent their last timeframe and everything they sent is processed or set aside.
  let r: Reconciliation | null;
  for (;;) {
    r = (await api.runBalance(run)).reconciliation;
    if (r !== null && r.readoutFinal && r.lost === 0) break;
    if (Date.now() - t0 > 3600_000) throw new Error(`run ${run} did not drain within an hour`);
    await sampler.sample();
    await sleep(1000);
  }
  const takeSeconds = (Date.now() - t0) / 1000;
  const reads: number[] = [];
  for (let i = 0; i < 7; i++) {
    const a = performance.now();
    r = (await api.runBalance(run)).reconciliation;
    reads.push(performance.now() - a);
    await sleep(300);
  }
  env = await api.environment(id);
  const rss: Record<string, number> = {};
  const platform = memMiB(stack.platform?.pid);
  if (platform !== undefined) rss['platform'] = platform;
  for (const t of env.tasks) {
    const p = memMiB(t.pid);
    if (p !== undefined) rss[t.name] = p;
  }
  const s0 = performance.now();
  await api.transition(id, 'STOP_ACTIVITY');
  const stopSeconds = (performance.now() - s0) / 1000;
  const record = await api.run(run);
  return {
    timeframes,
    takeSeconds,
    balanceMs: median(reads),
    stopSeconds,
    rss,
    quarters: sampler.quarters(),
    r: record.reconciliation ?? r!,
  };
}

function say(label: string, f: RunFigures): void {
  const detector = f.timeframes * TIMEFRAME_SECONDS;
  const span = detector >= 3600 ? `${(detector / 3600).toFixed(2)} h` : `${detector.toFixed(0)} s`;
  console.log(
    `  ${label}: ${span} of detector time (${f.timeframes} timeframes, ${(f.r.produced.words / 1e6).toFixed(1)} M words) taken in ${f.takeSeconds.toFixed(0)} s; balance read ${f.balanceMs.toFixed(1)} ms; STOP ${f.stopSeconds.toFixed(2)} s; lost ${f.r.lost}`,
  );
  console.log(
    `    peak RSS: ${Object.entries(f.rss)
      .map(([k, v]) => `${k} ${v.toFixed(0)} MiB`)
      .join(', ')}`,
  );
  console.log(
    `    RSS by quarter of the run: ${Object.entries(f.quarters)
      .map(([k, q]) => `${k} ${q.map((v) => v.toFixed(0)).join('/')}`)
      .join(', ')} MiB`,
  );
}

export async function benchLongRun(
  brokers: readonly string[],
  o: { hours?: number; shortMinutes?: number; runs?: number } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daqops-bench-longrun-'));
  const log: string[] = [];
  const stack = await LocalStack.start({ home: join(dir, 'home'), brokers, print: (l) => log.push(l) });
  const api = stack.api;
  const yaml = template();
  const metricsUrl = log.map((l) => /\/metrics on (http:\/\/\S+\/metrics)/.exec(l)?.[1]).find(Boolean);
  const make = async (timeframes: number, ns: string): Promise<string> => {
    let env = await api.createEnvironment(
      { yaml },
      { timeframes, dataDir: join(dir, 'data'), namespace: ns, processors: 2 },
    );
    env = await api.transition(env.id, 'DEPLOY');
    await api.transition(env.id, 'CONFIGURE');
    return env.id;
  };
  try {
    const short = Math.round(((o.shortMinutes ?? 1) * 60) / TIMEFRAME_SECONDS);
    const long = Math.round(((o.hours ?? 2) * 3600) / TIMEFRAME_SECONDS);
    // The short point: a warm-up run, then SHORT_SAMPLES runs, all in one environment, so its processes
    // are past their start (a 1-minute run at pacing max takes about 10 s of wall time, less than a
    // processor needs to fill its prefetch: docs/decisions.md "Memory of a long run"). STOP and the balance
    // read are the medians of the samples; the cold run's figures are printed too.
    const shortEnv = await make(short, 'longrun-short');
    const cold = await oneRun(stack, shortEnv, short, metricsUrl);
    say('short run, cold (first in its environment)', cold);
    const samples: RunFigures[] = [];
    for (let i = 0; i < SHORT_SAMPLES; i++) samples.push(await oneRun(stack, shortEnv, short, metricsUrl));
    const a: RunFigures = {
      ...samples.at(-1)!,
      balanceMs: median(samples.map((f) => f.balanceMs)),
      stopSeconds: median(samples.map((f) => f.stopSeconds)),
    };
    say(`short run, warm (median of ${SHORT_SAMPLES} after it)`, a);
    console.log(
      `    STOP of the ${SHORT_SAMPLES}: ${samples.map((f) => f.stopSeconds.toFixed(2)).join(', ')} s; balance read ${samples.map((f) => f.balanceMs.toFixed(1)).join(', ')} ms`,
    );
    await api.transition(shortEnv, 'EXIT');
    const longEnv = await make(long, 'longrun-long');
    const b = await oneRun(stack, longEnv, long, metricsUrl);
    say('long run ', b);
    await api.transition(longEnv, 'EXIT');
    const grow = (a: RunFigures, k: string): string => {
      const x = a.rss[k];
      const y = b.rss[k];
      return x === undefined || y === undefined ? `${k} ?` : `${k} ${((y / x - 1) * 100).toFixed(0)} %`;
    };
    // Growth with the run itself: the long run's last quarter against its first (both at full rate).
    const within = Object.entries(b.quarters)
      .filter(([k]) => !k.startsWith('assembly'))
      .map(([k, q]) => `${k} ${((q[3]! / Math.max(1, q[0]!) - 1) * 100).toFixed(0)} %`);
    console.log(`  long run, last quarter ÷ first: peak RSS ${within.join(', ')}`);
    const stops = samples.map((f) => f.stopSeconds);
    const inSpread = b.stopSeconds <= Math.max(...stops) ? ', within the short runs’ spread' : '';
    console.log(
      `  long ÷ short (warm): balance read ${(b.balanceMs / a.balanceMs).toFixed(2)}×, STOP ${(b.stopSeconds / a.stopSeconds).toFixed(2)}×${inSpread}; peak RSS ${Object.keys(
        b.rss,
      )
        .map((k) => grow(a, k))
        .join(', ')}`,
    );
    console.log(
      `  long ÷ short (cold): peak RSS ${Object.keys(b.rss)
        .map((k) => grow(cold, k))
        .join(', ')}`,
    );

    const runs = o.runs ?? 20;
    const perRun = Math.round(10 / TIMEFRAME_SECONDS); // 10 s of detector time each
    const many = await make(perRun, 'longrun-many');
    const figures: RunFigures[] = [];
    for (let i = 0; i < runs; i++) figures.push(await oneRun(stack, many, perRun, metricsUrl));
    await api.transition(many, 'EXIT');
    const first = figures[0]!;
    const last = figures.at(-1)!;
    console.log(
      `  ${runs} runs in one environment: run 1 balance read ${first.balanceMs.toFixed(1)} ms, STOP ${first.stopSeconds.toFixed(2)} s; run ${runs} balance read ${last.balanceMs.toFixed(1)} ms, STOP ${last.stopSeconds.toFixed(2)} s; lost ${figures.map((f) => f.r.lost).join(' ')}`,
    );
    // One STOP per run is one sample: their spread says how far a single STOP ratio above can be trusted.
    const manyStops = figures.map((f) => f.stopSeconds);
    console.log(
      `  STOP over the ${runs} runs: min ${Math.min(...manyStops).toFixed(2)} s, median ${median(manyStops).toFixed(2)} s, max ${Math.max(...manyStops).toFixed(2)} s`,
    );
  } catch (err) {
    console.log(log.slice(-40).join('\n'));
    throw err;
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
