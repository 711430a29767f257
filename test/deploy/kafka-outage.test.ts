/**
 * Broker outages on a live testbed run: real broker (its own, so it can be killed), platform, agent and
 * workloads as processes. An outage is weather: no daqops process exits, the platform opens one
 * KafkaUnreachable incident and resolves it, data flows again, and the run ends with lost = 0 and no
 * event stored twice.
 */
import assert from 'node:assert/strict';
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
import { inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';
import { KafkaClient } from '../../lib/kafka.js';
import { formatReconciliation, reconcileRun } from '../../lib/reconcile.js';
import { runningTestbed } from '../helpers/running-testbed.js';
import { startWorkload, uniqueNamespace, waitForDrain } from '../helpers/data-path.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outage {
  readonly name: string;
  /** Takes the broker away and brings it back; resolves with the broker as it runs afterwards. */
  readonly act: (k: LocalKafka) => Promise<LocalKafka>;
}

const outages: Outage[] = [
  {
    name: 'the broker SIGKILLed and started again on its data 5 s later',
    act: async (k) => {
      process.kill(k.pid, 'SIGKILL');
      while (isLocalKafkaProcess(k.pid, k.dataDir)) await sleep(50);
      await sleep(5000);
      return restartLocalKafka(k);
    },
  },
  {
    name: 'the broker paused (SIGSTOP) for 30 s',
    act: async (k) => {
      process.kill(k.pid, 'SIGSTOP');
      await sleep(30_000);
      process.kill(k.pid, 'SIGCONT');
      return k;
    },
  },
];

describe('Kafka outages (a real broker of its own; platform, agent and workloads as real processes)', function () {
  this.timeout(420_000);

  for (const outage of outages) {
    it(`${outage.name}: nothing exits, one KafkaUnreachable incident opened and resolved, lost = 0`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'daqops-outage-'));
      let kafka = await startLocalKafka();
      const lines: string[] = [];
      try {
        const tb = await runningTestbed(dir, {
          brokers: kafka.brokers,
          // Long enough that what the tasks say while they reconnect (read back from <ns>.ers once Kafka
          // answers) still finds the outage's incident open, as the default 60 s does in production.
          platformArgs: ['--settle-seconds', '15'],
          print: (l) => {
            if (lines.push(l) > 4000) lines.splice(0, 1000);
          },
        });
        const client = new KafkaClient({ brokers: kafka.brokers, clientId: 'test-outage', log: () => {} });
        let record;
        let namespace = '';
        try {
          const before = await tb.env();
          namespace = before.namespace;
          const processed = async (): Promise<number> =>
            (await reconcileRun(client, namespace, tb.run)).processed.hits;
          await tb.until('hits to flow', async () => (await processed()) > 10_000);
          const platformPid = tb.stack.platform?.pid;
          const agentPid = tb.stack.agent?.pid;

          kafka = await outage.act(kafka);

          await tb
            .until(
              'the KafkaUnreachable incident to open and resolve',
              async () =>
                (await tb.incidents()).some(
                  (i) => i.root.name === 'KafkaUnreachable' && i.state === 'resolved',
                ),
              120_000,
            )
            .catch(async (err: unknown) => {
              // Say what the incidents were instead, and what the processes said.
              const now = JSON.stringify(await tb.incidents().catch(() => []), null, 1);
              throw new Error(`${String(err)}\nincidents: ${now}\n${await tb.diagnosis()}`);
            });
          const h = await processed();
          await tb
            .until('data to flow again', async () => (await processed()) > h + 10_000, 60_000)
            .catch(async (err: unknown) => {
              throw new Error(
                `${String(err)} (processed ${h} hits at the outage's end, ${await processed().catch(() => NaN)} now)\n${await tb.diagnosis()}`,
              );
            });

          const after = await tb.env();
          const why = await tb.diagnosis();
          assert.equal(tb.stack.platform?.exitCode, null, 'the platform did not exit');
          assert.equal(tb.stack.platform?.pid, platformPid);
          assert.equal(tb.stack.agent?.exitCode, null, 'the agent did not exit');
          assert.equal(tb.stack.agent?.pid, agentPid);
          assert.equal(after.state, 'RUNNING');
          assert.deepEqual(
            after.tasks.map((t) => [t.name, t.state, t.pid]),
            before.tasks.map((t) => [t.name, 'RUNNING', t.pid]),
            `every task still runs in the process it had (none exited or was restarted)\n${why}`,
          );
          // A broker sluggish again just after the outage reopens its incident (the same fault): wait for
          // it to settle again, then there is still one.
          await tb
            .until(
              'every incident to be resolved',
              async () => (await tb.incidents()).every((i) => i.state === 'resolved'),
              120_000,
            )
            .catch(async (err: unknown) => {
              throw new Error(
                `${String(err)}\nincidents: ${JSON.stringify(await tb.incidents(), null, 1)}\n${why}`,
              );
            });
          const incidents = await tb.incidents();
          assert.deepEqual(
            incidents.map((i) => [i.root.name, i.root.component.kind, i.state]),
            [['KafkaUnreachable', 'kafka', 'resolved']],
            `one incident for the outage, resolved:\n${JSON.stringify(incidents, null, 1)}\n${why}`,
          );
        } finally {
          record = await tb.finish();
        }
        const output = `${lines.slice(-200).join('\n')}\n${await tb.diagnosis()}`;
        assert.ok(record?.reconciliation, `the run has its balance\n${output}`);
        assert.equal(record.reconciliation.lost, 0, output);
        assert.equal(record.reconciliation.events.stored, record.reconciliation.events.built, output);
        const inspection = inspectRun(runDir(join(dir, 'data'), tb.run));
        assert.equal(inspection.duplicateIds, 0, 'no event stored twice');
        assert.equal(inspection.events, record.reconciliation.events.built);
      } finally {
        await stopLocalKafka(kafka);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a real-time emulator whose buffer fills while the broker is paused counts what it could not send as not produced; lost = 0', async () => {
    const kafka = await startLocalKafka();
    try {
      const ns = uniqueNamespace('full');
      const processor = startWorkload('processor', kafka.brokers, { namespace: ns, links: [0] });
      // About 20 MB/s of noise into a 1 MiB buffer: a 3 s pause overflows it many times over.
      const readout = startWorkload('readout', kafka.brokers, {
        namespace: ns,
        link: 0,
        timeframes: 1400,
        pacing: 'realtime',
        bufferBytes: 1024 * 1024,
        'source.noiseRateHzPerChannel': 20_000,
      });
      await sleep(1500);
      process.kill(kafka.pid, 'SIGSTOP');
      await sleep(3000);
      process.kill(kafka.pid, 'SIGCONT');
      const totals = (await readout.done) as { notProducedHits: number; hits: number };
      const r = await waitForDrain(kafka.brokers, ns, 1, { writer: false, links: [0], timeoutMs: 120_000 });
      await processor.stop();
      assert.ok(totals.notProducedHits > 0, 'the full buffer set hits aside');
      assert.equal(r.notProduced.hits, totals.notProducedHits, 'the balance says how many');
      assert.equal(r.produced.hits, totals.hits);
      assert.equal(r.lost, 0, 'everything produced was processed');
      assert.match(formatReconciliation(r), /not produced \d+ words \(\d+ hits\)/);
    } finally {
      await stopLocalKafka(kafka);
    }
  });
});
