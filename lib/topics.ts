import { topicNames } from '../protocol/topics.js';
import type { KafkaClient } from './kafka.js';

/**
 * How long `<ns>.monitoring` keeps its records (accounting and aggregates): the platform folds them into
 * its balances within seconds (platform/monitoring/feed.ts) and stores each run's balance at its end, so
 * a week is for tools and for a platform that was down for days, not for the balance.
 */
export const MONITORING_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Creates a namespace's topics when missing. Data topics get `partitions` partitions (the processors'
 * and writers' parallelism); monitoring, dead-letter, control and ERS one, so each reads in order.
 */
export async function ensureNamespaceTopics(
  client: KafkaClient,
  namespace: string,
  partitions = 4,
): Promise<void> {
  const t = topicNames(namespace);
  await client.ensureTopics([
    { topic: t.rawHits, partitions },
    { topic: t.events, partitions },
    { topic: t.monitoring, partitions: 1, config: { 'retention.ms': String(MONITORING_RETENTION_MS) } },
    { topic: t.deadletter, partitions: 1 },
    { topic: t.control, partitions: 1 },
    { topic: t.ers, partitions: 1 },
  ]);
}
