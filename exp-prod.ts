import { KafkaJS } from '@confluentinc/kafka-javascript';
const { Kafka, logLevel } = KafkaJS;
const brokers = [process.argv[2]!];
const batchSize = Number(process.argv[3]); const linger = Number(process.argv[4]); const perSend = Number(process.argv[5]); const inflightSends = Number(process.argv[6]);
const kafka = new Kafka({ kafkaJS: { brokers, clientId: 'exp', logLevel: logLevel.ERROR } });
const admin = kafka.admin(); await admin.connect();
const topic = `exp-${Date.now()}`;
await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
await new Promise(r => setTimeout(r, 1000));
await admin.disconnect();
const p = kafka.producer({ kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false }, 'linger.ms': linger, 'message.max.bytes': 8 << 20, 'batch.size': batchSize, 'queue.buffering.max.kbytes': 512*1024, 'message.timeout.ms': 0 });
await p.connect();
const payload = Buffer.alloc(1 << 20, 7);
const headers: Record<string,string> = {}; for (let h = 0; h < 12; h++) headers[`daq-h${h}`] = String(h * 1000);
const N = 512;
const t0 = performance.now();
const pending = new Set<Promise<unknown>>();
for (let i = 0; i < N; i += perSend) {
  while (pending.size >= inflightSends) await Promise.race(pending);
  const messages = []; for (let k = 0; k < perSend; k++) messages.push({ key: String(i + k), value: payload, headers });
  const pr: Promise<unknown> = p.sendBatch({ topicMessages: [{ topic, messages }] }).then(() => { pending.delete(pr); });
  pending.add(pr);
}
await Promise.all(pending);
const s = (performance.now() - t0) / 1000;
console.log(`batch.size ${batchSize} linger ${linger} perSend ${perSend} sends ${inflightSends}: ${(N / s).toFixed(0)} MiB/s`);
await p.disconnect();
