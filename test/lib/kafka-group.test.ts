/**
 * lib/kafka.ts's RecordConsumer, the group member every stage reads through: shares, commits with their
 * metadata, and a batch its owner refuses.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaClient, RecordConsumer, RecordProducer, type InBatch } from '../../lib/kafka.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function produce(client: KafkaClient, topic: string, from: number, n: number): Promise<void> {
  const producer = await RecordProducer.open(client);
  try {
    await producer.send([
      {
        topic,
        records: Array.from({ length: n }, (_, i) => ({
          key: String((from + i) % 7),
          value: Buffer.from(String(from + i)),
        })),
      },
    ]);
  } finally {
    await producer.close();
  }
}

/** A member that keeps what it was handed, per value, and commits each batch after taking it. */
async function member(
  client: KafkaClient,
  groupId: string,
  topic: string,
  o: { refuse?: (b: InBatch) => boolean; sessionTimeoutMs?: number } = {},
): Promise<{ consumer: RecordConsumer; taken: string[]; assignments: number[][] }> {
  const taken: string[] = [];
  const assignments: number[][] = [];
  const ref: { c?: RecordConsumer } = {};
  ref.c = await RecordConsumer.start(client, {
    groupId,
    topics: [topic],
    ...(o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
    onAssignment: (a) => assignments.push([...(a[topic] ?? [])]),
    onBatch: async (b) => {
      if (o.refuse?.(b) ?? false) throw new Error('not now');
      for (const r of b.records) taken.push(r.value.toString());
      // Committed once taken; an outage may refuse it (the next batch's commit covers it).
      await until('the member to exist', () => ref.c !== undefined, 10_000);
      await ref
        .c!.commit(b.topic, b.partition, String(Number(b.records.at(-1)!.offset) + 1), 'm')
        .catch(() => undefined);
    },
  });
  return { consumer: ref.c, taken, assignments };
}

describe('lib/kafka RecordConsumer', function () {
  this.timeout(240_000);

  it('shares the partitions, commits with metadata, and a member after it starts at the commit', async () => {
    const client = new KafkaClient({
      brokers: await testKafkaBrokers(),
      clientId: 'test-group',
      log: () => {},
    });
    const topic = `group-${randomBytes(4).toString('hex')}.raw-hits`;
    const groupId = `${topic}.g`;
    await client.ensureTopics([{ topic, partitions: 4 }]);
    await produce(client, topic, 0, 400);
    const a = await member(client, groupId, topic);
    const b = await member(client, groupId, topic);
    try {
      await until('every record taken', () => a.taken.length + b.taken.length >= 400, 60_000);
      await until(
        'both members to own partitions',
        () => (a.assignments.at(-1)?.length ?? 0) > 0 && (b.assignments.at(-1)?.length ?? 0) > 0,
        30_000,
      );
      const mine = a.assignments.at(-1)!;
      const committed = await a.consumer.committed(topic, mine);
      assert.equal(committed.length, mine.length);
      for (const c of committed)
        assert.equal(c.metadata, 'm', `partition ${c.partition} committed with its metadata`);
    } finally {
      await Promise.all([a.consumer.stop(), b.consumer.stop()]);
    }
    assert.deepEqual(new Set([...a.taken, ...b.taken]).size, 400, 'every record once at least');
    // A member of the same group after them starts where they committed: only what came since.
    await produce(client, topic, 400, 40);
    const c = await member(client, groupId, topic);
    try {
      await until('the new records taken', () => c.taken.length >= 40, 60_000);
      await sleep(1000);
      assert.deepEqual(
        c.taken.map(Number).sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => 400 + i),
      );
    } finally {
      await c.consumer.stop();
      await client.close();
    }
  });

  it('reads a batch its owner refused again from its first record, and never skips it', async () => {
    const client = new KafkaClient({
      brokers: await testKafkaBrokers(),
      clientId: 'test-refuse',
      log: () => {},
    });
    const topic = `refuse-${randomBytes(4).toString('hex')}.events`;
    await client.ensureTopics([{ topic, partitions: 1 }]);
    await produce(client, topic, 0, 100);
    let refusals = 0;
    const m = await member(client, `${topic}.g`, topic, {
      refuse: () => refusals < 3 && ++refusals > 0,
    });
    try {
      await until('every record taken', () => m.taken.length >= 100, 60_000);
      await sleep(500);
      assert.equal(refusals, 3, 'refused three times, then taken');
      assert.deepEqual(
        m.taken.map(Number),
        Array.from({ length: 100 }, (_, i) => i),
        'in order, each once: the refused batch came again from its first record',
      );
    } finally {
      await m.consumer.stop();
      await client.close();
    }
  });
});
