/**
 * Several nodes on one machine as real processes (docs/multi-node.md): a broker and a platform on the
 * bridge of a NodeNetwork, one agent per node in that node's network namespace, each with its own
 * topology file. `stop()` ends every process, the broker and the namespaces, also after a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
import { ENVIRONMENT_ENV_MARKER, TASK_ENV_MARKER } from '../../agent/task-process.js';
import { NodeNetwork, type NetworkNode } from './netns.js';
import { until } from './until.js';

export interface ClusterNode {
  readonly name: string;
  /** The node's device list in topology-file YAML, e.g. `[{ name: board-a, numaNode: 0, links: [0] }]`. */
  readonly devices: string;
}

export interface Cluster {
  readonly api: PlatformClient;
  readonly net: NodeNetwork;
  readonly kafka: LocalKafka;
  /** What the processes printed on stderr, newest last (bounded), each line prefixed with its process. */
  readonly lines: string[];
  node(name: string): NetworkNode;
  /** Cuts a node off the bridge (platform and broker both), or heals it. */
  cut(name: string, off: boolean): void;
  /** The node dies: every process in its namespace (the agent and the workloads it spawned) SIGKILLed. */
  kill(name: string): Promise<void>;
  /** Where each task runs as a process, read from /proc: `environment/task` → the nodes holding a copy. */
  copies(): Map<string, string[]>;
  stop(): Promise<void>;
}

function topology(node: string, devices: string): string {
  return `node: ${node}\nnuma:\n  - id: 0\n    cpus: "0-1"\n    memoryGiB: 8\ndevices: ${devices}\n`;
}

/** The pids of the processes running in a network namespace. */
function namespacePids(namespace: string): number[] {
  const out = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts the broker, the platform and one agent per node; on a failure half-way, stops what started. */
export async function startCluster(
  dir: string,
  nodes: readonly ClusterNode[],
  o: { platformArgs?: readonly string[] } = {},
): Promise<Cluster> {
  const net = new NodeNetwork();
  const procs: ChildProcess[] = [];
  const lines: string[] = [];
  let kafka: LocalKafka | undefined;
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const run = (who: string, argv: string[], env: NodeJS.ProcessEnv): ChildProcess => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...processMemoryEnv(), DAQOPS_HOME: home, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (t: string) => {
      for (const l of t.split('\n')) if (l.trim() !== '' && lines.push(`${who}: ${l}`) > 3000) lines.shift();
    });
    procs.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => (p.kill('SIGKILL'), r(undefined)), 10_000);
          p.once('exit', () => (clearTimeout(t), r(undefined)));
        });
      }
    }
    // Workloads outlive a killed agent by design (it adopts them again): end what is left in each node.
    for (const n of net.nodes) for (const pid of namespacePidsOrNone(n.namespace)) killQuietly(pid);
    if (kafka !== undefined) await stopLocalKafka(kafka);
    net.remove();
  };
  try {
    net.create();
    const netNodes = nodes.map((n) => net.addNode(n.name));
    kafka = await startLocalKafka({ host: net.hubAddress });
    const { command, args } = daqopsCommand();
    const tokensFile = join(home, 'tokens.yaml');
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
        join(home, 'platform.db'),
        '--tokens',
        tokensFile,
        '--brokers',
        kafka.brokers.join(','),
        ...(o.platformArgs ?? []),
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
    for (const [i, n] of netNodes.entries()) {
      const file = join(dir, `${n.name}.yaml`);
      writeFileSync(file, topology(n.name, nodes[i]!.devices));
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
      `${nodes.length} agents to join over their own interfaces`,
      async () => (await api.agents()).filter((a) => a.connected).length === nodes.length,
      60_000,
    );
    const broker = kafka;
    const node = (name: string): NetworkNode => {
      const n = net.nodes.find((x) => x.name === name);
      if (n === undefined) throw new Error(`no node ${name} in the cluster`);
      return n;
    };
    return {
      api,
      net,
      kafka: broker,
      lines,
      node,
      cut: (name, off) => net.setLink(node(name), !off),
      kill: async (name) => {
        const ns = node(name).namespace;
        for (const pid of namespacePids(ns)) killQuietly(pid);
        await until(
          'every process of the node to be gone',
          () => namespacePids(ns).every((p) => !alive(p)),
          10_000,
        );
      },
      copies: () => {
        const where = new Map<string, string[]>();
        for (const n of net.nodes) {
          const here = new Set<string>();
          for (const pid of namespacePidsOrNone(n.namespace)) {
            const task = taskOf(pid);
            if (task !== undefined) here.add(task);
          }
          for (const t of here) where.set(t, [...(where.get(t) ?? []), n.name]);
        }
        return where;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function namespacePidsOrNone(namespace: string): number[] {
  try {
    return namespacePids(namespace);
  } catch {
    return [];
  }
}

/** `environment/task` of a workload process (the agent's markers in its environment), if it is one. */
function taskOf(pid: number): string | undefined {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  const vars = new Map<string, string>();
  for (const kv of environ.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) vars.set(kv.slice(0, i), kv.slice(i + 1));
  }
  const task = vars.get(TASK_ENV_MARKER);
  return task === undefined ? undefined : `${vars.get(ENVIRONMENT_ENV_MARKER) ?? ''}/${task}`;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
