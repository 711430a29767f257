/**
 * The platform's own view of the dataflow rates (the web page's dataflow graph, without Grafana): the
 * agents' /metrics read every few seconds, `daq_dataflow_bytes_total{environment,source,target}` turned
 * into bytes per second per edge, `daq_processor_consumer_lag_messages` per task, and
 * `daq_processor_channel_hits_total{chamber,layer,cell}` into the detector's occupancy, with a trend of the
 * hit rate the links send. Bounded: what a scrape has not refreshed for a minute is forgotten, a trend
 * keeps TREND_POINTS samples, and a scrape reads at most MAX_SCRAPE_BYTES.
 */
export const MAX_SCRAPE_BYTES = 16 * 1024 * 1024;
const FORGET_MS = 60_000;
const TREND_POINTS = 240;
/** Bytes of one hit word on a link edge. */
const WORD_BYTES = 8;

export interface Occupancy {
  readonly cells: { chamber: number; layer: number; cell: number; hits: number; hitsPerSecond: number }[];
  /** Hits per second the links sent, oldest first. */
  readonly trend: { at: string; hitsPerSecond: number }[];
  readonly at: string | null;
}

interface Counter {
  value: number;
  atMs: number;
  rate: number;
}

export interface DataflowRates {
  readonly edges: { source: string; target: string; bytesPerSecond: number }[];
  /** The same edges per task that counts them (the graph draws each task's own). */
  readonly taskEdges: { task: string; source: string; target: string; bytesPerSecond: number }[];
  readonly lag: Record<string, number>;
  /** When the newest sample was taken (ISO-8601), null before the first. */
  readonly at: string | null;
}

/** `name{a="x",b="y"} 12.5` → labels and value; undefined for comments and other lines. */
export function parseSample(
  line: string,
): { name: string; labels: Record<string, string>; value: number } | undefined {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
  if (m === null) return undefined;
  const labels: Record<string, string> = {};
  for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
    labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
  const value = Number(m[3]);
  return Number.isFinite(value) ? { name: m[1]!, labels, value } : undefined;
}

export class RatesBook {
  /** `env|source|target|node|task` → counter. */
  private readonly counters = new Map<
    string,
    Counter & { env: string; source: string; target: string; task: string }
  >();
  private readonly lags = new Map<string, { env: string; task: string; value: number; atMs: number }>();
  /** `env|chamber|layer|cell|node` → counter. */
  private readonly cells = new Map<
    string,
    Counter & { env: string; chamber: number; layer: number; cell: number }
  >();
  private readonly trends = new Map<string, { at: string; hitsPerSecond: number }[]>();
  private newestMs = 0;
  private askedMs = -Infinity;

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Someone looked at rates or occupancy (the web page): the agents are read while someone looks. */
  asked(): void {
    this.askedMs = this.now();
  }

  /** Whether anyone asked within `ms`: nobody watching, nothing read — no load on the agents. */
  wanted(ms = 60_000): boolean {
    return this.now() - this.askedMs <= ms;
  }

  /** Takes one agent's /metrics text. */
  sample(node: string, text: string): void {
    const t = this.now();
    this.newestMs = Math.max(this.newestMs, t);
    for (const line of text.split('\n')) {
      if (
        !line.startsWith('daq_dataflow_bytes_total') &&
        !line.startsWith('daq_processor_consumer_lag_messages') &&
        !line.startsWith('daq_processor_channel_hits_total')
      )
        continue;
      const s = parseSample(line);
      const env = s?.labels['environment'];
      if (s === undefined || env === undefined) continue;
      if (s.name === 'daq_processor_consumer_lag_messages') {
        const task = s.labels['task'] ?? '';
        const key = `${env}|${task}`;
        const prev = this.lags.get(key);
        // One series per partition: the task's lag is their sum within one scrape.
        this.lags.set(key, { env, task, value: prev?.atMs === t ? prev.value + s.value : s.value, atMs: t });
        continue;
      }
      if (s.name === 'daq_processor_channel_hits_total') {
        const [chamber, layer, cell] = ['chamber', 'layer', 'cell'].map((k) => Number(s.labels[k]));
        if (!Number.isInteger(chamber) || !Number.isInteger(layer) || !Number.isInteger(cell)) continue;
        const key = `${env}|${chamber}|${layer}|${cell}|${node}|${s.labels['task'] ?? ''}`;
        const prev = this.cells.get(key);
        this.cells.set(key, {
          env,
          chamber: chamber!,
          layer: layer!,
          cell: cell!,
          ...next(prev, s.value, t),
        });
        continue;
      }
      if (s.name !== 'daq_dataflow_bytes_total') continue;
      const source = s.labels['source'] ?? '';
      const target = s.labels['target'] ?? '';
      const task = s.labels['task'] ?? '';
      const key = `${env}|${source}|${target}|${node}|${task}`;
      this.counters.set(key, { env, source, target, task, ...next(this.counters.get(key), s.value, t) });
    }
    for (const [k, c] of this.counters) if (t - c.atMs > FORGET_MS) this.counters.delete(k);
    for (const [k, l] of this.lags) if (t - l.atMs > FORGET_MS) this.lags.delete(k);
    for (const [k, c] of this.cells) if (t - c.atMs > FORGET_MS) this.cells.delete(k);
    // The trend: what the links sent, in hits per second, one point per sample of a live environment.
    const envs = new Set([...this.counters.values()].map((c) => c.env));
    for (const env of envs) {
      const words = this.of(env)
        .edges.filter((e) => e.source.startsWith('link-'))
        .reduce((n, e) => n + e.bytesPerSecond / WORD_BYTES, 0);
      const trend = this.trends.get(env) ?? [];
      trend.push({ at: new Date(t).toISOString(), hitsPerSecond: words });
      if (trend.length > TREND_POINTS) trend.splice(0, trend.length - TREND_POINTS);
      this.trends.set(env, trend);
    }
    for (const env of this.trends.keys()) if (!envs.has(env)) this.trends.delete(env);
  }

  /** An environment's occupancy per chamber, layer and cell, and the trend of its hit rate. */
  occupancy(environment: string): Occupancy {
    const cells = new Map<string, Occupancy['cells'][number]>();
    for (const c of this.cells.values()) {
      if (c.env !== environment) continue;
      const k = `${c.chamber}|${c.layer}|${c.cell}`;
      const e = cells.get(k) ?? {
        chamber: c.chamber,
        layer: c.layer,
        cell: c.cell,
        hits: 0,
        hitsPerSecond: 0,
      };
      e.hits += c.value;
      e.hitsPerSecond += c.rate;
      cells.set(k, e);
    }
    return {
      cells: [...cells.values()].sort(
        (a, b) => a.chamber - b.chamber || a.layer - b.layer || a.cell - b.cell,
      ),
      trend: [...(this.trends.get(environment) ?? [])],
      at: this.newestMs === 0 ? null : new Date(this.newestMs).toISOString(),
    };
  }

  /** An environment's edges (summed over the tasks that count them) and lag per task. */
  of(environment: string): DataflowRates {
    const edges = new Map<string, { source: string; target: string; bytesPerSecond: number }>();
    const taskEdges = new Map<string, DataflowRates['taskEdges'][number]>();
    for (const c of this.counters.values()) {
      if (c.env !== environment) continue;
      const k = `${c.source}|${c.target}`;
      const e = edges.get(k) ?? { source: c.source, target: c.target, bytesPerSecond: 0 };
      e.bytesPerSecond += c.rate;
      edges.set(k, e);
      // A task that moved counts on two nodes for a while: one edge per task.
      const tk = `${c.task}|${k}`;
      const te = taskEdges.get(tk) ?? { task: c.task, source: c.source, target: c.target, bytesPerSecond: 0 };
      te.bytesPerSecond += c.rate;
      taskEdges.set(tk, te);
    }
    const lag: Record<string, number> = {};
    for (const l of this.lags.values()) if (l.env === environment) lag[l.task] = l.value;
    return {
      edges: [...edges.values()].sort(
        (a, b) => a.source.localeCompare(b.source) || a.target.localeCompare(b.target),
      ),
      taskEdges: [...taskEdges.values()],
      lag,
      at: this.newestMs === 0 ? null : new Date(this.newestMs).toISOString(),
    };
  }
}

/** A counter's next sample: its rate since the previous one (none across a reset, a restarted task). */
function next(prev: Counter | undefined, value: number, atMs: number): Counter {
  const dt = prev === undefined ? 0 : (atMs - prev.atMs) / 1000;
  const rate = prev === undefined || dt <= 0 || value < prev.value ? 0 : (value - prev.value) / dt;
  return { value, atMs, rate };
}

/** Reads one agent's /metrics, bounded in time and size. */
export async function scrape(address: string, timeoutMs = 2000): Promise<string> {
  const r = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const reader = (r.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > MAX_SCRAPE_BYTES) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
