/**
 * A real Apache Kafka for the testbed and the tests: one KRaft node (broker + controller), or a local
 * cluster of several (`startLocalKafkaCluster`: one static quorum, replication 3 / min ISR 2 with three).
 *
 * The broker comes from Maven Central via deploy/local/kafka/pom.xml (fetched once into a git-ignored
 * cache), runs on 127.0.0.1 with free ports and a temporary data directory, and is stopped with SIGTERM
 * (SIGKILL after a timeout) so nothing is left behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaqError } from '../../protocol/errors.js';
import { envString } from '../../lib/env.js';
import { KafkaClient } from '../../lib/kafka.js';
import { replicationFor } from '../../lib/topics.js';
import { projectRoot } from '../../lib/paths.js';

export interface LocalKafka {
  readonly pid: number;
  readonly brokers: readonly string[];
  readonly controllerPort: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly startedAt: string;
  /** A member of a local cluster: its node id (absent for a single broker). */
  readonly nodeId?: number;
}

export interface StartOptions {
  /** Where the broker keeps its log segments; default: a new temporary directory, removed on stop. */
  readonly dataDir?: string;
  readonly readyTimeoutMs?: number;
  /** Progress lines for a human ("fetching Kafka jars…"). */
  readonly progress?: (line: string) => void;
  /**
   * The address the broker listens on and advertises; default 127.0.0.1. The multi-node tests give the
   * address of a bridge that network namespaces reach (docs/multi-node.md).
   */
  readonly host?: string;
}

const JVM_MARKER = '-Ddaqops.local-kafka=';
const KAFKA_DIR = (): string => join(projectRoot(), 'deploy', 'local', 'kafka');
const LIB_DIR = (): string => join(KAFKA_DIR(), '.cache', 'lib');
const STAMP = (): string => join(LIB_DIR(), '.pom-sha256');

/** Fails with a message that says what to install when java (17+) is missing. */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error !== undefined) {
    throw new DaqError(
      'PREREQUISITE_MISSING',
      'java was not found on PATH: the local Kafka broker needs a JDK 17 or newer (Debian: apt-get install -y openjdk-17-jdk-headless)',
      { cause: r.error },
    );
  }
  const m = /version "(\d+)/.exec(`${r.stderr}${r.stdout}`);
  const major = m?.[1] === undefined ? 0 : Number(m[1]);
  if (major < 17) {
    throw new DaqError(
      'PREREQUISITE_MISSING',
      `java ${major || '(unknown version)'} found; Kafka 4.x needs Java 17 or newer`,
    );
  }
}

/**
 * Makes sure the broker jars are in the cache. Runs Maven only when the cache is missing or was made from a
 * different pom.xml, so a second run needs no network (and no mvn).
 */
export function ensureKafkaJars(progress: (line: string) => void = () => {}): string {
  const pom = join(KAFKA_DIR(), 'pom.xml');
  const want = createHash('sha256').update(readFileSync(pom)).digest('hex');
  if (existsSync(STAMP()) && readFileSync(STAMP(), 'utf8').trim() === want) return LIB_DIR();
  const mvn = spawnSync('mvn', ['--version'], { encoding: 'utf8' });
  if (mvn.error !== undefined) {
    throw new DaqError(
      'PREREQUISITE_MISSING',
      'mvn was not found on PATH: the first start fetches the Kafka broker with Maven (Debian: apt-get install -y maven)',
      { cause: mvn.error },
    );
  }
  progress('fetching the Apache Kafka broker with Maven (first run only)…');
  rmSync(LIB_DIR(), { recursive: true, force: true });
  const r = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pom,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${LIB_DIR()}`,
      '-DincludeScope=runtime',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (r.status !== 0) {
    throw new DaqError(
      'KAFKA_START_FAILED',
      `mvn could not fetch the Kafka jars:\n${tail(`${r.stdout}${r.stderr}`, 30)}`,
    );
  }
  if (!readdirSync(LIB_DIR()).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new DaqError('KAFKA_START_FAILED', `mvn finished but ${LIB_DIR()} holds no kafka_2.13 jar`);
  }
  writeFileSync(STAMP(), `${want}\n`);
  return LIB_DIR();
}

/** A port nobody listens on right now (bind to 0, read, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Kafka's cluster ids are 16 random bytes in unpadded base64url. One that starts with "-" would be read by
 * kafka-storage's argument parser as an option (1 start in 64 failed that way), so such ids are drawn again.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** One KRaft node's ports and place; in a cluster, every node is broker and controller (a static quorum). */
interface NodeLayout {
  readonly nodeId: number;
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly host: string;
  readonly logDir: string;
  /** `id@host:port` of every controller of the quorum. */
  readonly voters: string;
  /** How many brokers the cluster has: the replication its internal topics and new topics get. */
  readonly clusterSize: number;
}

function serverProperties(n: NodeLayout): string {
  const { brokerPort, controllerPort, logDir, host } = n;
  // The brokers' defaults follow daqops' own rule for a cluster of this size (up to 3 copies, one to spare).
  const { replication, minInsync } = replicationFor(n.clusterSize, {});
  return [
    'process.roles=broker,controller',
    `node.id=${n.nodeId}`,
    `controller.quorum.voters=${n.voters}`,
    `listeners=PLAINTEXT://${host}:${brokerPort},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=4',
    // Topics are created explicitly (lib/kafka ensureTopics) so a typo never creates a stray topic.
    'auto.create.topics.enable=false',
    // One broker: one copy of everything. Three: three copies, two in sync to acknowledge (acks=all), so
    // one broker may be lost without losing a write or stopping one (docs/decisions.md "Local Kafka").
    `default.replication.factor=${replication}`,
    `min.insync.replicas=${minInsync}`,
    `offsets.topic.replication.factor=${replication}`,
    'offsets.topic.num.partitions=4',
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${minInsync}`,
    `share.coordinator.state.topic.replication.factor=${replication}`,
    `share.coordinator.state.topic.min.isr=${minInsync}`,
    'group.initial.rebalance.delay.ms=0',
    // One record batch may hold up to 8 MiB (protocol/topics.ts BROKER_MAX_MESSAGE_BYTES); the stages
    // keep every record under 7 MiB and librdkafka every produce request under this limit.
    'message.max.bytes=8388608',
    'replica.fetch.max.bytes=8388608',
    // A produce or fetch request larger than this closes the connection; 100 MiB (Kafka's default) is
    // far above anything a client here sends, so a misbehaving client cannot make the broker buffer more.
    'socket.request.max.bytes=104857600',
    // Network threads read and write sockets, I/O threads append to the log. Two cores run the broker,
    // the readouts, processors and writer: more threads than cores only adds context switches, fewer
    // leaves a produce request waiting while a fetch is served.
    'num.network.threads=2',
    'num.io.threads=2',
    'num.replica.fetchers=1',
    // Socket buffers of 1 MiB: 1 MiB sub-timeframes go in one read instead of many 100 KiB ones.
    'socket.send.buffer.bytes=1048576',
    'socket.receive.buffer.bytes=1048576',
    // 128 MiB segments: fewer files to roll at 300 MB/s; the OS page cache does the flushing (no
    // log.flush.* settings: durability comes from acks, as in any Kafka deployment).
    'log.segment.bytes=134217728',
    // A restarted broker loads its logs and the group offsets with all cores, so clients resume sooner.
    'num.recovery.threads.per.data.dir=2',
    '',
  ].join('\n');
}

function log4jProperties(logFile: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${logFile}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
    'logger.kafka.name = kafka',
    'logger.kafka.level = INFO',
    'logger.state.name = state.change.logger',
    'logger.state.level = WARN',
    '',
  ].join('\n');
}

/** Starts a broker and resolves once it answers a metadata request. */
export async function startLocalKafka(options: StartOptions = {}): Promise<LocalKafka> {
  const progress = options.progress ?? (() => {});
  checkJava();
  const lib = ensureKafkaJars(progress);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'daqops-kafka-'));
  mkdirSync(dataDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const [ports] = await nodePorts(host, 1);
  const node = formatNode(
    lib,
    dataDir,
    {
      nodeId: 1,
      ...ports!,
      host,
      logDir: join(dataDir, 'logs'),
      voters: `1@${host}:${ports!.controllerPort}`,
      clusterSize: 1,
    },
    newClusterId(),
    progress,
  );
  const started = spawnNode(node, progress);
  return untilAnswers(started, options);
}

/** A local cluster of KRaft nodes (`daqops kafka up --brokers 3`): each broker and controller, one quorum. */
export interface LocalKafkaCluster {
  /** Every member, by node id (1..n): each its own process, data directory and ports. */
  readonly members: readonly LocalKafka[];
  /** Every member's address: what clients bootstrap from. */
  readonly brokers: readonly string[];
  /** Holds one directory per member (`broker-<id>`). */
  readonly dataDir: string;
  readonly replication: number;
  readonly minInsync: number;
}

/**
 * Starts `size` KRaft nodes that form one cluster: a static quorum of all of them as controllers (a
 * majority must be up: 2 of 3), every one a broker. Resolves once every member answers and the cluster
 * lists them all. Replication as `replicationFor(size)` says (3 nodes: 3 copies, min ISR 2).
 */
export async function startLocalKafkaCluster(
  size: number,
  options: StartOptions = {},
): Promise<LocalKafkaCluster> {
  if (!Number.isInteger(size) || size < 1 || size > 9)
    throw new DaqError('INVALID_CONFIG', `a local cluster has 1 to 9 brokers, not ${size}`, {
      field: 'brokers',
    });
  const progress = options.progress ?? (() => {});
  checkJava();
  const lib = ensureKafkaJars(progress);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'daqops-kafka-cluster-'));
  mkdirSync(dataDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const ports = await nodePorts(host, size);
  const voters = ports.map((p, i) => `${i + 1}@${host}:${p.controllerPort}`).join(',');
  const clusterId = newClusterId();
  const nodes = ports.map((p, i) =>
    formatNode(
      lib,
      join(dataDir, `broker-${i + 1}`),
      {
        nodeId: i + 1,
        ...p,
        host,
        logDir: join(dataDir, `broker-${i + 1}`, 'logs'),
        voters,
        clusterSize: size,
      },
      clusterId,
      progress,
    ),
  );
  // All at once: a member waits for a majority of the quorum before it answers.
  const started = nodes.map((n) => spawnNode(n, progress));
  const members: LocalKafka[] = [];
  try {
    for (const st of started) members.push(await untilAnswers(st, options));
    await untilListed(
      members.flatMap((m) => m.brokers),
      size,
      options.readyTimeoutMs ?? 90_000,
    );
  } catch (err) {
    await Promise.all(started.map((st) => stopLocalKafka(st.kafka)));
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { replication, minInsync } = replicationFor(size, {});
  return { members, brokers: members.flatMap((m) => m.brokers), dataDir, replication, minInsync };
}

/** Stops every member of a local cluster and removes its data (`removeData`, default true). */
export async function stopLocalKafkaCluster(
  c: Pick<LocalKafkaCluster, 'members' | 'dataDir'>,
  options: { removeData?: boolean } = {},
): Promise<void> {
  const removeData = options.removeData ?? true;
  await Promise.all(c.members.map((m) => stopLocalKafka(m, { removeData })));
  if (removeData) rmSync(c.dataDir, { recursive: true, force: true });
}

/**
 * Starts a stopped (or killed) local broker again on its own data directory and ports, so its topics,
 * offsets and clients' broker list stay what they were (`daqops kafka start`, the outage tests). A cluster
 * member rejoins its cluster the same way (while a majority of the quorum is up: else see
 * restartLocalKafkaMembers).
 */
export async function restartLocalKafka(
  k: LocalKafka,
  options: Omit<StartOptions, 'dataDir'> = {},
): Promise<LocalKafka> {
  return (await restartLocalKafkaMembers([k], options))[0]!;
}

/**
 * Starts the members that are not running, all at once, on their data and ports, and resolves once each
 * answers: members of a quorum that lost its majority only answer once enough of them are back.
 */
export async function restartLocalKafkaMembers(
  members: readonly LocalKafka[],
  options: Omit<StartOptions, 'dataDir'> = {},
): Promise<LocalKafka[]> {
  const progress = options.progress ?? (() => {});
  checkJava();
  const lib = ensureKafkaJars(progress);
  const started = members.map((k) => {
    if (isLocalKafkaProcess(k.pid, k.dataDir)) return k;
    const [host, port] = (k.brokers[0] ?? '127.0.0.1:0').split(':');
    return spawnNode(
      {
        lib,
        dataDir: k.dataDir,
        host: host!,
        brokerPort: Number(port),
        controllerPort: k.controllerPort,
        logFile: k.logFile,
        propsFile: join(k.dataDir, 'server.properties'),
        log4jFile: join(k.dataDir, 'log4j2.properties'),
        ...(k.nodeId === undefined ? {} : { nodeId: k.nodeId }),
      },
      progress,
    );
  });
  const out: LocalKafka[] = [];
  for (const st of started) out.push('exited' in st ? await untilAnswers(st, options) : st);
  return out;
}

/** Free, distinct broker and controller ports for `n` nodes. */
async function nodePorts(host: string, n: number): Promise<{ brokerPort: number; controllerPort: number }[]> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const p = await freePort(host);
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const out: { brokerPort: number; controllerPort: number }[] = [];
  for (let i = 0; i < n; i++) out.push({ brokerPort: await next(), controllerPort: await next() });
  return out;
}

interface FormattedNode {
  readonly lib: string;
  readonly dataDir: string;
  readonly host: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly logFile: string;
  readonly propsFile: string;
  readonly log4jFile: string;
  readonly nodeId?: number;
}

/** Writes a node's configuration into `dataDir` and formats its storage for `clusterId`. */
function formatNode(
  lib: string,
  dataDir: string,
  layout: NodeLayout,
  clusterId: string,
  progress: (line: string) => void,
): FormattedNode {
  mkdirSync(dataDir, { recursive: true });
  const propsFile = join(dataDir, 'server.properties');
  const log4jFile = join(dataDir, 'log4j2.properties');
  const logFile = join(dataDir, 'server.log');
  writeFileSync(propsFile, serverProperties(layout));
  writeFileSync(log4jFile, log4jProperties(logFile));
  progress(
    layout.clusterSize > 1
      ? `formatting KRaft storage of node ${layout.nodeId}…`
      : 'formatting KRaft storage…',
  );
  const fmt = spawnSync(
    'java',
    [
      '-cp',
      `${lib}/*`,
      `-Dlog4j2.configurationFile=${log4jFile}`,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      propsFile,
    ],
    { encoding: 'utf8' },
  );
  if (fmt.status !== 0) {
    throw new DaqError(
      'KAFKA_START_FAILED',
      `kafka-storage format failed:\n${tail(`${fmt.stdout}${fmt.stderr}`, 30)}`,
    );
  }
  return {
    lib,
    dataDir,
    host: layout.host,
    brokerPort: layout.brokerPort,
    controllerPort: layout.controllerPort,
    logFile,
    propsFile,
    log4jFile,
    ...(layout.clusterSize > 1 ? { nodeId: layout.nodeId } : {}),
  };
}

interface StartedNode {
  readonly kafka: LocalKafka;
  /** Why the process ended, once it has. */
  readonly exited: () => string | undefined;
}

/** Spawns a node's JVM on its formatted data directory (not waiting for it). */
function spawnNode(l: FormattedNode, progress: (line: string) => void): StartedNode {
  const { dataDir, host, brokerPort, controllerPort, logFile, propsFile } = l;
  progress(`starting the broker on ${host}:${brokerPort}…`);
  // A cluster's members share the machine: each gets less heap than a broker alone.
  const heap = envString('DAQOPS_KAFKA_HEAP') ?? (l.nodeId === undefined ? '768m' : '512m');
  const outFd = openSync(join(dataDir, 'stdout.log'), 'a');
  const child = spawn(
    'java',
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `${JVM_MARKER}${dataDir}`,
      `-Dlog4j2.configurationFile=${l.log4jFile}`,
      '-cp',
      `${l.lib}/*`,
      'kafka.Kafka',
      propsFile,
    ],
    { detached: true, stdio: ['ignore', outFd, outFd] },
  );
  closeSync(outFd);
  const pid = child.pid;
  if (pid === undefined) throw new DaqError('KAFKA_START_FAILED', 'java did not start');
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
  });
  child.unref();
  return {
    kafka: {
      pid,
      brokers: [`${host}:${brokerPort}`],
      controllerPort,
      dataDir,
      logFile,
      startedAt: new Date().toISOString(),
      ...(l.nodeId === undefined ? {} : { nodeId: l.nodeId }),
    },
    exited: () => exited,
  };
}

/** Resolves once the node answers a metadata request; stops it and fails when it does not in time. */
async function untilAnswers(st: StartedNode, options: Omit<StartOptions, 'dataDir'>): Promise<LocalKafka> {
  const { kafka } = st;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
  const client = new KafkaClient({
    brokers: kafka.brokers,
    clientId: 'daqops-kafka-probe',
    log: () => {},
  });
  try {
    for (;;) {
      const exited = st.exited();
      if (exited !== undefined) {
        throw new DaqError(
          'KAFKA_START_FAILED',
          `the broker stopped during start (${exited}):\n${brokerLogTail(kafka)}`,
        );
      }
      try {
        await client.ping(1000);
        return kafka;
      } catch {
        if (Date.now() > deadline) {
          await stopLocalKafka(kafka);
          throw new DaqError(
            'TIMEOUT',
            `the broker did not answer within ${options.readyTimeoutMs ?? 90_000} ms:\n${brokerLogTail(kafka)}`,
          );
        }
        await sleep(250);
      }
    }
  } finally {
    await client.close();
  }
}

/** Resolves once the cluster's metadata lists `size` brokers. */
async function untilListed(brokers: readonly string[], size: number, timeoutMs: number): Promise<void> {
  const client = new KafkaClient({
    brokers,
    clientId: 'daqops-kafka-probe',
    log: () => {},
    requestTimeoutMs: 2000,
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const listed = (await client.describeCluster([]).catch(() => ({ brokers: [] }))).brokers.length;
      if (listed >= size) return;
      if (Date.now() > deadline)
        throw new DaqError(
          'TIMEOUT',
          `the local cluster lists ${listed} of ${size} brokers after ${timeoutMs} ms`,
        );
      await sleep(250);
    }
  } finally {
    await client.close();
  }
}

/** The last lines of the broker's log and stdout, for error messages. */
export function brokerLogTail(k: Pick<LocalKafka, 'dataDir' | 'logFile'>, lines = 25): string {
  const parts: string[] = [];
  for (const f of [k.logFile, join(k.dataDir, 'stdout.log')]) {
    if (existsSync(f)) parts.push(tail(readFileSync(f, 'utf8'), lines));
  }
  return parts.join('\n');
}

/** True when `pid` is a live (not zombie) local broker started by daqops, for `dataDir` when given. */
export function isLocalKafkaProcess(pid: number, dataDir?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) =>
      dataDir === undefined ? a.startsWith(JVM_MARKER) : a === `${JVM_MARKER}${dataDir}`,
    );
  } catch {
    return false;
  }
}

/** Every live local broker daqops started on this machine, with its data directory. */
export function findLocalKafkaProcesses(): { pid: number; dataDir: string }[] {
  const found: { pid: number; dataDir: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (!isLocalKafkaProcess(pid)) continue;
    try {
      const arg = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .find((a) => a.startsWith(JVM_MARKER));
      if (arg !== undefined) found.push({ pid, dataDir: arg.slice(JVM_MARKER.length) });
    } catch {
      // The process ended while we looked: nothing to report.
    }
  }
  return found;
}

/**
 * Stops a broker: SIGTERM (Kafka's controlled shutdown), SIGKILL after `timeoutMs`, then removes the data
 * directory when `removeData` (default true) — the broker's data is test data here.
 */
export async function stopLocalKafka(
  k: Pick<LocalKafka, 'pid' | 'dataDir'>,
  options: { timeoutMs?: number; removeData?: boolean } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (isLocalKafkaProcess(k.pid, k.dataDir)) {
    signal(k.pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (isLocalKafkaProcess(k.pid, k.dataDir) && Date.now() < deadline) await sleep(100);
    if (isLocalKafkaProcess(k.pid, k.dataDir)) {
      signal(-k.pid, 'SIGKILL');
      signal(k.pid, 'SIGKILL');
      const killDeadline = Date.now() + 10_000;
      while (isLocalKafkaProcess(k.pid, k.dataDir) && Date.now() < killDeadline) await sleep(50);
    }
  }
  if (options.removeData ?? true) rmSync(k.dataDir, { recursive: true, force: true });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
