/**
 * The README's main job. For now: a local Kafka (ours, a running `daqops kafka up` one, or the cluster in
 * DAQOPS_KAFKA_BROKERS), one generated timeframe from two readout links sent through it as sub-timeframe
 * messages, read back, checked bit-exact and summarised. Later issues grow this into the full testbed run.
 */
import { randomBytes } from 'node:crypto';
import { envBrokerList } from '../../lib/env.js';
import { KafkaClient, sendAcked } from '../../lib/kafka.js';
import {
  ChannelMap,
  channelKey,
  DEFAULT_ORBITS_PER_TIMEFRAME,
  WordTally,
  bytesOfWords,
  decodeSubTimeframe,
  encodeSubTimeframe,
  tallyWords,
  topicNames,
  wordsOf,
  type SubTimeframeHeader,
} from '../../protocol/index.js';
import { syntheticSubTimeframe } from '../../agent/workloads/readout/synthetic.js';
import { startLocalKafka, stopLocalKafka, type LocalKafka } from './kafka-local.js';
import { runningLocalKafka } from './kafka-state.js';

export interface TestbedOptions {
  readonly hitsPerOrbit?: number;
  readonly seed?: number;
  readonly print?: (line: string) => void;
}

export interface TestbedResult {
  readonly brokers: readonly string[];
  readonly namespace: string;
  readonly timeframe: number;
  readonly sent: {
    link: number;
    words: number;
    hits: number;
    segments: number;
    partition: number;
    offset: string;
  }[];
  readonly received: SubTimeframeHeader[];
  readonly bitExact: boolean;
  readonly hitsPerChamber: Map<number, number>;
}

export async function runTestbedSmoke(options: TestbedOptions = {}): Promise<TestbedResult> {
  const print = options.print ?? ((l: string) => console.log(l));
  let owned: LocalKafka | undefined;
  let brokers = envBrokerList('DAQOPS_KAFKA_BROKERS') ?? runningLocalKafka()?.brokers;
  if (brokers === undefined) {
    owned = await startLocalKafka({ progress: (l) => print(`kafka: ${l}`) });
    brokers = owned.brokers;
    print(`kafka: broker up at ${brokers.join(',')} (pid ${owned.pid})`);
  } else {
    print(`kafka: using ${brokers.join(',')}`);
  }
  try {
    return await sendAndReadBack(brokers, options, print);
  } finally {
    if (owned !== undefined) {
      await stopLocalKafka(owned);
      print('kafka: broker stopped');
    }
  }
}

async function sendAndReadBack(
  brokers: readonly string[],
  options: TestbedOptions,
  print: (line: string) => void,
): Promise<TestbedResult> {
  const namespace = `testbed-${randomBytes(3).toString('hex')}`;
  const topics = topicNames(namespace);
  const client = new KafkaClient({ brokers, clientId: 'daqops-testbed' });
  await client.ensureTopics([{ topic: topics.rawHits, partitions: 4 }]);
  const map = ChannelMap.testbed(4);
  const run = 1;
  const timeframe = Math.floor(Date.now() / 1000) % 100_000;
  const links = [0, 1];
  const generated = links.map((link) =>
    syntheticSubTimeframe({
      map,
      fpga: link,
      timeframe,
      orbitsPerTimeframe: DEFAULT_ORBITS_PER_TIMEFRAME,
      hitsPerOrbit: options.hitsPerOrbit ?? 40,
      seed: options.seed ?? 2026,
    }),
  );

  const producer = client.producer();
  await producer.connect();
  const sent: TestbedResult['sent'] = [];
  try {
    for (const [i, g] of generated.entries()) {
      const link = links[i]!;
      const msg = encodeSubTimeframe(
        {
          run,
          link,
          timeframe,
          sequence: 0,
          words: g.wordCount,
          hits: g.hits,
          part: 0,
          parts: 1,
          lead: 0,
          trail: 0,
          overlapNs: 0,
        },
        bytesOfWords(g.words, g.wordCount),
      );
      const [meta] = await sendAcked(producer, { topic: topics.rawHits, messages: [msg] });
      sent.push({
        link,
        words: g.wordCount,
        hits: g.hits,
        segments: g.segments,
        partition: meta?.partition ?? -1,
        offset: meta?.baseOffset ?? '?',
      });
      print(
        `sent     link ${link} timeframe ${timeframe}: ${g.wordCount} words (${g.hits} hits, ${g.segments} segments) → ${topics.rawHits}[${meta?.partition}] @${meta?.baseOffset}`,
      );
    }
  } finally {
    await producer.disconnect();
  }

  const received: SubTimeframeHeader[] = [];
  const tally = new WordTally();
  let bitExact = true;
  try {
    const messages = await client.readMessages(topics.rawHits, links.length, {
      groupId: `${namespace}-readback`,
    });
    for (const { message, partition } of messages) {
      const header = decodeSubTimeframe(message.headers, message.value);
      const value = message.value ?? Buffer.alloc(0);
      const { words, wordCount } = wordsOf(value);
      tallyWords(words, wordCount, map, tally);
      const original = generated[links.indexOf(header.link)];
      const same =
        original !== undefined &&
        Buffer.compare(value, bytesOfWords(original.words, original.wordCount)) === 0;
      bitExact &&= same;
      received.push(header);
      print(
        `received link ${header.link} timeframe ${header.timeframe}: ${header.words} words from partition ${partition}, bit-exact ${same ? 'yes' : 'NO'}`,
      );
    }
  } finally {
    await client.deleteTopics([topics.rawHits]).catch(() => undefined);
  }

  const hitsPerChamber = new Map<number, number>();
  for (const e of map.entries) {
    const n = tally.hitsPerChannel[channelKey(e.fpga, e.channel)] ?? 0;
    hitsPerChamber.set(e.chamber, (hitsPerChamber.get(e.chamber) ?? 0) + n);
  }
  print(`decoded  ${tally.hits} hits, ${tally.segments} segments, ${tally.corrupt} corrupt words`);
  print(`chamber  ${[...hitsPerChamber.keys()].map((c) => String(c).padStart(6)).join('')}`);
  print(`hits     ${[...hitsPerChamber.values()].map((n) => String(n).padStart(6)).join('')}`);
  print(
    bitExact && received.length === links.length
      ? 'OK: the timeframe came back bit-exact'
      : 'FAILED: the timeframe did not come back intact',
  );
  return { brokers, namespace, timeframe, sent, received, bitExact, hitsPerChamber };
}
