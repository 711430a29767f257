/**
 * Several nodes for real (docs/multi-node.md): three agents, each in its own network namespace with its
 * own address, a platform and a broker on a bridge they reach over their veth pairs — no loopback
 * between them. Real processes, real Kafka. Needs root (CI runs as root); the namespaces and links are
 * made and removed here, also when the test fails.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  startLocalKafka,
  stopLocalKafka,
  type LocalKafka,
} from '../../deploy/local/kafka-local.js';
import { loadTokens } from '../../platform/api/auth.js';
import { PlatformClient } from '../../platform/api/client.js';
import { ensureTokensFile } from '../../platform/platform-cli.js';
import { daqopsCommand, processMemoryEnv } from '../../lib/paths.js';
import { NodeNetwork, netnsAvailable } from '../helpers/netns.js';
import { until } from '../helpers/until.js';
import { inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';

/** Three links on two boards: board-a carries links 0 and 1, board-b link 2; node-c has none. */
const TEMPLATE = `name: three-links
roles:
  - name: readout
    tasks:
      - name: readout-{{index}}
        replicas: 3
        workload: readout
        critical: false
        resources: { cores: 0, memoryMiB: 256, links: ['{{index}}'] }
        config:
          namespace: '{{namespace}}'
          link: '{{index}}'
          chambers: 6
          pacing: realtime
          source: { type: emulator, muonRateHz: 300, noiseRateHzPerChannel: 50 }
  - name: processing
    tasks:
      - name: processor-{{index}}
        replicas: 3
        workload: processor
        resources: { cores: 1, memoryMiB: 512 }
        config: { namespace: '{{namespace}}', chambers: 6, links: [0, 1, 2] }
  - name: storage
    tasks:
      - name: writer
        workload: writer
        resources: { cores: 0, memoryMiB: 512 }
        config: { namespace: '{{namespace}}', dataDir: '{{dataDir}}' }
vars:
  namespace: three-links
`;

function topology(node: string, devices: string): string {
  return `node: ${node}\nnuma:\n  - id: 0\n    cpus: "0-1"\n    memoryGiB: 8\ndevices: ${devices}\n`;
}

describe('several nodes, each in its own network namespace (real platform, agents and Kafka)', function () {
  this.timeout(600_000);

  it('puts each readout on its board’s node and NUMA node, spreads the processors, says why; a drain mid-run moves them on, lost = 0', async function () {
    if (!netnsAvailable()) this.skip(); // not root: namespaces cannot be made (CI runs as root)
    const dir = mkdtempSync(join(tmpdir(), 'daqops-multi-'));
    const net = new NodeNetwork();
    const procs: ChildProcess[] = [];
    const lines: string[] = [];
    let kafka: LocalKafka | undefined;
    const run = (who: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess => {
      const child = spawn(argv[0]!, argv.slice(1), {
        env: { ...process.env, ...processMemoryEnv(), DAQOPS_HOME: join(dir, 'home'), ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (t: string) => {
        for (const l of t.split('\n'))
          if (l.trim() !== '' && lines.push(`${who}: ${l}`) > 2000) lines.shift();
      });
      procs.push(child);
      return child;
    };
    try {
      net.create();
      const nodes = ['node-a', 'node-b', 'node-c'].map((n) => net.addNode(n));
      kafka = await startLocalKafka({ host: net.hubAddress });
      const { command, args } = daqopsCommand();
      const tokensFile = join(dir, 'home', 'tokens.yaml');
      ensureTokensFile(tokensFile);
      const book = loadTokens(tokensFile);
      const admin = [...book.principals].find(([, p]) => p.role === 'admin')![0];
      const port = await freePort(net.hubAddress);
      run(
        'platform',
        [
          command,
          ...args,
          'platform',
          '--port',
          String(port),
          '--host',
          net.hubAddress,
          '--db',
          join(dir, 'home', 'platform.db'),
          '--tokens',
          tokensFile,
          '--brokers',
          kafka.brokers.join(','),
        ],
        {},
      );
      const api = new PlatformClient(`http://${net.hubAddress}:${port}`, admin);
      await until(
        'the platform to answer',
        () =>
          api.agents().then(
            () => true,
            () => false,
          ),
        60_000,
      );
      const devices: Record<string, string> = {
        'node-a': '[{ name: board-a, numaNode: 0, links: [0, 1] }]',
        'node-b': '[{ name: board-b, numaNode: 0, links: [2] }]',
        'node-c': '[]',
      };
      for (const n of nodes) {
        const file = join(dir, `${n.name}.yaml`);
        writeFileSync(file, topology(n.name, devices[n.name]!));
        run(
          n.name,
          [
            ...net.exec(n),
            command,
            ...args,
            'agent',
            '--platform',
            `ws://${net.hubAddress}:${port}/api/v1/agents/ws`,
            '--node',
            n.name,
            '--topology-file',
            file,
            '--metrics-port',
            '0',
            '--metrics-host',
            n.address,
            '--ers-file',
            join(dir, `ers-${n.name}.jsonl`),
          ],
          { DAQOPS_JOIN_TOKEN: book.joinToken ?? '' },
        );
      }
      await until(
        'three agents to join over their own interfaces',
        async () => (await api.agents()).filter((a) => a.connected).length === 3,
        60_000,
      );
      const env = await api.createEnvironment({ yaml: TEMPLATE }, { dataDir: join(dir, 'data') });
      for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY']) await api.transition(env.id, t);
      const running = await api.environment(env.id);
      const at = (task: string) => running.tasks.find((t) => t.name === task)!;
      assert.deepEqual(
        ['readout-0', 'readout-1', 'readout-2'].map((t) => [t, at(t).node, at(t).numa]),
        [
          ['readout-0', 'node-a', 0],
          ['readout-1', 'node-a', 0],
          ['readout-2', 'node-b', 0],
        ],
        'each readout where its fibre ends',
      );
      assert.match(at('readout-2').placement ?? '', /link 2 → board-b on node-b \(NUMA 0\)/);
      assert.deepEqual(
        new Set(['processor-0', 'processor-1', 'processor-2'].map((t) => at(t).node)),
        new Set(['node-a', 'node-b', 'node-c']),
        'one processor per node: no node takes the whole group',
      );
      assert.match(at('processor-1').placement ?? '', /spread: 0 other processing task\(s\)/);

      await until(
        'hits of every link to be processed',
        async () => {
          const b = (await api.runBalance(running.run!)).reconciliation;
          return b !== null && ['0', '1', '2'].every((l) => (b.perLink[l]?.processed ?? 0) > 1000);
        },
        120_000,
      );

      // Drain node-c mid-run: what it holds moves off it (a processor stoplessly), the run goes on.
      const onC = running.tasks.filter((t) => t.node === 'node-c').map((t) => t.name);
      assert.ok(onC.length > 0, 'node-c holds a processor');
      const drained = await api.drainNode('node-c', 'test: drain mid-run');
      assert.deepEqual(drained.failed, [], 'every move succeeded');
      const after = await api.environment(env.id);
      assert.equal(after.state, 'RUNNING');
      for (const name of onC) {
        const t = after.tasks.find((x) => x.name === name)!;
        assert.notEqual(t.node, 'node-c', `${name} left the drained node`);
        assert.equal(t.state, 'RUNNING', `${name} runs on ${t.node}`);
      }
      assert.ok((await api.agents()).find((a) => a.node === 'node-c')?.cordoned, 'shown drained');
      const before = (await api.runBalance(running.run!)).reconciliation!.processed.hits;
      await until(
        'hits to go on being processed after the drain',
        async () =>
          ((await api.runBalance(running.run!)).reconciliation?.processed.hits ?? 0) > before + 5000,
        120_000,
      );
      await api.uncordonNode('node-c');

      await api.transition(env.id, 'STOP_ACTIVITY');
      const balance = (await api.runBalance(running.run!)).reconciliation!;
      assert.equal(balance.lost, 0, JSON.stringify(balance));
      assert.ok(balance.produced.words > 0);
      const stored = inspectRun(runDir(join(dir, 'data'), running.run!));
      assert.ok(stored.events > 0, 'events stored');
      assert.equal(stored.duplicateIds, 0, 'no event stored twice across the move');
      await api.transition(env.id, 'EXIT');
    } catch (err) {
      throw new Error(`${String(err)}\nlast lines:\n${lines.slice(-40).join('\n')}`, { cause: err });
    } finally {
      for (const p of procs.reverse()) {
        if (p.exitCode === null && p.signalCode === null) {
          p.kill('SIGTERM');
          await new Promise((r) => {
            const t = setTimeout(() => (p.kill('SIGKILL'), r(undefined)), 10_000);
            p.once('exit', () => (clearTimeout(t), r(undefined)));
          });
        }
      }
      if (kafka !== undefined) await stopLocalKafka(kafka);
      net.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
