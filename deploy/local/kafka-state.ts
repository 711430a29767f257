/**
 * The state file behind `daqops kafka up|down|status`: which local broker the CLI started, so a later
 * command (another process) can find and stop it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envBrokerList, envString } from '../../lib/env.js';
import { projectRoot } from '../../lib/paths.js';
import { KafkaClient } from '../../lib/kafka.js';
import { DaqError } from '../../protocol/errors.js';
import { topicNames } from '../../protocol/topics.js';
import {
  clusterReplication,
  envReplication,
  replicationFor,
  survival,
  type Replication,
  type Survival,
} from '../../lib/topics.js';
import {
  findLocalKafkaProcesses,
  isLocalKafkaProcess,
  restartLocalKafkaMembers,
  startLocalKafka,
  startLocalKafkaCluster,
  stopLocalKafka,
  type LocalKafka,
  type LocalKafkaCluster,
} from './kafka-local.js';

export function daqopsHome(): string {
  return envString('DAQOPS_HOME') ?? join(projectRoot(), '.daqops');
}

function stateFile(): string {
  return join(daqopsHome(), 'kafka.json');
}

/** What `kafka.json` says: the local broker, or the members of a local cluster. */
export interface LocalKafkaState {
  readonly members: readonly LocalKafka[];
  /** Every member's address, as clients bootstrap from them. */
  readonly brokers: readonly string[];
  /** A single broker's data directory, or the cluster's (one directory per member inside). */
  readonly dataDir: string;
  readonly cluster: boolean;
}

export function readKafkaState(): LocalKafkaState | undefined {
  if (!existsSync(stateFile())) return undefined;
  try {
    const raw = JSON.parse(readFileSync(stateFile(), 'utf8')) as LocalKafka | LocalKafkaCluster;
    if ('members' in raw)
      return { members: raw.members, brokers: raw.brokers, dataDir: raw.dataDir, cluster: true };
    return { members: [raw], brokers: raw.brokers, dataDir: raw.dataDir, cluster: false };
  } catch {
    return undefined;
  }
}

function writeKafkaState(s: LocalKafkaState | LocalKafka | LocalKafkaCluster): void {
  mkdirSync(daqopsHome(), { recursive: true });
  // A single broker keeps the file's first shape (its fields at the top); a cluster lists its members.
  const body =
    'cluster' in s
      ? s.cluster
        ? { members: s.members, brokers: s.brokers, dataDir: s.dataDir }
        : s.members[0]
      : s;
  writeFileSync(stateFile(), `${JSON.stringify(body, null, 2)}\n`);
}

const alive = (k: LocalKafka): boolean => isLocalKafkaProcess(k.pid, k.dataDir);

/** The broker or cluster the CLI started, when one of its members is still alive. */
export function runningLocalKafka(): LocalKafkaState | undefined {
  const s = readKafkaState();
  return s !== undefined && s.members.some(alive) ? s : undefined;
}

export type KafkaUpResult =
  | { readonly kind: 'external'; readonly brokers: readonly string[] }
  | { readonly kind: 'already-running'; readonly kafka: LocalKafkaState }
  | { readonly kind: 'started'; readonly kafka: LocalKafkaState };

/**
 * `daqops kafka up [--brokers N]`: start a broker (or a cluster of N) unless DAQOPS_KAFKA_BROKERS names one
 * or ours is already running.
 */
export async function kafkaUp(progress?: (line: string) => void, size = 1): Promise<KafkaUpResult> {
  const external = envBrokerList('DAQOPS_KAFKA_BROKERS');
  if (external !== undefined) return { kind: 'external', brokers: external };
  const running = runningLocalKafka();
  if (running !== undefined) return { kind: 'already-running', kafka: running };
  const p = progress === undefined ? {} : { progress };
  if (size === 1) {
    const k = await startLocalKafka(p);
    writeKafkaState(k);
  } else {
    writeKafkaState(await startLocalKafkaCluster(size, p));
  }
  return { kind: 'started', kafka: readKafkaState()! };
}

/** The members `--broker N` names (all without it); INVALID_CONFIG naming the ids there are. */
function chosen(s: LocalKafkaState, broker: number | undefined): LocalKafka[] {
  if (broker === undefined) return [...s.members];
  const m = s.members.find((k) => (k.nodeId ?? 1) === broker);
  if (m === undefined)
    throw new DaqError(
      'INVALID_CONFIG',
      `--broker ${broker}: the local Kafka has broker${s.members.length > 1 ? 's' : ''} ${s.members.map((k) => k.nodeId ?? 1).join(', ')}`,
      { field: 'broker' },
    );
  return [m];
}

/**
 * `daqops kafka stop [--broker N]`: stop the local broker (or one member of the cluster, or all) but keep
 * data and ports, so `kafka start` brings the same cluster back (an outage to rehearse). Returns the
 * members stopped (none when none of them ran).
 */
export async function kafkaStop(broker?: number): Promise<LocalKafka[]> {
  const s = readKafkaState();
  if (s === undefined) return [];
  const running = chosen(s, broker).filter(alive);
  await Promise.all(running.map((k) => stopLocalKafka(k, { removeData: false })));
  return running;
}

/**
 * `daqops kafka start [--broker N]`: start what `kafka stop` (or a crash) left, on its data and ports —
 * one member, or every member not running (all at once: a quorum answers only with its majority).
 * Undefined when there is nothing to start from.
 */
export async function kafkaStart(
  progress?: (line: string) => void,
  broker?: number,
): Promise<LocalKafkaState | undefined> {
  const s = readKafkaState();
  if (s === undefined || !s.members.every((k) => existsSync(k.dataDir))) return undefined;
  const want = chosen(s, broker);
  const restarted = await restartLocalKafkaMembers(want, progress === undefined ? {} : { progress });
  const now = new Map(want.map((k, i) => [k, restarted[i]!]));
  const members = s.members.map((k) => now.get(k) ?? k);
  const next: LocalKafkaState = { ...s, members };
  writeKafkaState(next);
  return next;
}

/**
 * `daqops kafka down`: stop the broker (every member) the CLI started and remove its data. With `all`,
 * also every other local broker daqops started on this machine (left behind by a killed test run, say).
 * Returns the pids stopped.
 */
export async function kafkaDown(all = false): Promise<number[]> {
  const stopped: number[] = [];
  const s = readKafkaState();
  if (s !== undefined) {
    for (const k of s.members) if (alive(k)) stopped.push(k.pid);
    await Promise.all(s.members.map((k) => stopLocalKafka(k)));
    rmSync(s.dataDir, { recursive: true, force: true });
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
  /** A local single broker's process. */
  readonly pid?: number;
  readonly dataDir?: string;
  /** A local cluster's members: which run. */
  readonly members?: readonly {
    readonly broker: number;
    readonly address: string;
    readonly pid: number;
    readonly running: boolean;
  }[];
  readonly reachable: boolean;
  /** Topics the cluster holds, when it answers. */
  readonly topics?: number;
  /** The brokers the cluster's metadata lists now, when it answers. */
  readonly listed?: number;
  /** The replication daqops gives namespace topics on this cluster (lib/topics.ts), or why it cannot. */
  readonly replication?: Replication | { readonly error: string };
  /** What a namespace's topics survive now, when one was asked for. */
  readonly namespace?: { readonly name: string; readonly topics: number } & Survival;
  readonly error?: string;
}

/**
 * `daqops kafka status [--namespace NS]`: which cluster daqops would use, whether it answers, which members
 * run, the replication its topics get there and what that survives — for NS, what its topics survive now.
 */
export async function kafkaStatus(namespace?: string): Promise<KafkaStatus> {
  const external = envBrokerList('DAQOPS_KAFKA_BROKERS');
  const local = external === undefined ? runningLocalKafka() : undefined;
  const brokers = external ?? local?.brokers;
  if (brokers === undefined) return { source: 'none', brokers: [], reachable: false };
  const base = {
    source: external === undefined ? ('local' as const) : ('external' as const),
    brokers,
    ...(local === undefined
      ? {}
      : local.cluster
        ? {
            dataDir: local.dataDir,
            members: local.members.map((k) => ({
              broker: k.nodeId ?? 1,
              address: k.brokers[0] ?? '',
              pid: k.pid,
              running: alive(k),
            })),
          }
        : { pid: local.members[0]!.pid, dataDir: local.dataDir }),
  };
  const client = new KafkaClient({ brokers, clientId: 'daqops-status', log: () => {} });
  try {
    const d = await client.ping();
    const listed = (await client.describeCluster([]).catch(() => undefined))?.brokers.length;
    let replication: KafkaStatus['replication'];
    try {
      replication =
        listed === undefined
          ? undefined
          : replicationFor(listed, envReplication(), await clusterReplication(client));
    } catch (err) {
      replication = { error: err instanceof Error ? err.message : String(err) };
    }
    let ns: KafkaStatus['namespace'];
    if (namespace !== undefined) {
      const described = await client.describeCluster(Object.values(topicNames(namespace)));
      ns = { name: namespace, topics: described.topics.length, ...survival(described) };
    }
    return {
      ...base,
      reachable: true,
      topics: d.topics,
      ...(listed === undefined ? {} : { listed }),
      ...(replication === undefined ? {} : { replication }),
      ...(ns === undefined ? {} : { namespace: ns }),
    };
  } catch (err) {
    return { ...base, reachable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    await client.close();
  }
}
