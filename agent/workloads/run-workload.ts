/**
 * Runs one workload in this process: builds its Kafka client, metrics (optionally served on /metrics)
 * and ERS reporter, stops cleanly on SIGTERM/SIGINT, and returns its totals. The agent starts workloads
 * as child processes through this entry point (`daqops workload <kind>`).
 */
import { ErsReporter } from '../../lib/ers.js';
import { KafkaClient } from '../../lib/kafka.js';
import { Metrics, serveMetrics } from '../../lib/metrics.js';
import type { WorkloadConfig } from './config.js';
import { ProcessorWorkload } from './processor/processor.js';
import { ReadoutWorkload } from './readout/readout.js';
import type { RunStop } from './readout/sources.js';
import { WriterWorkload } from './writer/writer.js';

export interface WorkloadRun {
  readonly totals: object;
  readonly metricsPort: number | undefined;
}

export async function runWorkload(
  config: WorkloadConfig,
  options: {
    signal?: AbortSignal;
    onMetricsPort?: (port: number) => void;
    handleSignals?: boolean;
    /** Metrics to count into (the task runtime keeps one registry across runs); default: a new one. */
    metrics?: Metrics;
    ers?: ErsReporter;
    /** A readout's common stop time, set while it runs (STOP with stopAtMs). */
    stop?: RunStop;
    /** Called with the readout once it exists, so drill faults can reach its emulator while it runs. */
    onReadout?: (readout: ReadoutWorkload) => void;
  } = {},
): Promise<WorkloadRun> {
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const onSignal = (): void => controller.abort();
  if (options.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  const client = new KafkaClient({
    brokers: config.brokers,
    clientId: `daqops-${config.kind}-${config.task}`,
  });
  const metrics = options.metrics ?? new Metrics({ environment: config.environment, task: config.task });
  const ers =
    options.ers ??
    new ErsReporter({
      application: `daqops-${config.kind}`,
      task: config.task,
      environment: config.environment,
    });
  const server =
    config.metricsPort === undefined ? undefined : await serveMetrics(metrics, config.metricsPort);
  if (server !== undefined) options.onMetricsPort?.(server.port);
  try {
    const deps = { client, metrics, ers };
    let totals: object;
    if (config.kind === 'readout') {
      const readout = new ReadoutWorkload(config, deps);
      options.onReadout?.(readout);
      totals = await readout.run(controller.signal, options.stop);
    } else if (config.kind === 'processor') {
      totals = await new ProcessorWorkload(config, deps).run(controller.signal);
    } else {
      totals = await new WriterWorkload(config, deps).run(controller.signal);
    }
    return { totals, metricsPort: server?.port };
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await server?.close();
    await client.close();
  }
}
