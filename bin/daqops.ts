#!/usr/bin/env node
/** The `daqops` command. Thin on purpose: parse flags, call into deploy/, agent/ or platform/, print. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { setFlagsFromString } from 'node:v8';
import { heapGrowingPercent, projectRoot } from '../lib/paths.js';
import { DaqError, isDaqError } from '../protocol/errors.js';
import { applyOverrides, readConfigFile } from '../lib/config.js';
import { envBrokerList, envString } from '../lib/env.js';
import { installFatalHandlers } from '../lib/fatal.js';
import { parseWorkloadConfig, workloadKinds, type WorkloadKind } from '../agent/workloads/config.js';
import type { AgentCliOptions } from '../agent/agent-cli.js';
import type { PlatformCliOptions } from '../platform/platform-cli.js';
import { agentLine, drainText, envDetail, envLine, runLine } from '../platform/api/format.js';

// Each command loads only what it needs: an agent or a workload process does not carry the Kafka
// client, Arrow or the testbed in memory unless it uses them.
const kafkaState = () => import('../deploy/local/kafka-state.js');
const testbed = () => import('../deploy/local/testbed.js');
const kafkaLib = () => import('../lib/kafka.js');
const reconcileLib = () => import('../lib/reconcile.js');
const runWorkloadLib = () => import('../agent/workloads/run-workload.js');
const taskRuntime = () => import('../agent/workloads/task-runtime.js');
const topologyLib = () => import('../agent/topology.js');
const agentCli = () => import('../agent/agent-cli.js');
const inspectLib = () => import('../agent/workloads/writer/inspect.js');

/** --brokers, else DAQOPS_KAFKA_BROKERS, else the broker `daqops kafka up` started. */
async function brokers(flag: string | undefined): Promise<string[] | undefined> {
  if (flag !== undefined) return flag.split(',').map((b) => b.trim());
  return (
    envBrokerList('DAQOPS_KAFKA_BROKERS') ??
    ((await kafkaState()).runningLocalKafka()?.brokers as string[] | undefined)
  );
}

// No daqops process dies of a stack trace: what nothing handled becomes an ERS Fatal and exit code 70.
installFatalHandlers(`daqops-${process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'cli'}`);

// V8 reads its heap growing factor at every full collection, so setting it here takes effect from the
// first one (docs/agent.md "Memory").
const growing = heapGrowingPercent();
if (growing > 0) setFlagsFromString(`--heap-growing-percent=${growing}`);

const collect = (v: string, acc: string[]): string[] => [...acc, v];

/** A broker count or node id in [1, 9] from an option, or INVALID_CONFIG naming the option. */
function brokerCount(v: string, option: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 9)
    throw new DaqError('INVALID_CONFIG', `${option} must be a whole number from 1 to 9, got "${v}"`, {
      field: option,
    });
  return n;
}

/** "broker 2 " for a member of a local cluster, "" for a single broker. */
const memberName = (k: { nodeId?: number }): string => (k.nodeId === undefined ? '' : `broker ${k.nodeId} `);

/** A local broker or cluster in one line: addresses, processes, data. */
function describeLocal(s: {
  cluster: boolean;
  brokers: readonly string[];
  dataDir: string;
  members: readonly { pid: number; nodeId?: number }[];
}): string {
  if (!s.cluster) return `${s.brokers.join(',')} (pid ${s.members[0]!.pid}, data ${s.dataDir})`;
  return `${s.brokers.join(',')} (${s.members.length} brokers, pids ${s.members.map((m) => m.pid).join(', ')}; data ${s.dataDir})`;
}

/** A number of seconds in [0, 3600] from an option, or INVALID_CONFIG naming the option. */
function boundedSeconds(v: string, option: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 3600)
    throw new DaqError('INVALID_CONFIG', `${option} must be a number of seconds in [0, 3600], got "${v}"`, {
      field: option,
    });
  return n;
}

const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

const program = new Command()
  .name('daqops')
  .description('Observability-first DAQ platform: run control, per-node agent, trigger-less Kafka data path')
  .version(pkg.version);

const kafka = program
  .command('kafka')
  .description('the local single-node Kafka broker (KRaft) used by the testbed');
kafka
  .command('up')
  .description(
    'start a local broker on 127.0.0.1, or a local cluster with --brokers 3 (fetches Kafka with Maven on first use)',
  )
  .option(
    '--brokers <n>',
    'how many brokers (1–9): 3 makes a cluster with replication 3, min ISR 2 (one broker may be lost)',
    (v) => brokerCount(v, '--brokers'),
    1,
  )
  .action(async (opts: { brokers: number }) => {
    const r = await (await kafkaState()).kafkaUp((l) => console.error(l), opts.brokers);
    if (r.kind === 'external')
      console.log(`DAQOPS_KAFKA_BROKERS is set (${r.brokers.join(',')}): starting nothing`);
    else if (r.kind === 'already-running') console.log(`already running: ${describeLocal(r.kafka)}`);
    else console.log(`started: ${describeLocal(r.kafka)}`);
  });
kafka
  .command('stop')
  .description(
    'stop the local broker (or one member with --broker N) but keep its data and ports (rehearse an outage; `kafka start` resumes)',
  )
  .option('--broker <n>', 'only this member of a local cluster (its node id, 1–9)', (v) =>
    brokerCount(v, '--broker'),
  )
  .action(async (opts: { broker?: number }) => {
    const stopped = await (await kafkaState()).kafkaStop(opts.broker);
    if (stopped.length === 0) console.log('no local broker is running');
    for (const k of stopped)
      console.log(`stopped: ${memberName(k)}${k.brokers.join(',')} (data kept in ${k.dataDir})`);
  });
kafka
  .command('start')
  .description(
    'start what `kafka stop` (or a crash) left, on the same data and ports (one member with --broker N)',
  )
  .option('--broker <n>', 'only this member of a local cluster (its node id, 1–9)', (v) =>
    brokerCount(v, '--broker'),
  )
  .action(async (opts: { broker?: number }) => {
    const k = await (await kafkaState()).kafkaStart((l) => console.error(l), opts.broker);
    if (k === undefined) {
      console.error('no stopped local broker to start: `daqops kafka up` starts a new one');
      process.exitCode = 1;
    } else console.log(`started: ${describeLocal(k)}`);
  });
kafka
  .command('down')
  .description('stop the local broker and remove its data')
  .option('--all', 'also stop every other local broker daqops started on this machine')
  .action(async (opts: { all?: boolean }) => {
    const pids = await (await kafkaState()).kafkaDown(opts.all === true);
    console.log(pids.length === 0 ? 'no local broker was running' : `stopped pid ${pids.join(', ')}`);
  });
kafka
  .command('status')
  .description('which Kafka daqops uses and whether it answers')
  .option('--json', 'print JSON')
  .option('--namespace <ns>', "also what this environment's topics survive now")
  .action(async (opts: { json?: boolean; namespace?: string }) => {
    const s = await (await kafkaState()).kafkaStatus(opts.namespace);
    if (opts.json === true) console.log(JSON.stringify(s, null, 2));
    else if (s.source === 'none') console.log('no Kafka: run `daqops kafka up` or set DAQOPS_KAFKA_BROKERS');
    else {
      console.log(
        `${s.source} Kafka at ${s.brokers.join(',')}${s.pid === undefined ? '' : ` (pid ${s.pid})`}: ${s.reachable ? `reachable, ${s.topics} topics${s.listed === undefined ? '' : `, ${s.listed} broker${s.listed === 1 ? '' : 's'} listed`}` : `NOT reachable: ${s.error}`}`,
      );
      for (const m of s.members ?? [])
        console.log(
          `  broker ${m.broker} at ${m.address}: ${m.running ? `running (pid ${m.pid})` : 'stopped'}`,
        );
      const r = s.replication;
      if (r !== undefined)
        console.log(
          'error' in r
            ? `  namespace topics: cannot be made here: ${r.error}`
            : `  namespace topics: replication ${r.replication}, min ISR ${r.minInsync}: ${(await import('../lib/topics.js')).mayBeLost(r.replication - r.minInsync)}`,
        );
      if (s.namespace !== undefined)
        console.log(
          `  ${s.namespace.name}: ${s.namespace.topics === 0 ? 'no topics yet' : `${s.namespace.topics} topics, ${s.namespace.text} now${s.namespace.weakest === undefined ? '' : ` (least to spare: ${s.namespace.weakest})`}`}`,
        );
    }
    if (s.source !== 'none' && !s.reachable) process.exitCode = 1;
  });

program
  .command('workload')
  .description('run one data-path workload in this process (what the agent starts)')
  .argument('<kind>', `one of ${workloadKinds.join(', ')}`)
  .option('-c, --config <file>', 'JSON or YAML workload configuration')
  .option(
    '--set <path=value>',
    'override a config field (repeatable), e.g. --set source.muonRateHz=500',
    collect,
    [],
  )
  .option('--brokers <list>', 'Kafka brokers host:port,… (default: DAQOPS_KAFKA_BROKERS or the local broker)')
  .option('--ipc', 'driven by the agent over IPC (task state machine) instead of running at once')
  .action(async (kind: string, opts: { config?: string; set: string[]; brokers?: string; ipc?: boolean }) => {
    if (!(workloadKinds as readonly string[]).includes(kind)) {
      throw new DaqError(
        'INVALID_CONFIG',
        `workload kind must be one of ${workloadKinds.join(', ')}, got "${kind}"`,
        { field: 'kind' },
      );
    }
    if (opts.ipc === true) {
      await (await taskRuntime()).runTaskRuntime(kind as WorkloadKind, await brokers(opts.brokers));
      return;
    }
    const raw = applyOverrides(opts.config === undefined ? {} : readConfigFile(opts.config), opts.set);
    const config = parseWorkloadConfig(kind as WorkloadKind, raw, await brokers(opts.brokers));
    const r = await (
      await runWorkloadLib()
    ).runWorkload(config, {
      onMetricsPort: (p) => console.error(`metrics on http://127.0.0.1:${p}/metrics`),
    });
    console.log(JSON.stringify({ kind, task: config.task, totals: r.totals }));
  });

const data = program.command('data').description('stored run data and data-path accounting');
data
  .command('inspect')
  .description('counts, drift-time distribution and occupancy of a stored run')
  .argument('<run-dir>', 'a runs/<run> directory written by the writer')
  .option('--json', 'print JSON')
  .action(async (dir: string, opts: { json?: boolean }) => {
    const { formatInspection, inspectRun } = await inspectLib();
    const r = inspectRun(dir);
    console.log(opts.json === true ? JSON.stringify(r, null, 2) : formatInspection(r));
  });
data
  .command('reconcile')
  .description('produced / processed / corrupt / in events / lost for a run, from the accounting records')
  .requiredOption('--namespace <ns>', 'topic namespace of the environment')
  .requiredOption('--run <n>', 'run number', (v) => Number.parseInt(v, 10))
  .option('--brokers <list>', 'Kafka brokers host:port,…')
  .option('--json', 'print JSON')
  .option(
    '--wait <seconds>',
    'how long to wait for Kafka when it does not answer (said on stderr), 0–3600',
    (v) => boundedSeconds(v, '--wait'),
    60,
  )
  .action(
    async (opts: { namespace: string; run: number; brokers?: string; json?: boolean; wait: number }) => {
      const b = await brokers(opts.brokers);
      if (b === undefined)
        throw new DaqError(
          'KAFKA_UNAVAILABLE',
          'no Kafka: pass --brokers, set DAQOPS_KAFKA_BROKERS or run `daqops kafka up`',
        );
      const { KafkaClient } = await kafkaLib();
      const { reconcileRun } = await reconcileLib();
      const { answeredWithin } = await import('../lib/poll.js');
      // The client's own log lines stay quiet: the wait says what matters, once and then every 10 s.
      const client = new KafkaClient({ brokers: b, clientId: 'daqops-reconcile', log: () => {} });
      const r = await answeredWithin(
        `reading ${opts.namespace}.monitoring`,
        () => reconcileRun(client, opts.namespace, opts.run),
        { waitMs: opts.wait * 1000, say: (l) => console.error(`daqops: ${l}`) },
      ).finally(() => client.close());
      console.log(
        opts.json === true ? JSON.stringify(r, null, 2) : (await reconcileLib()).formatReconciliation(r),
      );
      if (r.lost > 0) process.exitCode = 1;
    },
  );

const agentCmd = program
  .command('agent')
  .description('run the per-node agent: supervise pinned workloads, serve /metrics, link to the platform')
  .option('--platform <url>', 'platform WebSocket URL, e.g. ws://127.0.0.1:7070/api/v1/agents/ws')
  .option('--join-token <token>', 'token to join the platform (default: DAQOPS_JOIN_TOKEN)')
  .option('--topology-file <file>', 'describe a simulated node instead of discovering this one')
  .option('--node <name>', 'node name (default: the host name or the topology file)')
  .option('--metrics-port <port>', 'port of the node /metrics endpoint', (v) => Number.parseInt(v, 10), 9464)
  .option('--metrics-host <host>', 'address /metrics listens on', '127.0.0.1')
  .option('--ers-file <file>', 'ERS records as JSON lines (default .daqops/ers-<node>.jsonl)')
  .option('--heartbeat-ms <ms>', 'heartbeat interval', (v) => Number.parseInt(v, 10), 1000)
  .action(async (opts: AgentCliOptions) => {
    await (await agentCli()).runAgentCli(opts);
  });
agentCmd
  .command('topology')
  .description('print the node topology the agent would advertise')
  .option('--topology-file <file>', 'a simulated node')
  .option('--json', 'print JSON')
  .action(async (opts: { topologyFile?: string; json?: boolean }) => {
    const { discoverTopology, formatTopology, topologyFromFile } = await topologyLib();
    const t =
      opts.topologyFile === undefined ? await discoverTopology() : topologyFromFile(opts.topologyFile);
    console.log(opts.json === true ? JSON.stringify(t, null, 2) : formatTopology(t));
  });

program
  .command('platform')
  .description('run the central platform: run control, agent hub, HTTP API (state in SQLite)')
  .option('--port <port>', 'HTTP port', (v) => Number.parseInt(v, 10), 7070)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option(
    '--tokens <file>',
    'bearer tokens and the agents join token (default .daqops/tokens.yaml, generated)',
  )
  .option('--db <file>', 'SQLite state (default .daqops/platform.db)')
  .option('--brokers <list>', 'Kafka brokers for the environments (default DAQOPS_KAFKA_BROKERS)')
  .option('--runbooks <dir>', 'runbooks directory (default runbooks/)')
  .option(
    '--templates <dir>',
    'a directory of workflow templates (<name>.yaml); repeatable, searched in order (default deploy/templates/)',
    collect,
    [],
  )
  .option('--page-url <url>', 'on-call webhook for escalations (default DAQOPS_PAGE_URL)')
  .option('--page-routing-key <key>', 'routing key sent with each page', 'daqops')
  .option(
    '--settle-seconds <s>',
    'quiet time before a recovered incident resolves itself',
    (v) => Number.parseFloat(v),
    60,
  )
  .option('--window-seconds <s>', 'how close in time connected signals must be to join one incident', (v) =>
    Number.parseFloat(v),
  )
  .option('--prometheus-sd <file>', "keep a Prometheus file_sd file of the agents' /metrics targets")
  .option(
    '--grafana-url <url>',
    'where Grafana serves the dashboards (links on the web page; default DAQOPS_GRAFANA_URL)',
  )
  .action(async (opts: PlatformCliOptions) => {
    const { runPlatformCli } = await import('../platform/platform-cli.js');
    await runPlatformCli(opts);
  });

type ClientOpts = { url: string; token?: string; json?: boolean };
const client = async (o: ClientOpts) => {
  const { PlatformClient } = await import('../platform/api/client.js');
  return new PlatformClient(o.url, o.token ?? envString('DAQOPS_TOKEN'));
};
const withClient = (cmd: Command): Command =>
  cmd
    .option('--url <url>', 'platform URL', 'http://127.0.0.1:7070')
    .option('--token <token>', 'bearer token (default DAQOPS_TOKEN)')
    .option('--json', 'print JSON');
const show = (o: ClientOpts, value: unknown, text: () => string): void =>
  console.log(o.json === true ? JSON.stringify(value, null, 2) : text());
const envCmd = program.command('env').description('environments on the platform');
withClient(
  envCmd
    .command('create')
    .description(
      "create an environment from a workflow template: by name from the platform's templates, or a local YAML file",
    ),
)
  .option(
    '-t, --template <name>',
    "template name in the platform's template directories (daqops env templates)",
  )
  .option('-f, --file <template>', 'a workflow template (YAML) on this machine, uploaded to the platform')
  .option('--var <k=v>', 'template variable (repeatable)', collect, [])
  .action(async (o: ClientOpts & { template?: string; file?: string; var: string[] }) => {
    const { parseVarArgs } = await import('../platform/workflow/template.js');
    if ((o.template === undefined) === (o.file === undefined))
      throw new DaqError('BAD_REQUEST', 'give either --template NAME or --file FILE', { field: 'template' });
    const source = o.file !== undefined ? { yaml: readFileSync(o.file, 'utf8') } : { name: o.template ?? '' };
    const e = await (await client(o)).createEnvironment(source, parseVarArgs(o.var));
    show(o, e, () => envLine(e));
  });
withClient(
  envCmd.command('templates').description('the templates the platform creates environments from'),
).action(async (o: ClientOpts) => {
  const names = await (await client(o)).templates();
  show(o, names, () => names.join('\n') || 'no templates');
});
withClient(
  envCmd
    .command('transition')
    .description('DEPLOY, CONFIGURE, START_ACTIVITY, STOP_ACTIVITY, RESET, EXIT, GO_ERROR, RECOVER'),
)
  .argument('<id>')
  .argument('<event>')
  .action(async (id: string, event: string, o: ClientOpts) => {
    const e = await (await client(o)).transition(id, event);
    show(o, e, () => envLine(e));
  });
withClient(
  envCmd
    .command('fault')
    .description(
      "inject a drill fault into a RUNNING environment's emulated detector: noisy-channel, dead-chamber, rate-change, stalled-link, clear",
    ),
)
  .argument('<id>')
  .argument('<kind>')
  .option('--chamber <n>', 'chamber (noisy-channel, dead-chamber)')
  .option('--layer <n>', 'layer 1..4 (noisy-channel)')
  .option('--cell <n>', 'cell 1..16 (noisy-channel)')
  .option('--rate-hz <hz>', 'extra rate of the noisy channel (default 50000)')
  .option('--muon-rate-hz <hz>', 'new muon rate (rate-change)')
  .option('--noise-rate-hz <hz>', 'new noise rate per channel (rate-change)')
  .option('--link <n>', 'readout link (stalled-link)')
  .option('--at-seconds <s>', 'start this many seconds after the run started (default: now)')
  .option('--duration-seconds <s>', 'end after this long (default: until cleared or the run ends)')
  .action(async (id: string, kind: string, o: ClientOpts & Record<string, string | undefined>) => {
    // Numbers go as numbers, anything else as given: the platform checks the fault and names the field.
    const fields: [string, string][] = [
      ['chamber', 'chamber'],
      ['layer', 'layer'],
      ['cell', 'cell'],
      ['rateHz', 'rateHz'],
      ['muonRateHz', 'muonRateHz'],
      ['noiseRateHz', 'noiseRateHzPerChannel'],
      ['link', 'link'],
      ['atSeconds', 'atSeconds'],
      ['durationSeconds', 'durationSeconds'],
    ];
    const fault: Record<string, unknown> = { kind };
    for (const [opt, field] of fields) {
      const v = o[opt];
      if (v !== undefined) fault[field] = v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
    }
    const r = await (await client(o)).injectFault(id, fault);
    show(
      o,
      r,
      () =>
        `${kind} injected into ${r.tasks.join(', ')}${r.fault.atMs === undefined ? '' : ` from ${new Date(r.fault.atMs).toISOString()}`}`,
    );
  });
withClient(envCmd.command('list').description('all environments')).action(async (o: ClientOpts) => {
  const list = await (await client(o)).environments();
  show(o, list, () => (list.length === 0 ? 'no environments' : list.map(envLine).join('\n')));
});
withClient(envCmd.command('show').description('one environment with its tasks'))
  .argument('<id>')
  .action(async (id: string, o: ClientOpts) => {
    const e = await (await client(o)).environment(id);
    show(o, e, () => envDetail(e));
  });

withClient(program.command('agents').description('nodes whose agents joined the platform')).action(
  async (o: ClientOpts) => {
    const list = await (await client(o)).agents();
    show(o, list, () => list.map(agentLine).join('\n') || 'no agents');
  },
);

const nodeCmd = program.command('node').description('the nodes of the cluster: drain and uncordon');
withClient(
  nodeCmd
    .command('drain')
    .description(
      "no new tasks on NODE; running environments' tasks move off it without a stop (refused if a critical task is bound to its hardware)",
    ),
)
  .argument('<node>')
  .option('--reason <text>', 'why (kept in the audit log)')
  .action(async (node: string, o: ClientOpts & { reason?: string }) => {
    const r = await (await client(o)).drainNode(node, o.reason);
    show(o, r, () => drainText(r));
  });
withClient(nodeCmd.command('uncordon').description('let a drained NODE take tasks again'))
  .argument('<node>')
  .option('--reason <text>', 'why (kept in the audit log)')
  .action(async (node: string, o: ClientOpts & { reason?: string }) => {
    const r = await (await client(o)).uncordonNode(node, o.reason);
    show(o, r, () => `node ${r.node} takes tasks again`);
  });

const runCmd = program.command('run').description('the run registry');
withClient(runCmd.command('list').description('runs, newest first')).action(async (o: ClientOpts) => {
  const runs = await (await client(o)).runs();
  show(o, runs, () => runs.map(runLine).join('\n') || 'no runs');
});
withClient(runCmd.command('show').description('one run'))
  .argument('<run>')
  .action(async (run: string, o: ClientOpts) => {
    const c = await client(o);
    const r = await c.run(run);
    // A run still open: the platform's live balance, the one STOP and the testbed read.
    const balance = r.reconciliation === null ? await c.runBalance(run) : undefined;
    console.log(
      JSON.stringify(
        balance === undefined ? r : { ...r, reconciliation: balance.reconciliation, balance: balance.source },
        null,
        2,
      ),
    );
  });

const incidentsCmd = program
  .command('incidents')
  .description('incidents: one per fault, with root cause and timeline');
withClient(incidentsCmd.command('list').description('incidents, newest first'))
  .option('--state <state>', 'open, acknowledged or resolved')
  .action(async (o: ClientOpts & { state?: string }) => {
    const { incidentLine } = await import('../platform/incidents/format.js');
    const list = await (await client(o)).incidents(o.state);
    show(o, list, () => list.map(incidentLine).join('\n') || 'no incidents');
  });
withClient(incidentsCmd.command('show').description('one incident: root cause, signals, timeline'))
  .argument('<id>')
  .action(async (id: string, o: ClientOpts) => {
    const { formatIncident } = await import('../platform/incidents/format.js');
    const i = await (await client(o)).incident(id);
    show(o, i, () => formatIncident(i));
  });
for (const [verb, what] of [
  ['ack', 'acknowledge: you are on it'],
  ['resolve', 'resolve by hand'],
] as const) {
  withClient(incidentsCmd.command(verb).description(what))
    .argument('<id>')
    .option('--note <text>', 'a note for the timeline')
    .action(async (id: string, o: ClientOpts & { note?: string }) => {
      const { incidentLine } = await import('../platform/incidents/format.js');
      const c = await client(o);
      if (verb === 'ack' && o.note !== undefined) await c.note(id, o.note);
      const i = verb === 'ack' ? await c.acknowledge(id) : await c.resolve(id, o.note);
      show(o, i, () => incidentLine(i));
    });
}
withClient(incidentsCmd.command('note').description("add a note to an incident's timeline"))
  .argument('<id>')
  .argument('<text...>')
  .action(async (id: string, text: string[], o: ClientOpts) => {
    const { incidentLine } = await import('../platform/incidents/format.js');
    const i = await (await client(o)).note(id, text.join(' '));
    show(o, i, () => incidentLine(i));
  });

const runbookCmd = program.command('runbook').description('runbooks (runbooks/*.md)');
withClient(
  runbookCmd.command('run').description('walk a runbook on an incident, step by step, asking before each'),
)
  .argument('<name>')
  .requiredOption('--incident <n>', 'the incident the outcomes are recorded on', (v) =>
    Number.parseInt(v, 10),
  )
  .action(async (name: string, o: ClientOpts & { incident: number }) => {
    const [{ walkRunbook }, { createInterface }] = await Promise.all([
      import('../platform/runbooks/walk.js'),
      import('node:readline/promises'),
    ]);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const lines = rl[Symbol.asyncIterator]();
    try {
      const r = await walkRunbook(await client(o), name, o.incident, {
        ask: async (q) => {
          process.stdout.write(q);
          const next = await lines.next();
          return next.done === true ? 'q' : String(next.value).trim();
        },
        say: (l) => console.log(l),
      });
      console.log(
        `\n${r.ran} step(s) done, ${r.skipped} skipped, ${r.failed} failed${r.quit ? ', stopped early' : ''}`,
      );
      if (r.failed > 0) process.exitCode = 1;
    } finally {
      rl.close();
    }
  });

program
  .command('testbed')
  .description(
    'run the DT testbed under run control: Kafka, the platform, one agent; DEPLOY → CONFIGURE → START, live progress, STOP, run summary',
  )
  .option('--seconds <n>', 'how long the run takes data', (v) => Number.parseFloat(v), 30)
  .option('--muon-rate <hz>', 'muon rate', (v) => Number.parseFloat(v), 1000)
  .option('--noise-rate <hz>', 'noise rate per channel', (v) => Number.parseFloat(v), 200)
  .option('--data-dir <dir>', 'where the writer stores runs (default .daqops/data)')
  .option('--home <dir>', 'platform store, tokens and ERS files (default .daqops/testbed)')
  .option(
    '--inject <kind@seconds>',
    'a drill at a second of the run: noisy-channel, dead-chamber, rate-change, stalled-link, crash-processor (repeatable)',
    collect,
    [],
  )
  .option('--no-monitoring', 'do not start Prometheus and Alertmanager even when they are installed')
  .action(
    async (opts: {
      seconds: number;
      muonRate: number;
      noiseRate: number;
      dataDir?: string;
      home?: string;
      inject: string[];
      monitoring: boolean;
    }) => {
      const tb = await testbed();
      const inject = opts.inject.map((i) => tb.parseInjection(i));
      // Ctrl-C once: stop the run cleanly (STOP, summary, EXIT, everything stopped). Twice: leave now.
      const interrupt = new AbortController();
      process.on('SIGINT', () => {
        if (interrupt.signal.aborted) process.exit(130);
        console.error('testbed: stopping the run cleanly (Ctrl-C again to leave at once)');
        interrupt.abort();
      });
      const r = await tb.runTestbed({
        inject,
        ...(opts.monitoring ? {} : { monitoring: false }),
        seconds: opts.seconds,
        muonRateHz: opts.muonRate,
        noiseRateHzPerChannel: opts.noiseRate,
        signal: interrupt.signal,
        ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
        ...(opts.home === undefined ? {} : { home: opts.home }),
      });
      if (r.reconciliation.lost > 0 || r.reconciliation.events.stored < r.reconciliation.events.built)
        process.exitCode = 1;
    },
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isDaqError(err)) {
    console.error(`daqops: ${err.code}: ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
