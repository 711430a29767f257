import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KafkaClient, RecordProducer, readTopicToEnd } from '../../lib/kafka.js';
import {
  ChannelMap,
  WordTally,
  bytesOfWords,
  decodeSubTimeframe,
  encodeSubTimeframe,
  tallyWords,
  topicNames,
  wordsOf,
} from '../../protocol/index.js';
import { syntheticSubTimeframe } from '../../agent/workloads/readout/synthetic.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';

describe('sub-timeframes through a real Kafka broker', function () {
  this.timeout(120_000);

  it('delivers 10,000 hits in sub-timeframes bit-exact, all links of a timeframe on one partition', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-roundtrip' });
    const topics = topicNames(`t-${randomBytes(4).toString('hex')}`);
    await client.ensureTopics([{ topic: topics.rawHits, partitions: 4 }]);
    const map = ChannelMap.testbed(4);

    // 2 links × 5 timeframes × 1,000 hits = 10,000 hits (plus segment words).
    const sent = new Map<string, Buffer>();
    const messages = [];
    let hitsSent = 0;
    for (let timeframe = 100; timeframe < 105; timeframe++) {
      for (const link of [0, 1]) {
        const g = syntheticSubTimeframe({
          map,
          fpga: link,
          timeframe,
          orbitsPerTimeframe: 32,
          hitsPerOrbit: 1000 / 32,
          seed: 7,
        });
        const value = Buffer.from(bytesOfWords(g.words, g.wordCount));
        hitsSent += g.hits;
        sent.set(`${link}/${timeframe}`, value);
        messages.push(
          encodeSubTimeframe(
            {
              run: 3,
              link,
              timeframe,
              sequence: timeframe - 100,
              words: g.wordCount,
              hits: g.hits,
              part: 0,
              parts: 1,
              lead: 0,
              trail: 0,
              overlapNs: 0,
            },
            value,
          ),
        );
      }
    }
    assert.equal(hitsSent, 10_000);

    const producer = await RecordProducer.open(client);
    try {
      await producer.send([{ topic: topics.rawHits, records: messages }]);
    } finally {
      await producer.close();
    }

    const got: { header: ReturnType<typeof decodeSubTimeframe>; value: Buffer; partition: number }[] = [];
    await readTopicToEnd(client, topics.rawHits, (r) =>
      got.push({ header: decodeSubTimeframe(r.headers, r.value), value: r.value, partition: r.partition }),
    );

    const tally = new WordTally();
    const partitionOf = new Map<number, number>();
    for (const { header, value, partition } of got) {
      assert.deepEqual(
        value,
        sent.get(`${header.link}/${header.timeframe}`),
        `link ${header.link} tf ${header.timeframe}`,
      );
      const p = partitionOf.get(header.timeframe);
      if (p !== undefined)
        assert.equal(partition, p, `timeframe ${header.timeframe} split across partitions`);
      partitionOf.set(header.timeframe, partition);
      const { words, wordCount } = wordsOf(value);
      tallyWords(words, wordCount, map, tally);
    }
    assert.equal(got.length, 10);
    assert.equal(tally.hits, 10_000);
    assert.equal(tally.corrupt, 0);
  });
});
