/**
 * prom-client metrics, created only from the catalogue in protocol/metrics.ts so a metric cannot exist
 * in code without being declared (and checked against dashboards and alerts).
 */
import { DaqError } from '../protocol/errors.js';
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { metricSpec, type MetricName } from '../protocol/metrics.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly made = new Map<string, Counter | Gauge | Histogram>();

  /** `defaultLabels` (environment, task) are added to every sample. */
  constructor(defaultLabels: Record<string, string> = {}, options: { processMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    // Event-loop lag sampled every 50 ms, not 10: the agent and idle workloads must stay cheap.
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 50 });
  }

  counter(name: MetricName): Counter {
    return this.make(name, 'counter') as Counter;
  }

  gauge(name: MetricName): Gauge {
    return this.make(name, 'gauge') as Gauge;
  }

  histogram(name: MetricName): Histogram {
    return this.make(name, 'histogram') as Histogram;
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  private make(name: MetricName, type: 'counter' | 'gauge' | 'histogram'): Counter | Gauge | Histogram {
    const existing = this.made.get(name);
    if (existing !== undefined) return existing;
    const spec = metricSpec(name);
    if (spec.type !== type)
      throw new DaqError('INTERNAL', `metric ${name} is a ${spec.type} in the catalogue, not a ${type}`);
    // Default labels (environment, task) are set on the registry and fill in any sample that does not
    // set them; a sample may set one itself (the agent's per-task counters set task), which then wins.
    const labelNames = [...spec.labels];
    const common = { name, help: spec.help, labelNames, registers: [this.registry] };
    const m =
      type === 'counter'
        ? new Counter(common)
        : type === 'gauge'
          ? new Gauge(common)
          : new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
    this.made.set(name, m);
    return m;
  }
}

/** Serves `/metrics` on host:port (port 0 = any free port). */
export async function serveMetrics(
  metrics: { text(): Promise<string>; registry: Registry },
  port: number,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
