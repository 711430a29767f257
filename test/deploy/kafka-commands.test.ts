/**
 * The commands a user runs, not only the stack under them, ride out a Kafka outage: `daqops testbed`
 * with its broker SIGKILLed and started again mid-run, and `daqops data reconcile` while the broker does
 * not answer. They wait (bounded, saying so) and carry on. Each test has a broker of its own.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  isLocalKafkaProcess,
  restartLocalKafka,
  startLocalKafka,
  stopLocalKafka,
  type LocalKafka,
} from '../../deploy/local/kafka-local.js';
import { KafkaClient, RecordProducer } from '../../lib/kafka.js';
import { ensureNamespaceTopics } from '../../lib/topics.js';
import { encodeAccounting } from '../../protocol/accounting.js';
import { topicNames } from '../../protocol/topics.js';
import { daqopsArgv } from '../helpers/daqops.js';
import { uniqueNamespace } from '../helpers/data-path.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A `daqops` command as a child process: its output lines with the time each came, and its exit. */
function command(
  args: string[],
  env: NodeJS.ProcessEnv,
): {
  child: ChildProcess;
  lines: { atMs: number; text: string }[];
  text: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(...daqopsArgv(...args), { stdio: ['ignore', 'pipe', 'pipe'], env });
  const lines: { atMs: number; text: string }[] = [];
  const take = (d: Buffer): void => {
    for (const l of d.toString().split('\n')) if (l !== '') lines.push({ atMs: Date.now(), text: l });
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, lines, text: () => lines.map((l) => l.text).join('\n'), exit };
}

async function killed(k: LocalKafka): Promise<void> {
  process.kill(k.pid, 'SIGKILL');
  while (isLocalKafkaProcess(k.pid, k.dataDir)) await sleep(50);
}

describe('commands through a Kafka outage (a real broker of its own, the real daqops command)', function () {
  this.timeout(420_000);

  it('`daqops testbed`: the broker SIGKILLed mid-run and started again on its data 5 s later — live lines throughout, lost 0, EXIT → DONE, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqops-cmd-outage-'));
    let kafka = await startLocalKafka();
    const home = join(dir, 'home');
    const tb = command(
      ['testbed', '--seconds', '40', '--no-monitoring', '--home', home, '--data-dir', join(dir, 'data')],
      { ...process.env, DAQOPS_KAFKA_BROKERS: kafka.brokers.join(',') },
    );
    try {
      const deadline = Date.now() + 180_000;
      // Hits flowing: a live line of the running run with hits counted.
      while (!tb.lines.some((l) => /live +\d+ s: RUNNING .* [1-9]\d* hits ·/.test(l.text))) {
        if (Date.now() > deadline || tb.child.exitCode !== null)
          throw new Error(`no hits in the live lines:\n${tb.text()}`);
        await sleep(200);
      }
      const killAt = Date.now();
      await killed(kafka);
      await sleep(5000);
      kafka = await restartLocalKafka(kafka);
      const backAt = Date.now();
      const code = await Promise.race([tb.exit, sleep(300_000).then(() => 'still running')]);
      const out = tb.text();
      assert.equal(code, 0, out);
      const live = tb.lines.filter((l) => /^live +\d+ s:/.test(l.text.trim()));
      const during = live.filter((l) => l.atMs > killAt && l.atMs < backAt);
      // A line every 2 s, each waiting at most 1.5 s for the balance: a 5 s outage (and the broker's
      // start) cannot pass without a line.
      assert.ok(during.length >= 2, `live lines while Kafka was away: ${during.length}\n${out}`);
      assert.ok(
        live.some((l) => /Kafka away for \d+ s/.test(l.text)),
        `a live line says Kafka is away and for how long:\n${out}`,
      );
      assert.match(out, /testbed: STOP_ACTIVITY +→ CONFIGURED/);
      assert.match(out, /^\s+lost\s+0$/m);
      assert.match(out, /testbed: EXIT +→ DONE/);
    } finally {
      if (tb.child.exitCode === null) {
        tb.child.kill('SIGINT');
        await Promise.race([tb.exit, sleep(60_000)]);
        if (tb.child.exitCode === null) tb.child.kill('SIGKILL');
      }
      await stopLocalKafka(kafka);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`daqops data reconcile`: gives up after --wait with one clear error; with a longer wait, says it waits and answers once the broker is back', async () => {
    let kafka = await startLocalKafka();
    const client = new KafkaClient({ brokers: kafka.brokers, clientId: 'test-cmd-reconcile', log: () => {} });
    const ns = uniqueNamespace('reconcile');
    try {
      await ensureNamespaceTopics(client, ns);
      const producer = await RecordProducer.open(client);
      const readout = encodeAccounting({
        stage: 'readout',
        run: 1,
        link: 0,
        incarnation: 'a',
        words: 10,
        hits: 10,
        segments: 0,
        messages: 1,
        bytes: 80,
        timeframes: 1,
        lastSequence: 0,
        final: true,
      });
      const processed = encodeAccounting({
        stage: 'processor',
        run: 1,
        timeframe: 0,
        links: { '0': { words: 10, hits: 10, segments: 0, corrupt: 0 } },
        missingLinks: [],
        events: 0,
        hitsInEvents: 0,
      });
      await producer.send([{ topic: topicNames(ns).monitoring, records: [readout, processed] }]);
      await producer.close();
      await client.close();
      const env = { ...process.env };
      delete env['DAQOPS_KAFKA_BROKERS'];
      const args = [
        'data',
        'reconcile',
        '--namespace',
        ns,
        '--run',
        '1',
        '--brokers',
        kafka.brokers.join(','),
      ];

      // Killed: nothing answers. Within a short --wait: one clear error, exit 2, no stack trace.
      await killed(kafka);
      const giveUp = command([...args, '--wait', '3'], env);
      const code = await giveUp.exit;
      assert.equal(code, 2, giveUp.text());
      assert.match(
        giveUp.text(),
        /daqops: KAFKA_UNAVAILABLE: reading .*\.monitoring: no answer within \d+ s/,
      );
      assert.doesNotMatch(giveUp.text(), /\n\s+at /, 'no stack trace');

      // Still down when a reconcile with a longer wait starts; the broker comes back on its data meanwhile.
      const waiting = command([...args, '--wait', '120'], env);
      while (!/trying again/.test(waiting.text()) && waiting.child.exitCode === null) await sleep(200);
      kafka = await restartLocalKafka(kafka);
      assert.equal(await waiting.exit, 0, waiting.text());
      assert.match(
        waiting.text(),
        /reading .*\.monitoring: KAFKA_UNAVAILABLE .* trying again for up to 120 s/,
      );
      assert.match(waiting.text(), /answered after \d+ s/);
      assert.match(waiting.text(), /^\s+lost\s+0$/m);
    } finally {
      await client.close().catch(() => undefined);
      await stopLocalKafka(kafka);
    }
  });
});
