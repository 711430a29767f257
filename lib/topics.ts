import { topicNames } from '../protocol/topics.js';
import type { KafkaClient } from './kafka.js';

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
    { topic: t.monitoring, partitions: 1 },
    { topic: t.deadletter, partitions: 1 },
    { topic: t.control, partitions: 1 },
    { topic: t.ers, partitions: 1 },
  ]);
}
