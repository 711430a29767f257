import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DEADLETTER_DETAIL_HEADER,
  DEADLETTER_REASON_HEADER,
  DEADLETTER_TOPIC_HEADER,
  KafkaClient,
  KafkaProbe,
  RecordProducer,
  headerText,
  kafkaLogSeverity,
  kafkaLogger,
  readTopicFrom,
  readTopicToEnd,
  type InRecord,
  type KafkaLogRecord,
} from '../../lib/kafka.js';
import { RdKafka } from '@confluentinc/kafka-javascript';
import { isDaqError } from '../../protocol/errors.js';
import { BROKER_MAX_MESSAGE_BYTES } from '../../protocol/topics.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';

describe('lib/kafka', function () {
  this.timeout(60_000);

  it('sets a record too large for the broker aside on the dead-letter topic with its reason, and sends the rest', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-too-large', log: () => {} });
    const ns = `big-${randomBytes(4).toString('hex')}`;
    const topic = `${ns}.events`;
    const deadletter = `${ns}.deadletter`;
    await client.ensureTopics([
      { topic, partitions: 1 },
      { topic: deadletter, partitions: 1 },
    ]);
    const told: { topic: string; bytes: number; limit: number }[] = [];
    const producer = await RecordProducer.open(client, {
      deadletterTopic: deadletter,
      onTooLarge: (t, bytes, limit) => told.push({ topic: t, bytes, limit }),
    });
    try {
      await producer.send([
        {
          topic,
          records: [
            { key: 'small', value: Buffer.alloc(1000, 1) },
            {
              key: 'huge',
              value: Buffer.alloc(BROKER_MAX_MESSAGE_BYTES + 1, 2),
              headers: { 'daq-run': '7' },
            },
          ],
        },
      ]);
    } finally {
      await producer.close();
    }
    const kept: InRecord[] = [];
    const aside: InRecord[] = [];
    await readTopicToEnd(client, topic, (r) => kept.push(r));
    await readTopicToEnd(client, deadletter, (r) => aside.push(r));
    assert.deepEqual(
      kept.map((r) => r.key),
      ['small'],
    );
    assert.equal(aside.length, 1);
    const r = aside[0]!;
    assert.equal(r.key, 'huge');
    assert.equal(headerText(r.headers, DEADLETTER_REASON_HEADER), 'too-large');
    assert.match(headerText(r.headers, DEADLETTER_DETAIL_HEADER) ?? '', /^\d+ bytes > limit \d+ bytes$/);
    assert.equal(headerText(r.headers, DEADLETTER_TOPIC_HEADER), topic);
    assert.equal(headerText(r.headers, 'daq-run'), '7', 'the record keeps its own headers');
    assert.equal(told.length, 1);
    assert.equal(told[0]?.topic, topic);
    assert.ok(told[0].bytes > told[0].limit);
  });

  it('reads on from a position; records count as gone only when the broker no longer has them', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-read-from', log: () => {} });
    const topic = `read-${randomBytes(4).toString('hex')}.monitoring`;
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await RecordProducer.open(client);
    try {
      await producer.send([
        {
          topic,
          records: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })),
        },
      ]);
    } finally {
      await producer.close();
    }
    const read = async (
      from: Map<number, number>,
    ): Promise<{ values: string[]; r: Awaited<ReturnType<typeof readTopicFrom>> }> => {
      const values: string[] = [];
      const r = await readTopicFrom(client, topic, from, (rec) => values.push(rec.value.toString()));
      return { values, r };
    };
    const whole = await read(new Map());
    assert.deepEqual(whole.values, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual([...whole.r.next], [[0, 10]]);
    assert.deepEqual([whole.r.complete, whole.r.skipped], [true, []]);

    const on = await read(new Map([[0, 3]]));
    assert.deepEqual(on.values, ['3', '4', '5', '6', '7', '8', '9'], 'from offset 3, nothing skipped');
    assert.deepEqual(on.r.skipped, []);
    assert.equal((await read(new Map([[0, 10]]))).r.count, 0, 'at the end: nothing to read');

    // Retention takes offsets 0..5 away: a reader at 3 lost 3, 4 and 5, and reads on from 6.
    await client.withAdmin((admin) =>
      admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }] }),
    );
    const gone = await read(new Map([[0, 3]]));
    assert.deepEqual(gone.values, ['6', '7', '8', '9']);
    assert.deepEqual(gone.r.skipped, [{ partition: 0, from: 3, to: 6 }], 'which records were gone');
    assert.deepEqual([...gone.r.next], [[0, 10]]);
    const after = await read(new Map([[0, 7]]));
    assert.deepEqual(
      [after.values, after.r.skipped],
      [['7', '8', '9'], []],
      'a reader past the gap lost nothing',
    );

    // Everything from the position on is gone, nothing newer: the read says so and moves to the end.
    await client.withAdmin((admin) =>
      admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '10' }] }),
    );
    const all = await read(new Map([[0, 8]]));
    assert.deepEqual(
      [all.values, all.r.skipped, [...all.r.next]],
      [[], [{ partition: 0, from: 8, to: 10 }], [[0, 10]]],
    );
  });

  it('asks every question over one admin connection and reads with one reader, whatever the number of reads', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-one-connection', log: () => {} });
    const ns = `reuse-${randomBytes(4).toString('hex')}`;
    const topics = [`${ns}.a`, `${ns}.b`];
    let admins = 0;
    const admin = client.kafka.admin.bind(client.kafka);
    (client.kafka as { admin: typeof admin }).admin = () => {
      admins++;
      return admin();
    };
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this`, restored below
    const connect = RdKafka.KafkaConsumer.prototype.connect;
    let readers = 0;
    RdKafka.KafkaConsumer.prototype.connect = function (this: RdKafka.KafkaConsumer, ...args) {
      readers++;
      return connect.apply(this, args);
    } as typeof connect;
    try {
      await client.ensureTopics(topics.map((topic) => ({ topic, partitions: 2 })));
      const producer = await RecordProducer.open(client);
      try {
        await producer.send(
          topics.map((topic) => ({
            topic,
            records: Array.from({ length: 20 }, (_, i) => ({
              key: String(i),
              value: Buffer.from(`${topic}:${i}`),
            })),
          })),
        );
      } finally {
        await producer.close();
      }
      for (let i = 0; i < 5; i++) await client.ping(2000);
      assert.equal((await client.topicOffsets(topics[0]!)).length, 2);
      assert.equal(admins, 1, 'topics, pings and offsets: one admin connection');

      // Reads of two topics in turn, each from where its last read ended, with new records in between: each
      // read gives exactly its topic's records after its position (nothing of the other topic, nothing
      // twice), over one reader.
      const positions = new Map(topics.map((t) => [t, new Map<number, number>()]));
      const seen = new Map(topics.map((t) => [t, [] as string[]]));
      for (let round = 0; round < 3; round++) {
        for (const topic of topics) {
          const r = await readTopicFrom(client, topic, positions.get(topic)!, (rec) =>
            seen.get(topic)!.push(rec.value.toString()),
          );
          positions.set(topic, new Map(r.next));
        }
        const more = await RecordProducer.open(client);
        try {
          await more.send(
            topics.map((topic) => ({
              topic,
              records: [{ key: `r${round}`, value: Buffer.from(`${topic}:r${round}`) }],
            })),
          );
        } finally {
          await more.close();
        }
      }
      for (const topic of topics) {
        const got = seen.get(topic)!;
        const want = [...Array.from({ length: 20 }, (_, i) => `${topic}:${i}`), `${topic}:r0`, `${topic}:r1`];
        assert.deepEqual([...got].sort(), want.sort(), `${topic}: its own records, each once`);
      }
      assert.equal(readers, 1, 'six reads: one reader');
    } finally {
      RdKafka.KafkaConsumer.prototype.connect = connect;
      await client.deleteTopics(topics).catch(() => undefined);
      await client.close();
    }
    // Closed: the next question opens a new connection.
    await client.ping(2000);
    await client.close();
    assert.equal(admins, 2);
  });

  it('refuses a record too large before sending anything when there is no dead-letter topic', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-too-large-2', log: () => {} });
    const topic = `big-${randomBytes(4).toString('hex')}.raw-hits`;
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await RecordProducer.open(client);
    try {
      await assert.rejects(
        producer.send([
          {
            topic,
            records: [{ value: Buffer.alloc(10) }, { value: Buffer.alloc(BROKER_MAX_MESSAGE_BYTES) }],
          },
        ]),
        (err: unknown) => isDaqError(err, 'RECORD_TOO_LARGE') && err.message.includes(topic),
      );
    } finally {
      await producer.close();
    }
    let n = 0;
    await readTopicToEnd(client, topic, () => n++);
    assert.equal(n, 0, 'nothing of the refused send went out');
  });

  it('throttles the client log per kind of line: the first 30, then one in 100 carrying the count', () => {
    const got: KafkaLogRecord[] = [];
    const logger = kafkaLogger('test-throttle', (r) => got.push(r));
    for (let i = 0; i < 230; i++)
      logger.error('[thrd:main]: 10.0.0.7:9092/1: Receive failed: Disconnected', { fac: 'FAIL' });
    logger.warn('[thrd:main]: 10.0.0.8:9092/2: something else', { fac: 'REQTMOUT' });
    const first = got.filter((r) => r.broker === '10.0.0.7:9092');
    assert.equal(first.length, 30 + 2, '30, then the 130th and the 230th');
    assert.deepEqual(
      first.slice(29).map((r) => r.suppressed),
      [0, 99, 99],
    );
    assert.equal(
      first[0]?.message,
      '10.0.0.7:9092/1: Receive failed: Disconnected',
      'the thread prefix is cut',
    );
    assert.equal(first[0]?.facility, 'FAIL');
    assert.equal(got.at(-1)?.broker, '10.0.0.8:9092', 'another kind of line has its own count');
  });

  it("turns the client's log into records with broker and client id; a broker away is information", async () => {
    const logs: KafkaLogRecord[] = [];
    const client = new KafkaClient({
      brokers: ['127.0.0.1:1'],
      clientId: 'test-log',
      requestTimeoutMs: 500,
      log: (r) => logs.push(r),
    });
    const probe = new KafkaProbe(client);
    try {
      for (let i = 0; i < 3; i++) assert.equal(await probe.check(300), false, 'no broker answers');
    } finally {
      await probe.close();
    }
    await assert.rejects(client.ping(300), (err: unknown) => isDaqError(err, 'KAFKA_UNAVAILABLE'));
    await client.close();
    const refused = logs.filter((l) => l.broker === '127.0.0.1:1');
    assert.ok(refused.length > 0, `lines naming the broker: ${JSON.stringify(logs.slice(0, 3))}`);
    for (const l of refused) {
      assert.equal(l.clientId, 'test-log');
      assert.equal(l.transient, true, l.message);
      assert.equal(kafkaLogSeverity(l), 'Information', 'the outage itself is the incident, not each line');
    }
    assert.equal(
      kafkaLogSeverity({ ...refused[0]!, transient: false, level: 'error' }),
      'Error',
      'an error the client does not ride out is an Error',
    );
  });
});
