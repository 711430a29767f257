/** `daqops agent`: wires the agent from command-line options and runs it until SIGTERM/SIGINT. */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { envString } from '../lib/env.js';
import { ErsLogger } from '../lib/ers-logger.js';
import { projectRoot } from '../lib/paths.js';
import { startTracing, stopTracing } from '../lib/tracing.js';
import { Agent } from './agent.js';
import { detectPinningTools } from './pinning.js';
import { discoverTopology, formatTopology, topologyFromFile } from './topology.js';

export interface AgentCliOptions {
  readonly platform?: string;
  readonly joinToken?: string;
  readonly topologyFile?: string;
  readonly node?: string;
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly ersFile?: string;
  readonly heartbeatMs: number;
}

export async function runAgentCli(o: AgentCliOptions): Promise<void> {
  const base = o.topologyFile === undefined ? await discoverTopology() : topologyFromFile(o.topologyFile);
  const topology = o.node === undefined ? base : { ...base, node: o.node };
  await startTracing('daqops-agent', { 'host.name': topology.node });
  const ersFile =
    o.ersFile ??
    join(envString('DAQOPS_HOME') ?? join(projectRoot(), '.daqops'), `ers-${topology.node}.jsonl`);
  mkdirSync(dirname(ersFile), { recursive: true });
  const logger = new ErsLogger({ file: ersFile });
  const agent = new Agent({
    topology,
    platformUrl: o.platform,
    joinToken: o.joinToken ?? envString('DAQOPS_JOIN_TOKEN'),
    metricsPort: o.metricsPort,
    metricsHost: o.metricsHost,
    heartbeatIntervalMs: o.heartbeatMs,
    logger,
    tools: detectPinningTools(),
  });
  await agent.start();
  console.error(formatTopology(topology));
  console.error(
    `agent ${topology.node}: /metrics on http://${o.metricsHost}:${agent.metricsPort}/metrics, ERS to ${ersFile}${o.platform === undefined ? ', no platform' : `, platform ${o.platform}`}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await agent.stop();
  await logger.close();
  await stopTracing();
}
