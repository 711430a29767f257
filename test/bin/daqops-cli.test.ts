import assert from 'node:assert/strict';
import { KafkaClient } from '../../lib/kafka.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findLocalKafkaProcesses } from '../../deploy/local/kafka-local.js';
import { ensureNamespaceTopics } from '../../lib/topics.js';
import { daqopsArgv } from '../helpers/daqops.js';

const run = promisify(execFile);

/** Runs the real CLI entry point in a child process, from source. */
function daqops(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  // The test run's own broker setting must not leak in; a test that wants one passes it in `env`.
  delete childEnv['DAQOPS_KAFKA_BROKERS'];
  Object.assign(childEnv, env);
  return run(...daqopsArgv(...args), {
    env: childEnv,
    timeout: 120_000,
  });
}

/** Runs the CLI expecting a non-zero exit; returns its exit code and output. */
async function daqopsFailing(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    await daqops(args, env);
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
  assert.fail(`daqops ${args.join(' ')} succeeded but should have failed`);
}

describe('bin/daqops', function () {
  this.timeout(180_000);

  it('prints help and version', async () => {
    const help = await daqops(['--help']);
    assert.match(help.stdout, /kafka/);
    assert.match(help.stdout, /testbed/);
    const version = await daqops(['--version']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it('kafka up starts a reachable broker and kafka down leaves no java process behind', async () => {
    const home = mkdtempSync(join(tmpdir(), 'daqops-home-'));
    try {
      const up = await daqops(['kafka', 'up'], { DAQOPS_HOME: home });
      assert.match(up.stdout, /started: 127\.0\.0\.1:\d+ \(pid (\d+)/);
      const state = JSON.parse(readFileSync(join(home, 'kafka.json'), 'utf8')) as {
        pid: number;
        dataDir: string;
      };
      assert.ok(
        findLocalKafkaProcesses().some((p) => p.pid === state.pid),
        'broker process not found after up',
      );

      const again = await daqops(['kafka', 'up'], { DAQOPS_HOME: home });
      assert.match(again.stdout, new RegExp(`already running: .*pid ${state.pid}`));

      const status = await daqops(['kafka', 'status', '--json'], { DAQOPS_HOME: home });
      const s = JSON.parse(status.stdout) as { source: string; reachable: boolean; pid: number };
      assert.equal(s.source, 'local');
      assert.equal(s.reachable, true);
      assert.equal(s.pid, state.pid);

      const down = await daqops(['kafka', 'down'], { DAQOPS_HOME: home });
      assert.match(down.stdout, new RegExp(`stopped pid ${state.pid}`));
      assert.ok(
        !existsSync(`/proc/${state.pid}/cmdline`) ||
          !readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').includes('kafka.Kafka'),
        'java still running',
      );
      assert.ok(
        !findLocalKafkaProcesses().some((p) => p.dataDir === state.dataDir),
        'a broker on that data dir survived',
      );
      assert.equal(existsSync(state.dataDir), false, 'data dir left behind');
      assert.equal(existsSync(join(home, 'kafka.json')), false);

      const none = await daqops(['kafka', 'status'], { DAQOPS_HOME: home });
      assert.match(none.stdout, /no Kafka/);
    } finally {
      await daqops(['kafka', 'down'], { DAQOPS_HOME: home }).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('kafka stop keeps the data and ports, kafka start brings the same broker back with its topics', async () => {
    const home = mkdtempSync(join(tmpdir(), 'daqops-home-'));
    try {
      await daqops(['kafka', 'up'], { DAQOPS_HOME: home });
      const state = JSON.parse(readFileSync(join(home, 'kafka.json'), 'utf8')) as {
        pid: number;
        brokers: string[];
        dataDir: string;
      };
      const client = new KafkaClient({ brokers: state.brokers, clientId: 'test-stop-start', log: () => {} });
      await client.ensureTopics([{ topic: 'kept.raw-hits', partitions: 2 }]);

      const stop = await daqops(['kafka', 'stop'], { DAQOPS_HOME: home });
      assert.match(stop.stdout, /stopped: 127\.0\.0\.1:\d+ \(data kept in /);
      assert.ok(existsSync(state.dataDir), 'the data stays');
      const down = JSON.parse(
        (await daqops(['kafka', 'status', '--json'], { DAQOPS_HOME: home })).stdout,
      ) as {
        reachable: boolean;
      };
      assert.equal(down.reachable, false);

      const start = await daqops(['kafka', 'start'], { DAQOPS_HOME: home });
      assert.match(
        start.stdout,
        new RegExp(`started: ${state.brokers[0]!.replace(/\./g, '\\.')} \\(pid \\d+`),
      );
      const again = JSON.parse(
        (await daqops(['kafka', 'status', '--json'], { DAQOPS_HOME: home })).stdout,
      ) as {
        reachable: boolean;
        brokers: string[];
      };
      assert.equal(again.reachable, true);
      assert.deepEqual(again.brokers, state.brokers, 'the same port: clients need no new broker list');
      const offsets = await client.topicOffsets('kept.raw-hits');
      assert.equal(offsets.length, 2, 'the topic survived the stop');
    } finally {
      await daqops(['kafka', 'down'], { DAQOPS_HOME: home }).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('kafka up --brokers 3 starts a three-broker cluster; stop/start --broker N takes one member away and back on its data; down leaves nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'daqops-home-'));
    interface Status {
      reachable: boolean;
      brokers: string[];
      listed?: number;
      members: { broker: number; address: string; pid: number; running: boolean }[];
    }
    const status = async (): Promise<Status> =>
      JSON.parse((await daqops(['kafka', 'status', '--json'], { DAQOPS_HOME: home })).stdout) as Status;
    try {
      const up = await daqops(['kafka', 'up', '--brokers', '3'], { DAQOPS_HOME: home });
      assert.match(
        up.stdout,
        /started: (127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+ \(3 brokers, pids \d+, \d+, \d+;/,
      );
      const whole = await status();
      assert.equal(whole.reachable, true);
      assert.equal(whole.brokers.length, 3);
      assert.equal(whole.listed, 3, 'the cluster lists all three');
      assert.deepEqual(
        whole.members.map((m) => [m.broker, m.running]),
        [
          [1, true],
          [2, true],
          [3, true],
        ],
      );
      // Topics get three copies by default: a topic made without saying how many has a replica on each.
      const client = new KafkaClient({ brokers: whole.brokers, clientId: 'test-cluster-cli', log: () => {} });
      try {
        await client.ensureTopics([{ topic: 'kept.raw-hits', partitions: 2 }]);
        const d = await client.describeCluster(['kept.raw-hits']);
        assert.deepEqual(
          d.topics[0]!.partitions.map((p) => p.replicas.length),
          [3, 3],
        );
        // A namespace's topics as daqops makes them: three copies, two in sync for a write.
        assert.deepEqual(await ensureNamespaceTopics(client, 'clu'), { replication: 3, minInsync: 2 });
        const said = (await daqops(['kafka', 'status', '--namespace', 'clu'], { DAQOPS_HOME: home })).stdout;
        assert.match(said, /namespace topics: replication 3, min ISR 2: one broker may be lost/);
        assert.match(said, /clu: 6 topics, one broker may be lost now/);

        const stop = await daqops(['kafka', 'stop', '--broker', '2'], { DAQOPS_HOME: home });
        assert.match(stop.stdout, /^stopped: broker 2 127\.0\.0\.1:\d+ \(data kept in /m);
        const two = await status();
        assert.equal(two.reachable, true, 'two of three still answer');
        assert.deepEqual(
          two.members.map((m) => m.running),
          [true, false, true],
        );
        assert.equal(two.listed, 2);
        // The ISRs shrink once the controller has taken broker 2 out (at once on a controlled stop, within
        // the replica lag time otherwise): asked until they say so.
        let text = '';
        for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
          text = (await daqops(['kafka', 'status', '--namespace', 'clu'], { DAQOPS_HOME: home })).stdout;
          if (/no broker may be lost now/.test(text)) break;
        }
        assert.match(text, /broker 2 at 127\.0\.0\.1:\d+: stopped/);
        assert.match(text, /clu: 6 topics, no broker may be lost now \(least to spare: clu\./);
        assert.match(
          text,
          /namespace topics: cannot be made here: replication 3 needs 3 brokers; the cluster lists 2 now/,
        );

        await daqops(['kafka', 'start', '--broker', '2'], { DAQOPS_HOME: home });
        const back = await status();
        assert.deepEqual(back.brokers, whole.brokers, 'the same ports');
        assert.equal(back.members[1]!.running, true);
        assert.equal(back.listed, 3);

        const bad = await daqopsFailing(['kafka', 'stop', '--broker', '7'], { DAQOPS_HOME: home });
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /INVALID_CONFIG: --broker 7: the local Kafka has brokers 1, 2, 3/);
      } finally {
        await client.close();
      }

      const pids = (await status()).members.map((m) => m.pid);
      const down = await daqops(['kafka', 'down'], { DAQOPS_HOME: home });
      assert.match(down.stdout, /stopped pid \d+, \d+, \d+/);
      for (const pid of pids)
        assert.ok(!findLocalKafkaProcesses().some((p) => p.pid === pid), `broker pid ${pid} survived`);
      assert.equal(existsSync(join(home, 'kafka.json')), false);
    } finally {
      await daqops(['kafka', 'down'], { DAQOPS_HOME: home }).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('starts nothing when DAQOPS_KAFKA_BROKERS names a cluster', async () => {
    const home = mkdtempSync(join(tmpdir(), 'daqops-home-'));
    try {
      const before = findLocalKafkaProcesses().length;
      const up = await daqops(['kafka', 'up'], { DAQOPS_HOME: home, DAQOPS_KAFKA_BROKERS: '127.0.0.1:1' });
      assert.match(up.stdout, /starting nothing/);
      assert.equal(findLocalKafkaProcesses().length, before);
      const status = await daqopsFailing(['kafka', 'status'], {
        DAQOPS_HOME: home,
        DAQOPS_KAFKA_BROKERS: '127.0.0.1:1',
      });
      assert.equal(status.code, 1);
      assert.match(status.stdout, /external Kafka at 127\.0\.0\.1:1: NOT reachable/);
      const bad = await daqopsFailing(['kafka', 'up'], {
        DAQOPS_HOME: home,
        DAQOPS_KAFKA_BROKERS: 'not a broker',
      });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /INVALID_CONFIG: DAQOPS_KAFKA_BROKERS: "not a broker" is not host:port/);
    } finally {
      await daqops(['kafka', 'down'], { DAQOPS_HOME: home }).catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    }
  });
});
