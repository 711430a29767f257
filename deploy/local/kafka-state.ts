/**
 * The state file behind `daqops kafka up|down|status`: which local broker the CLI started, so a later
 * command (another process) can find and stop it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envBrokerList, envString } from '../../lib/env.js';
import { projectRoot } from '../../lib/paths.js';
import { KafkaClient } from '../../lib/kafka.js';
import {
  findLocalKafkaProcesses,
  isLocalKafkaProcess,
  restartLocalKafka,
  startLocalKafka,
  stopLocalKafka,
  type LocalKafka,
} from './kafka-local.js';

export function daqopsHome(): string {
  return envString('DAQOPS_HOME') ?? join(projectRoot(), '.daqops');
}

function stateFile(): string {
  return join(daqopsHome(), 'kafka.json');
}

export function readKafkaState(): LocalKafka | undefined {
  if (!existsSync(stateFile())) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile(), 'utf8')) as LocalKafka;
  } catch {
    return undefined;
  }
}

/** The broker the CLI started, when it is still alive. */
export function runningLocalKafka(): LocalKafka | undefined {
  const s = readKafkaState();
  return s !== undefined && isLocalKafkaProcess(s.pid, s.dataDir) ? s : undefined;
}

export type KafkaUpResult =
  | { readonly kind: 'external'; readonly brokers: readonly string[] }
  | { readonly kind: 'already-running'; readonly kafka: LocalKafka }
  | { readonly kind: 'started'; readonly kafka: LocalKafka };

/** `daqops kafka up`: start a broker unless DAQOPS_KAFKA_BROKERS names one or ours is already running. */
export async function kafkaUp(progress?: (line: string) => void): Promise<KafkaUpResult> {
  const external = envBrokerList('DAQOPS_KAFKA_BROKERS');
  if (external !== undefined) return { kind: 'external', brokers: external };
  const running = runningLocalKafka();
  if (running !== undefined) return { kind: 'already-running', kafka: running };
  const kafka = await startLocalKafka(progress === undefined ? {} : { progress });
  mkdirSync(daqopsHome(), { recursive: true });
  writeFileSync(stateFile(), `${JSON.stringify(kafka, null, 2)}\n`);
  return { kind: 'started', kafka };
}

/**
 * `daqops kafka stop`: stop the broker the CLI started but keep its data and ports, so `kafka start`
 * brings the same cluster back (an outage to rehearse). Returns the broker, or undefined when none was up.
 */
export async function kafkaStop(): Promise<LocalKafka | undefined> {
  const s = readKafkaState();
  if (s === undefined || !isLocalKafkaProcess(s.pid, s.dataDir)) return undefined;
  await stopLocalKafka(s, { removeData: false });
  return s;
}

/** `daqops kafka start`: start a broker `kafka stop` (or a crash) left, on its data and ports. */
export async function kafkaStart(progress?: (line: string) => void): Promise<LocalKafka | undefined> {
  const s = readKafkaState();
  if (s === undefined || !existsSync(s.dataDir)) return undefined;
  const kafka = await restartLocalKafka(s, progress === undefined ? {} : { progress });
  writeFileSync(stateFile(), `${JSON.stringify(kafka, null, 2)}\n`);
  return kafka;
}

/**
 * `daqops kafka down`: stop the broker the CLI started and remove its data. With `all`, also every other
 * local broker daqops started on this machine (left behind by a killed test run, say). Returns the pids stopped.
 */
export async function kafkaDown(all = false): Promise<number[]> {
  const stopped: number[] = [];
  const s = readKafkaState();
  if (s !== undefined) {
    if (isLocalKafkaProcess(s.pid, s.dataDir)) stopped.push(s.pid);
    await stopLocalKafka(s);
    rmSync(stateFile(), { force: true });
  }
  if (all) {
    for (const p of findLocalKafkaProcesses()) {
      await stopLocalKafka({ pid: p.pid, dataDir: p.dataDir });
      stopped.push(p.pid);
    }
  }
  return stopped;
}

export interface KafkaStatus {
  readonly source: 'external' | 'local' | 'none';
  readonly brokers: readonly string[];
  readonly pid?: number;
  readonly dataDir?: string;
  readonly reachable: boolean;
  /** Topics the cluster holds, when it answers. */
  readonly topics?: number;
  readonly error?: string;
}

/** `daqops kafka status`: which cluster daqops would use and whether it answers. */
export async function kafkaStatus(): Promise<KafkaStatus> {
  const external = envBrokerList('DAQOPS_KAFKA_BROKERS');
  const local = external === undefined ? runningLocalKafka() : undefined;
  const brokers = external ?? local?.brokers;
  if (brokers === undefined) return { source: 'none', brokers: [], reachable: false };
  const base = {
    source: external === undefined ? ('local' as const) : ('external' as const),
    brokers,
    ...(local === undefined ? {} : { pid: local.pid, dataDir: local.dataDir }),
  };
  try {
    const client = new KafkaClient({ brokers, clientId: 'daqops-status', log: () => {} });
    const d = await client.ping().finally(() => client.close());
    return { ...base, reachable: true, topics: d.topics };
  } catch (err) {
    return { ...base, reachable: false, error: err instanceof Error ? err.message : String(err) };
  }
}
