/**
 * The per-node agent: discovers the node, stops orphans of a previous run, supervises tasks, serves one
 * /metrics for the node (its own and every workload's metrics, labelled by task), logs ERS, and keeps a
 * link to the platform that carries commands in and heartbeats out.
 */
import { hostname } from 'node:os';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AggregatorRegistry } from 'prom-client';
import {
  taskKey,
  type AgentToPlatform,
  type CommandMessage,
  type NodeTopology,
  type TaskReport,
} from '../protocol/agent-link.js';
import { DaqError, isDaqError } from '../protocol/errors.js';
import { taskStates } from '../protocol/states.js';
import { ErsReporter } from '../lib/ers.js';
import type { ErsIssue } from '../protocol/ers.js';
import { ErsPublisher } from './ers-publisher.js';
import type { ErsLogger } from '../lib/ers-logger.js';
import { Metrics } from '../lib/metrics.js';
import { projectRoot } from '../lib/paths.js';
import { withSpan } from '../lib/tracing.js';
import type { PinningTools } from './pinning.js';
import { PlatformLink } from './platform-link.js';
import type { RestartPolicyOptions } from './restart-policy.js';
import { Supervisor } from './supervisor.js';

export interface AgentOptions {
  readonly topology: NodeTopology;
  readonly platformUrl?: string | undefined;
  readonly joinToken?: string | undefined;
  /** Port of the node's /metrics (0 = any free port); undefined = none. */
  readonly metricsPort?: number | undefined;
  readonly metricsHost?: string;
  readonly heartbeatIntervalMs?: number;
  readonly logger: ErsLogger;
  readonly tools: PinningTools;
  readonly restart?: RestartPolicyOptions;
  readonly commandTimeoutMs?: number;
}

const VERSION = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string })
  .version;

export class Agent {
  readonly supervisor: Supervisor;
  readonly metrics: Metrics;
  readonly ers: ErsReporter;
  private link: PlatformLink | undefined;
  private readonly ersOut: ErsPublisher;
  private server: Server | undefined;
  private readonly node: string;
  metricsPort: number | undefined;

  constructor(private readonly o: AgentOptions) {
    this.node = o.topology.node;
    this.metrics = new Metrics({ node: this.node, task: 'agent' });
    this.ers = new ErsReporter({ application: 'daqops-agent', task: 'agent', sink: (i) => this.forward(i) });
    this.ersOut = new ErsPublisher(this.metrics, (err) =>
      process.stderr.write(
        `agent: ERS issues cannot reach Kafka (${err instanceof Error ? err.message : String(err)}); they stay in the ERS file\n`,
      ),
    );
    this.supervisor = new Supervisor({
      node: this.node,
      ers: this.ers,
      forwardErs: (i) => this.forward(i),
      tools: o.tools,
      offeredCpus: o.topology.numa.flatMap((n) => n.cpus),
      ...(o.restart === undefined ? {} : { restart: o.restart }),
      ...(o.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: o.commandTimeoutMs }),
      // While the platform is there, its runbooks decide what happens to a crashed task; when it is
      // away, the agent's own restart policy keeps the node going.
      selfRestart: () => !this.platformConnected,
    });
    const restarts = this.metrics.counter('daq_agent_task_restarts_total');
    const failures = this.metrics.counter('daq_agent_task_failures_total');
    const pinning = this.metrics.counter('daq_agent_pinning_failures_total');
    this.supervisor.on('task-event', (t, event) => {
      this.countersAtZero(t.task, t.environment);
      // The environment goes with the task, so its alerts join that environment's incidents.
      const labels = { task: t.task, environment: t.environment };
      if (event === 'restarted') restarts.labels(labels).inc();
      if (event === 'failed') failures.labels(labels).inc();
      if (event === 'pinning-failed') pinning.labels(labels).inc();
      this.link?.send({ type: 'task-event', task: t, event });
    });
  }

  private forward(issue: unknown): void {
    try {
      if (!this.o.logger.emit(issue)) {
        this.metrics.counter('daq_agent_ers_suppressed_total').inc();
        return;
      }
      const i = issue as ErsIssue;
      // A workload's record names its environment; the agent's own about a task carry it as a parameter.
      const named = i.parameters['environment'];
      const env = i.context.environment ?? (typeof named === 'string' ? named : undefined);
      this.ersOut.publish(i, env);
    } catch {
      // A malformed record from a workload: keep the agent alive, say so once per record.
      process.stderr.write(`agent: dropped an invalid ERS record: ${JSON.stringify(issue).slice(0, 300)}\n`);
    }
  }

  async start(): Promise<void> {
    Supervisor.stopOrphans(this.node, this.ers);
    const restricted = this.o.topology.restricted;
    if (restricted !== undefined)
      this.ers.raise(
        'daqops.agent.ResourcesRestricted',
        `node ${this.node} offers ${this.o.topology.numa.reduce((s, n) => s + n.cpus.length, 0)} of ${restricted.machineCpus} CPUs and ${(this.o.topology.memoryBytes / 1024 ** 3).toFixed(1)} of ${(restricted.machineMemoryBytes / 1024 ** 3).toFixed(1)} GiB: ${restricted.because.join('; ')}`,
        { node: this.node },
      );
    if (this.o.metricsPort !== undefined)
      await this.serveMetrics(this.o.metricsPort, this.o.metricsHost ?? '127.0.0.1');
    const connected = this.metrics.gauge('daq_agent_platform_connected');
    connected.set(0);
    if (this.o.platformUrl !== undefined) {
      const heartbeats = this.metrics.counter('daq_agent_heartbeats_total');
      this.link = new PlatformLink({
        url: this.o.platformUrl,
        joinToken: this.o.joinToken,
        heartbeatIntervalMs: this.o.heartbeatIntervalMs ?? 1000,
        ers: this.ers,
        register: () => ({
          type: 'register',
          topology: this.o.topology,
          tasks: this.supervisor.reports(),
          agentVersion: VERSION,
          metrics: this.metricsAddress(),
        }),
        heartbeat: () => {
          heartbeats.inc();
          return {
            type: 'heartbeat',
            node: this.node,
            tasks: this.supervisor.reports(),
            sentAt: new Date().toISOString(),
          };
        },
        onCommand: (c) => this.handle(c),
        onConnectionChange: (up) => connected.set(up ? 1 : 0),
      });
      this.link.start();
    }
  }

  /**
   * A task's counters exist at 0 from its spawn: `increase()` in an alert and a panel see "none" as 0,
   * and the first restart as an increase (a series born at 1 would show none).
   */
  private countersAtZero(task: string, environment: string): void {
    for (const name of [
      'daq_agent_task_restarts_total',
      'daq_agent_task_failures_total',
      'daq_agent_pinning_failures_total',
    ] as const)
      this.metrics.counter(name).labels({ task, environment }).inc(0);
  }

  /** host:port Prometheus reaches this node's /metrics at (a wildcard listener: the host's name). */
  metricsAddress(): string | undefined {
    if (this.metricsPort === undefined) return undefined;
    const host = this.o.metricsHost ?? '127.0.0.1';
    const reachable = host === '0.0.0.0' || host === '::' ? hostname() : host;
    return `${reachable.includes(':') ? `[${reachable}]` : reachable}:${this.metricsPort}`;
  }

  get platformConnected(): boolean {
    return this.link?.connected ?? false;
  }

  /** Carries out one platform command, traced and counted; never throws (errors become a failed result). */
  async handle(c: CommandMessage): Promise<AgentToPlatform> {
    const label = c.action === 'transition' ? c.transition : c.action;
    const end = this.metrics
      .histogram('daq_agent_command_duration_seconds')
      .labels({ transition: label })
      .startTimer();
    const count = this.metrics.counter('daq_agent_commands_total');
    try {
      const task: TaskReport = await withSpan(
        `agent command ${label}`,
        { 'daq.node': this.node, 'daq.command': c.action },
        async () => {
          switch (c.action) {
            case 'spawn': {
              const r = await this.supervisor.spawn(c.spec);
              this.countersAtZero(c.spec.task, c.spec.environment);
              return r;
            }
            case 'transition':
              if (c.transition === 'CONFIGURE') this.ersOut.learn(c.payload);
              return this.supervisor.transition(c, c.transition, c.payload, undefined, c.timeoutMs);
            case 'fault':
              return this.supervisor.fault(c, c.fault, c.timeoutMs);
            case 'restart':
              return this.supervisor.restartNow(c, c.traceparent);
            case 'kill': {
              const before = this.supervisor.get(c);
              await this.supervisor.kill(c);
              if (before === undefined)
                throw new DaqError('NOT_FOUND', `no task ${taskKey(c)} on node ${this.node}`, {
                  field: 'task',
                });
              return { ...before, state: 'DONE' as const, pid: undefined };
            }
          }
        },
        c.traceparent,
      );
      count.labels({ transition: label, result: 'ok' }).inc();
      return { type: 'command-result', id: c.id, ok: true, task };
    } catch (err) {
      count.labels({ transition: label, result: 'error' }).inc();
      return {
        type: 'command-result',
        id: c.id,
        ok: false,
        error: {
          code: isDaqError(err) ? err.code : 'AGENT_ERROR',
          message: err instanceof Error ? err.message : String(err),
        },
      };
    } finally {
      end();
    }
  }

  /** The node's metrics text: the agent's own and every workload's, merged into one exposition. */
  async metricsText(): Promise<string> {
    const tasks = this.metrics.gauge('daq_agent_tasks');
    const reports = this.supervisor.reports();
    for (const s of taskStates) tasks.labels({ state: s }).set(reports.filter((r) => r.state === s).length);
    // Where each task runs, as verified after its start (rebuilt whole: a task gone leaves no series).
    const pinned = this.metrics.gauge('daq_agent_task_pinned_info');
    pinned.reset();
    for (const r of reports)
      if (r.pid !== undefined)
        pinned.labels({ task: r.task, environment: r.environment, cpus: r.cpus ?? '' }).set(1);
    const own = await this.metrics.registry.getMetricsAsJSON();
    const workloads = await this.supervisor.metrics();
    const merged = AggregatorRegistry.aggregate([own, ...workloads]);
    return merged.metrics();
  }

  private async serveMetrics(port: number, host: string): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('see /metrics\n');
        return;
      }
      this.metricsText().then(
        (body) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    this.metricsPort = typeof addr === 'object' && addr !== null ? addr.port : port;
  }

  async stop(options: { stopTasks?: boolean } = {}): Promise<void> {
    await this.link?.stop();
    if (options.stopTasks ?? true) await this.supervisor.shutdown();
    await this.ersOut.close();
    await new Promise<void>((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
  }
}
