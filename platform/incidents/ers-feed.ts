/**
 * Reads each live environment's Kafka `<ns>.ers` (what its tasks and agents raised) into the incident
 * correlator: one consumer per environment, from DEPLOY to EXIT. A record that is not a valid ERS issue
 * is counted and skipped, never fatal.
 */
import { validateErsIssue, type ErsIssue } from '../../protocol/ers.js';
import { topicNames } from '../../protocol/topics.js';
import type { KafkaClient, RecordConsumer } from '../../lib/kafka.js';

export class ErsFeed {
  private readonly consumers = new Map<string, Promise<RecordConsumer | undefined>>();
  invalid = 0;

  constructor(
    private readonly client: KafkaClient,
    private readonly onIssue: (i: ErsIssue) => void,
    private readonly onError: (environment: string, err: unknown) => void,
  ) {}

  watch(environment: string, namespace: string): void {
    if (this.consumers.has(environment)) return;
    const started = (async () => {
      const [{ RecordConsumer: C }, { ensureNamespaceTopics }] = await Promise.all([
        import('../../lib/kafka.js'),
        import('../../lib/topics.js'),
      ]);
      await ensureNamespaceTopics(this.client, namespace);
      // Batches may come before start() resolves: the consumer is looked up when committing.
      const ref: { consumer?: RecordConsumer } = {};
      ref.consumer = await C.start(this.client, {
        groupId: `daqops-platform-ers.${namespace}`,
        topics: [topicNames(namespace).ers],
        onBatch: async (b) => {
          for (const r of b.records) {
            try {
              this.onIssue(validateErsIssue(JSON.parse(r.value.toString('utf8'))));
            } catch {
              this.invalid++;
            }
          }
          // Committed once taken in: a restarted platform does not take the same issues twice. A refused
          // commit (Kafka away, a rebalance) is covered by the next one; the batch is taken already.
          const last = b.records.at(-1);
          if (last !== undefined && ref.consumer !== undefined)
            await ref.consumer
              .commit(b.topic, b.partition, String(BigInt(last.offset) + 1n))
              .catch(() => undefined);
        },
      });
      return ref.consumer;
    })().catch((err: unknown) => {
      this.consumers.delete(environment);
      this.onError(environment, err);
      return undefined;
    });
    this.consumers.set(environment, started);
  }

  async unwatch(environment: string): Promise<void> {
    const c = this.consumers.get(environment);
    this.consumers.delete(environment);
    await (await c)?.stop();
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers.keys()].map((e) => this.unwatch(e)));
  }
}
