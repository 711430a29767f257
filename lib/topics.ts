import { DaqError } from '../protocol/errors.js';
import { topicNames } from '../protocol/topics.js';
import { envInteger } from './env.js';
import type { ClusterDescription, KafkaClient } from './kafka.js';

/**
 * How long `<ns>.monitoring` keeps its records (accounting and aggregates): the platform folds them into
 * its balances within seconds (platform/monitoring/feed.ts) and stores each run's balance at its end, so
 * a week is for tools and for a platform that was down for days, not for the balance.
 */
export const MONITORING_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** How many copies a topic keeps, and how many must be in sync for a write (acks=all) to be taken. */
export interface Replication {
  readonly replication: number;
  readonly minInsync: number;
}

/**
 * The replication daqops gives its namespace topics on a cluster: what is configured
 * (DAQOPS_KAFKA_REPLICATION / DAQOPS_KAFKA_MIN_INSYNC), else the cluster's own (`clusterReplication`: the
 * copies of its offsets topic, which a cluster sets with its default replication), else as many copies
 * as it lists brokers, at most 3; min ISR one fewer, at least 1. With `brokers` the brokers it lists now,
 * a replication it cannot honour is INVALID_CONFIG naming both numbers, not a creation refused later.
 */
export function replicationFor(
  brokers: number,
  configured: { readonly replication?: number; readonly minInsync?: number } = envReplication(),
  clusterReplication?: number,
): Replication {
  const replication = configured.replication ?? clusterReplication ?? Math.max(1, Math.min(3, brokers));
  if (replication > brokers)
    throw new DaqError(
      'INVALID_CONFIG',
      `replication ${replication} needs ${replication} brokers; the cluster lists ${brokers}${clusterReplication === undefined ? '' : ' now'}`,
      { field: 'DAQOPS_KAFKA_REPLICATION' },
    );
  const minInsync = configured.minInsync ?? Math.max(1, replication - 1);
  if (minInsync > replication)
    throw new DaqError(
      'INVALID_CONFIG',
      `min.insync.replicas ${minInsync} is more than the ${replication} copies a topic keeps`,
      { field: 'DAQOPS_KAFKA_MIN_INSYNC' },
    );
  return { replication, minInsync };
}

/** The copies of the cluster's offsets topic (its own replication), undefined before any group made it. */
export async function clusterReplication(client: KafkaClient): Promise<number | undefined> {
  const d = await client.describeCluster(['__consumer_offsets']);
  const n = Math.max(0, ...(d.topics[0]?.partitions.map((p) => p.replicas.length) ?? []));
  return n > 0 ? n : undefined;
}

/** The min ISR daqops gave a topic of `replicas` copies (the same rule as replicationFor). */
export function minInsyncOf(replicas: number, configured = envReplication().minInsync): number {
  return configured ?? Math.max(1, replicas - 1);
}

/** What the environment says of replication (undefined: the defaults of replicationFor). */
export function envReplication(): { replication?: number; minInsync?: number } {
  const replication = envInteger('DAQOPS_KAFKA_REPLICATION', 1, 9);
  const minInsync = envInteger('DAQOPS_KAFKA_MIN_INSYNC', 1, 9);
  return {
    ...(replication === undefined ? {} : { replication }),
    ...(minInsync === undefined ? {} : { minInsync }),
  };
}

/** What a namespace's data path survives now: how many more brokers may be lost with every write taken. */
export interface Survival {
  /** Brokers that may still be lost with every partition still taking writes (0: none; -1: not now). */
  readonly brokersMayBeLost: number;
  /** The partition with the least to spare, `topic[partition]` (absent when there are no partitions). */
  readonly weakest?: string;
  /** One line for people: "one broker may be lost", "no broker may be lost", … */
  readonly text: string;
}

/**
 * From the cluster's metadata of the namespace's topics and the min ISR they were made with (by default the
 * rule daqops makes them with, from each partition's copies): per partition,
 * in-sync copies beyond the minimum are brokers it may still lose; the data path survives what its
 * weakest partition does. A partition already below its minimum (or without a leader) takes no write now.
 */
export function survival(
  d: ClusterDescription,
  minInsyncFor: (replicas: number) => number = (n) => minInsyncOf(n),
): Survival {
  let least = Number.POSITIVE_INFINITY;
  let weakest: string | undefined;
  let weakestMin = 1;
  for (const t of d.topics)
    for (const p of t.partitions) {
      const minInsync = minInsyncFor(p.replicas.length);
      const spare = p.leader < 0 ? -1 : p.isr.length - minInsync;
      if (spare < least) {
        least = spare;
        weakest = `${t.name}[${p.id}]`;
        weakestMin = minInsync;
      }
    }
  const n = Number.isFinite(least) ? Math.max(-1, least) : 0;
  const text =
    n < 0
      ? `writes stop now: ${weakest} has fewer than ${weakestMin} in-sync cop${weakestMin === 1 ? 'y' : 'ies'} or no leader`
      : mayBeLost(n);
  return { brokersMayBeLost: n, ...(weakest === undefined ? {} : { weakest }), text };
}

/** "no broker may be lost", "one broker may be lost", "2 brokers may be lost". */
export function mayBeLost(n: number): string {
  return n <= 0 ? 'no broker may be lost' : n === 1 ? 'one broker may be lost' : `${n} brokers may be lost`;
}

/**
 * Creates a namespace's topics when missing, with the replication the cluster can honour
 * (replicationFor). Data topics get `partitions` partitions (the processors' and writers' parallelism);
 * monitoring, dead-letter, control and ERS one, so each reads in order. Returns the replication asked.
 */
export async function ensureNamespaceTopics(
  client: KafkaClient,
  namespace: string,
  partitions = 4,
): Promise<Replication> {
  const t = topicNames(namespace);
  const names = Object.values(t);
  const now = await client.describeCluster(names);
  // Topics there already stay as they are (what they survive is said at DEPLOY): their replication is
  // what they have, also while a broker is down; only a missing topic needs the cluster whole enough.
  if (now.topics.length === names.length) {
    const replicas = Math.min(...now.topics.flatMap((x) => x.partitions.map((p) => p.replicas.length)));
    return { replication: replicas, minInsync: minInsyncOf(replicas) };
  }
  const r = replicationFor(now.brokers.length, envReplication(), await clusterReplication(client));
  const isr = { 'min.insync.replicas': String(r.minInsync) };
  await client.ensureTopics(
    [
      { topic: t.rawHits, partitions, config: isr },
      { topic: t.events, partitions, config: isr },
      {
        topic: t.monitoring,
        partitions: 1,
        config: { ...isr, 'retention.ms': String(MONITORING_RETENTION_MS) },
      },
      { topic: t.deadletter, partitions: 1, config: isr },
      { topic: t.control, partitions: 1, config: isr },
      { topic: t.ers, partitions: 1, config: isr },
    ].map((spec) => ({ ...spec, replication: r.replication })),
  );
  return r;
}
