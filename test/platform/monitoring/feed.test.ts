import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeAccounting, type AccountingRecord } from '../../../protocol/accounting.js';
import { encodeAggregate, type MonitoringAggregate } from '../../../protocol/monitoring.js';
import { topicNames } from '../../../protocol/topics.js';
import { KafkaClient, RecordProducer } from '../../../lib/kafka.js';
import { Metrics } from '../../../lib/metrics.js';
import { ensureNamespaceTopics } from '../../../lib/topics.js';
import { MonitoringFeed } from '../../../platform/monitoring/feed.js';
import { PlatformStore } from '../../../platform/store/store.js';
import { testKafkaBrokers } from '../../helpers/kafka-fixture.js';

const processed = (run: number, timeframe: number): AccountingRecord => ({
  stage: 'processor',
  run,
  timeframe,
  links: { '0': { words: 10, hits: 9, segments: 1, corrupt: 0 } },
  missingLinks: [],
  events: 1,
  hitsInEvents: 3,
});
const readout = (run: number, words: number, final: boolean): AccountingRecord => ({
  stage: 'readout',
  run,
  link: 0,
  incarnation: 'a',
  words,
  hits: words,
  segments: 0,
  messages: 1,
  bytes: 8 * words,
  timeframes: 1,
  lastSequence: 0,
  final,
});

async function foldedRecords(metrics: Metrics): Promise<number> {
  const text = await metrics.registry.metrics();
  return [...text.matchAll(/daq_platform_feed_records_total\{[^}]*kind="accounting"[^}]*\} (\d+)/g)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

describe('platform/monitoring/feed', function () {
  this.timeout(60_000);

  it('reads each record once: a balance costs what came since the last, and a restarted platform goes on', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-feed', log: () => {} });
    const ns = `feed-${randomBytes(4).toString('hex')}`;
    await ensureNamespaceTopics(client, ns);
    const producer = await RecordProducer.open(client);
    const store = new PlatformStore(':memory:');
    const metrics = new Metrics({}, { processMetrics: false });
    const feed = new MonitoringFeed({ client, store, metrics });
    const send = (records: AccountingRecord[]) =>
      producer.send([{ topic: topicNames(ns).monitoring, records: records.map(encodeAccounting) }]);
    try {
      // Run 1 (an older run of the environment), then run 2 in two halves, a replayed timeframe among them.
      await send([readout(1, 40, true), ...[0, 1, 2, 3].map((tf) => processed(1, tf))]);
      await send([readout(2, 100, false), ...[0, 1, 2, 3, 4].map((tf) => processed(2, tf))]);
      const first = await feed.balance(ns, 2);
      assert.equal(first.processed.words, 50);
      assert.equal(await foldedRecords(metrics), 11);

      await send([processed(2, 4), ...[5, 6, 7, 8, 9].map((tf) => processed(2, tf)), readout(2, 100, true)]);
      const second = await feed.balance(ns, 2);
      assert.equal(second.processed.words, 100, 'the replayed timeframe 4 counted once');
      assert.equal(second.lost, 0);
      assert.equal(second.readoutFinal, true);
      assert.equal(await foldedRecords(metrics), 11 + 7, 'the second read took only the 7 new records');
      assert.equal((await feed.balance(ns, 1)).lost, 0, 'run 1 balanced beside it');

      // A restarted platform: the same store, a new feed — nothing read again, nothing counted twice.
      const metrics2 = new Metrics({}, { processMetrics: false });
      const again = new MonitoringFeed({ client, store, metrics: metrics2 });
      assert.deepEqual(await again.balance(ns, 2), second);
      assert.equal(await foldedRecords(metrics2), 0);
      await send([processed(2, 10)]);
      assert.equal((await again.balance(ns, 2)).processed.words, 110);
      assert.equal(await foldedRecords(metrics2), 1);
    } finally {
      await producer.close();
      store.close();
    }
  });

  it('keeps each processor’s latest aggregate, and shares one read among callers who ask at once', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-feed-agg', log: () => {} });
    const ns = `feedagg-${randomBytes(4).toString('hex')}`;
    await ensureNamespaceTopics(client, ns);
    const producer = await RecordProducer.open(client);
    const aggregate = (task: string, noiseRateHz: number): MonitoringAggregate => ({
      kind: 'aggregate',
      environment: 'env-x',
      task,
      at: new Date().toISOString(),
      run: 5,
      timeframes: 350,
      detectorSeconds: 1,
      ratesHz: {},
      occupancy: {},
      noiseRateHz,
      driftHistogram: { minNs: -50, binNs: 25, counts: [1, 2] },
      faults: {},
    });
    const metrics = new Metrics({}, { processMetrics: false });
    const feed = new MonitoringFeed({ client, metrics });
    try {
      await producer.send([
        {
          topic: topicNames(ns).monitoring,
          records: [aggregate('p0', 10), aggregate('p1', 20), aggregate('p0', 30)].map(encodeAggregate),
        },
      ]);
      await Promise.all([feed.catchUp(ns), feed.catchUp(ns), feed.catchUp(ns)]);
      const latest = feed
        .aggregates(ns)
        .map((a) => [a.task, a.noiseRateHz])
        .sort();
      assert.deepEqual(latest, [
        ['p0', 30],
        ['p1', 20],
      ]);
      const text = await metrics.registry.metrics();
      const reads = Number(/daq_platform_feed_read_seconds_count\{[^}]*\} (\d+)/.exec(text)![1]);
      assert.ok(reads <= 2, `${reads} reads for three callers asking at once`);
    } finally {
      await producer.close();
    }
  });

  it('reads for an environment’s 20th run what that run published, not what the 19 before it did', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-feed-20', log: () => {} });
    const ns = `feed20-${randomBytes(4).toString('hex')}`;
    await ensureNamespaceTopics(client, ns);
    const producer = await RecordProducer.open(client);
    const metrics = new Metrics({}, { processMetrics: false });
    const feed = new MonitoringFeed({ client, metrics });
    try {
      const perRun: number[] = [];
      for (let run = 1; run <= 20; run++) {
        const records = [
          readout(run, 10 * run, true),
          ...Array.from({ length: run }, (_, tf) => processed(run, tf)),
        ];
        await producer.send([{ topic: topicNames(ns).monitoring, records: records.map(encodeAccounting) }]);
        const before = await foldedRecords(metrics);
        const b = await feed.balance(ns, run);
        perRun.push((await foldedRecords(metrics)) - before);
        assert.equal(b.lost, 0, `run ${run}`);
        assert.equal(b.timeframes, run);
      }
      // Each read took exactly what its run published: 1 readout record and `run` processor records.
      assert.deepEqual(
        perRun,
        Array.from({ length: 20 }, (_, i) => i + 2),
      );
    } finally {
      await producer.close();
    }
  });
});
