/**
 * The central platform: environments created from templates, placed on the agents' nodes, driven through
 * their transitions, with run numbers and the run registry in the store and every state-changing call
 * audited. The HTTP API (api/server.ts) is a thin layer over this class.
 */
import type { IncidentChange } from './incidents/correlator.js';
import { describeFault, faultLinks, parseFault, type FaultSpec } from '../protocol/faults.js';
import { randomBytes } from 'node:crypto';
import { DaqError } from '../protocol/errors.js';
import type { EnvironmentState, EnvironmentTransition } from '../protocol/states.js';
import type { HookActions } from './control/hooks.js';
import { Environment } from './control/environment.js';
import type { ControlEvent, TaskDriver, TaskStatus } from './control/types.js';
import { ResourceLedger } from './placement/ledger.js';
import type { PlatformStore } from './store/store.js';
import { loadTemplate, type VarValue, type WorkflowTemplate } from './workflow/template.js';
import { environmentStates, taskStates } from '../protocol/states.js';
import type { Metrics } from '../lib/metrics.js';
import type { ErsReporter } from '../lib/ers.js';
import type { NodeTopology, TaskReport } from '../protocol/agent-link.js';
import { traceparentOf } from '../lib/tracing.js';
import { Correlator, type Ingested } from './incidents/correlator.js';
import {
  agentLostSignal,
  alertSignals,
  controlSignal,
  ersSignal,
  exitSignal,
  kafkaSignal,
  type AlertmanagerPayload,
} from './incidents/signals.js';
import { DataflowTopology } from './incidents/topology.js';
import type { Component, Incident, SignalInput } from './incidents/types.js';
import { RecoveryEngine, type PageOptions, type RecoveryTarget } from './recovery/engine.js';
import type { Runbook } from './runbooks/runbook.js';
import { configurePayload } from './control/transitions/configure.js';
import { taskSpec } from './control/transitions/deploy.js';
import type { ErsIssue } from '../protocol/ers.js';

/** A fault injected without a start begins this far ahead, so every link starts it on one timeframe. */
const FAULT_LEAD_MS = 500;

export interface PlatformOptions {
  readonly store: PlatformStore;
  readonly driver: TaskDriver;
  readonly ledger?: ResourceLedger;
  readonly brokers: readonly string[];
  readonly actions?: HookActions;
  readonly onControlEvent?: (e: ControlEvent) => void;
  /** Where the platform counts (environment states, transition durations, tasks by state). */
  readonly metrics?: Metrics;
  /** STOP_ACTIVITY waits on this between roles (EnvironmentContext.drain). */
  readonly drain?: (env: Environment, stoppedWorkloads: readonly string[]) => Promise<void>;
  /** Where the platform raises its ERS issues (failed transitions, hooks, tasks, lost agents). */
  readonly ers?: ErsReporter;
  /** The runbooks recovery follows (runbooks/ of the project by default in `daqops platform`). */
  readonly runbooks?: readonly Runbook[];
  /** Where escalations page. */
  readonly page?: PageOptions | undefined;
  /** Correlation window, settle and quiet times (ms) of incidents. */
  readonly incidentTiming?: { windowMs?: number; settleMs?: number; quietMs?: number };
}

/** What a restart found in the store and made of it. */
export interface RestoreSummary {
  readonly environments: number;
  readonly holdingResources: number;
  /** Environments whose transition was cut by the restart: now in ERROR, named with the transition. */
  readonly interrupted: readonly string[];
  /** Environments whose template could not be read again: kept in the store, not loaded. */
  readonly unreadable: readonly string[];
}

export interface EnvironmentView {
  readonly id: string;
  readonly template: string;
  /** Kafka topic namespace: `<namespace>.raw-hits`, `.events`, `.control`, … */
  readonly namespace: string;
  readonly state: EnvironmentState;
  readonly run: number | undefined;
  readonly rollUp: string;
  /** Each task as the platform knows it: placement, state, process, whether it is critical or excluded. */
  readonly tasks: readonly TaskStatus[];
}

export class Platform implements RecoveryTarget {
  /** Incidents changed during a batch of signals, written once when it ends (alertmanager()). */
  private batch: Map<number, Incident> | undefined;
  readonly ledger: ResourceLedger;
  readonly environments = new Map<string, Environment>();
  readonly incidents: Correlator;
  readonly recovery: RecoveryEngine;
  private readonly startedBy = new Map<string, string>();

  constructor(readonly o: PlatformOptions) {
    this.ledger = o.ledger ?? new ResourceLedger();
    this.incidents = new Correlator({
      ...(o.incidentTiming ?? {}),
      firstId: o.store.lastIncidentId() + 1,
      topology: (id) => {
        const env = this.environments.get(id);
        return env === undefined ? undefined : topologyOf(env);
      },
      onChange: (inc, change) => {
        // In a batch (one webhook of many alerts) an incident is written once at its end, not once a
        // signal: each write is the whole incident, so writing per signal grows with the square.
        if (this.batch !== undefined) this.batch.set(inc.id, inc);
        else o.store.saveIncident(inc);
        this.updateIncidentGauge();
        this.timeIncident(inc, change);
      },
    });
    this.incidents.load(o.store.unresolvedIncidents());
    this.recovery = new RecoveryEngine({
      runbooks: o.runbooks ?? [],
      correlator: this.incidents,
      target: this,
      page: o.page,
      ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
    });
  }

  createEnvironment(
    templateFile: string,
    vars: Readonly<Record<string, VarValue>>,
    who: string,
  ): Environment {
    const template = loadTemplate(templateFile, vars);
    const id = `${template.name}-${randomBytes(3).toString('hex')}`;
    const namespace =
      typeof template.vars['namespace'] === 'string' ? `${template.vars['namespace']}-${id.slice(-6)}` : id;
    const env = this.environment(id, template, namespace);
    this.save(env, who, templateFile, vars);
    this.o.store.audit({ who, action: 'env.create', target: id, result: 'ok', detail: templateFile });
    return env;
  }

  private environment(id: string, template: WorkflowTemplate, namespace: string): Environment {
    const env = new Environment(
      id,
      template,
      {
        driver: this.o.driver,
        ledger: this.ledger,
        nextRun: () => Promise.resolve(this.o.store.nextRun()),
        brokers: this.o.brokers,
        actions: this.o.actions ?? {},
        emit: (e) => this.onEvent(e),
        onTaskFailure: (e, t) => this.onTaskFailure(e, t),
        ...(this.o.drain === undefined ? {} : { drain: this.o.drain }),
      },
      namespace,
    );
    this.environments.set(id, env);
    return env;
  }

  /**
   * After a restart: every environment of the store back in memory with its state, run, tasks and their
   * placement (locked again in the ledger as the agents register). One cut in the middle of a transition
   * is put in ERROR, saying which transition — what the tasks really did is only known from the agents,
   * and RECOVER or EXIT lead on from there. Task states come back with the agents' first reports.
   */
  restore(): RestoreSummary {
    const interrupted: string[] = [];
    const unreadable: string[] = [];
    let holding = 0;
    for (const rec of this.o.store.environments()) {
      if (this.environments.has(rec.id)) continue;
      let template: WorkflowTemplate;
      try {
        template = loadTemplate(rec.templateFile, rec.vars as Record<string, VarValue>);
      } catch (err) {
        unreadable.push(rec.id);
        this.o.ers?.raise(
          'daqops.platform.RestoreFailed',
          `environment ${rec.id}: template ${rec.templateFile} cannot be read again: ${err instanceof Error ? err.message : String(err)}`,
          { environment: rec.id },
        );
        continue;
      }
      const env = this.environment(rec.id, template, rec.namespace);
      env.state = rec.state;
      env.run = rec.run ?? undefined;
      const run = rec.run === null ? undefined : this.o.store.run(rec.run);
      env.runTimes = {
        ...(run?.start == null ? {} : { start: run.start }),
        ...(run?.startCompleted == null ? {} : { startCompleted: run.startCompleted }),
        ...(run?.end == null ? {} : { end: run.end }),
        ...(run?.endCompleted == null ? {} : { endCompleted: run.endCompleted }),
      };
      // The stored view of a task is its status; its process id comes back with the agent's report.
      for (const t of rec.tasks as TaskStatus[]) env.tasks.set(t.name, { ...t, pid: undefined });
      if (rec.transition !== null && env.state !== 'DONE') {
        env.state = 'ERROR';
        interrupted.push(rec.id);
        // As if the transition had failed: an ERS issue, a control event, a signal for an incident.
        this.onEvent({
          kind: 'environment',
          environment: rec.id,
          transition: rec.transition as EnvironmentTransition,
          step: 'after',
          status: 'DONE_ERROR',
          state: 'ERROR',
          at: new Date().toISOString(),
          error: 'cut by a platform restart; RECOVER or EXIT',
        });
        this.save(env, 'platform');
      }
      if (env.state !== 'STANDBY' && env.state !== 'DONE' && env.tasks.size > 0) {
        holding++;
        this.ledger.restore(
          env.id,
          [...env.tasks.values()].map((t) => ({
            task: t.name,
            node: t.node,
            numa: t.numa,
            cpus: t.cpus,
            memoryMiB: t.memoryMiB,
          })),
        );
      }
    }
    this.updateGauges();
    return { environments: this.environments.size, holdingResources: holding, interrupted, unreadable };
  }

  /**
   * An agent registered (first time, back after a loss, or after a platform restart): its resources go
   * into the ledger with the locks of the tasks placed there, and what it runs is reconciled with what the
   * environments expect — a task it no longer has has failed; a task it runs that no environment holds
   * there (left from before a loss or an EXIT it missed) is stopped.
   */
  async agentRegistered(topology: NodeTopology, reports: readonly TaskReport[]): Promise<void> {
    this.ledger.addNode(topology);
    const node = topology.node;
    for (const inc of this.incidents.open())
      if (inc.signals.some((x) => x.name === 'AgentLost' && x.component.id === node))
        this.signal(agentLostSignal(node, inc.environment, false));
    const reported = new Map(reports.map((r) => [`${r.environment}/${r.task}`, r]));
    for (const env of this.environments.values()) {
      if (env.state === 'STANDBY' || env.state === 'DONE' || env.transitionUnderWay === 'DEPLOY') continue;
      for (const t of env.tasks.values()) {
        if (t.node !== node || t.excluded) continue;
        const r = reported.get(`${env.id}/${t.name}`);
        if (r !== undefined) await env.onTaskReport(r);
        else if (t.state !== 'ERROR')
          await env.onTaskReport(
            failedReport(env.id, t, `not running on node ${node} when its agent registered`),
          );
      }
    }
    for (const r of reports) {
      const t = this.environments.get(r.environment)?.tasks.get(r.task);
      const held = t !== undefined && t.node === node && !t.excluded && t.state !== 'DONE';
      if (held || r.state === 'ERROR' || r.state === 'DONE' || r.pid === undefined) continue;
      this.o.ers?.raise(
        'daqops.platform.StrayTask',
        `node ${node} runs ${r.environment}/${r.task} (pid ${r.pid}), which no environment holds there; stopping it`,
        { node, environment: r.environment, task: r.task },
      );
      await this.o.driver.kill(node, r.task).catch(() => undefined);
    }
    this.updateGauges();
  }

  /** Task states from an agent's heartbeat or task event. */
  async taskReports(node: string, reports: readonly TaskReport[]): Promise<void> {
    for (const r of reports) {
      const env = this.environments.get(r.environment);
      if (env?.tasks.get(r.task)?.node === node) await env.onTaskReport(r);
    }
  }

  /**
   * An agent missed its heartbeats: its node's resources are released and each task there has failed —
   * excluded when not critical, the environment to ERROR (or recovery) when critical.
   */
  async agentLost(node: string): Promise<void> {
    this.ledger.removeNode(node);
    this.o.ers?.raise('daqops.platform.AgentLost', `agent of node ${node} lost (missed heartbeats)`, {
      node,
    });
    const hit = [...this.environments.values()].filter((e) =>
      [...e.tasks.values()].some((t) => t.node === node && t.state !== 'DONE'),
    );
    if (hit.length === 0) this.signal(agentLostSignal(node, undefined, true));
    for (const env of hit) this.signal(agentLostSignal(node, env.id, true));
    for (const env of this.environments.values()) {
      for (const t of env.tasks.values()) {
        if (t.node !== node || t.excluded || t.state === 'ERROR' || t.state === 'DONE') continue;
        await env.onTaskReport(failedReport(env.id, t, `agent of node ${node} lost`));
      }
    }
    this.updateGauges();
  }

  /**
   * A drill fault for a RUNNING environment's emulated detector (protocol/faults.ts): checked against the
   * environment (its chambers and links), given a common start half a second ahead unless it names one
   * (so every link switches on the same timeframe), and handed to the readouts it concerns. Audited.
   */
  async injectFault(id: string, input: unknown, who: string): Promise<{ fault: FaultSpec; tasks: string[] }> {
    const env = this.get(id);
    const readouts = env.template.tasks.filter((t) => t.workload === 'readout');
    const linkOf = (t: (typeof readouts)[number]): number => Number(t.config['link']);
    const chambers = Number(readouts[0]?.config['chambers'] ?? 4);
    let fault = parseFault(input, { chambers, links: readouts.map(linkOf) }, 'fault');
    if (env.state !== 'RUNNING')
      throw new DaqError(
        'ILLEGAL_TRANSITION',
        `environment ${id} is ${env.state}: drill faults need a RUNNING run`,
        {
          field: 'state',
        },
      );
    if (fault.atMs === undefined && fault.atSeconds === undefined)
      fault = { ...fault, atMs: Date.now() + FAULT_LEAD_MS };
    const links = new Set(faultLinks(fault, readouts.map(linkOf)));
    const targets = readouts
      .filter((t) => links.has(linkOf(t)))
      .map((t) => env.tasks.get(t.name))
      .filter((t): t is NonNullable<typeof t> => t !== undefined && !t.excluded);
    try {
      if (targets.length === 0)
        throw new DaqError(
          'INVALID_FAULT',
          `no running readout of ${id} reads link(s) ${[...links].join(', ')}`,
          {
            field: 'fault',
          },
        );
      await Promise.all(targets.map((t) => this.o.driver.fault(t.node, t.name, fault)));
      this.audit({
        who,
        action: 'environment.fault',
        target: id,
        result: 'ok',
        detail: describeFault(fault),
      });
    } catch (err) {
      this.audit({
        who,
        action: 'environment.fault',
        target: id,
        result: 'error',
        detail: `${describeFault(fault)}: ${(err as Error).message}`,
      });
      throw err;
    }
    return { fault, tasks: targets.map((t) => t.name) };
  }

  get(id: string): Environment {
    const env = this.environments.get(id);
    if (env === undefined) throw new DaqError('NOT_FOUND', `no environment ${id}`, { field: 'id' });
    return env;
  }

  async transition(
    id: string,
    t: EnvironmentTransition,
    who: string,
    traceparent?: string,
  ): Promise<EnvironmentState> {
    const env = this.get(id);
    if (t === 'START_ACTIVITY') this.startedBy.set(id, who);
    const end = this.o.metrics
      ?.histogram('daq_platform_transition_duration_seconds')
      .startTimer({ transition: t });
    try {
      const running = env.transition(t, traceparent === undefined ? {} : { traceparent });
      // On record before anything happens: a platform killed now knows, when it restarts, what was cut.
      this.save(env, who);
      const state = await running;
      if (t === 'EXIT') this.environmentEnded(id);
      end?.({ result: 'ok' });
      this.o.store.audit({ who, action: 'env.transition', target: id, result: 'ok', detail: t });
      return state;
    } catch (err) {
      end?.({ result: 'error' });
      this.o.store.audit({
        who,
        action: 'env.transition',
        target: id,
        result: 'error',
        detail: `${t}: ${err instanceof Error ? err.message : String(err)}`,
      });
      throw err;
    } finally {
      this.save(env, who);
      this.updateGauges();
    }
  }

  // ---- incidents and recovery ---------------------------------------------------------------------

  /** Takes a signal into the correlator; a new incident of an alert or a failed transition is recovered. */
  signal(s: SignalInput): Ingested | undefined {
    this.o.metrics?.counter('daq_platform_signals_total').labels({ kind: s.source }).inc();
    const r = this.incidents.ingest(s);
    // Task failures are recovered through the failure semantics (onTaskFailure); ERS issues of tasks and
    // exits are points that go with them. An alert, a failed transition, or an ERS issue about a link or
    // the environment (data quality: nothing else acts on those) that opens an incident starts its
    // runbook — or that joins one no runbook has taken yet (an incident opened by a symptom).
    const drives =
      s.source === 'alertmanager' ||
      (s.source === 'control' && ['TransitionTimeout', 'TransitionFailed', 'HookFailed'].includes(s.name)) ||
      (s.source === 'ers' && (s.component.kind === 'link' || s.component.kind === 'environment'));
    if (r !== undefined && s.status === 'firing' && drives) {
      const untaken =
        r.change === 'signal' && r.incident.runbook === undefined && r.incident.recovery === 'none';
      if (r.change === 'opened' || untaken) void this.recovery.recover(r.incident.id);
    }
    return r;
  }

  /**
   * Kafka stopped or started answering the platform (lib/kafka-watch.ts): one KafkaUnreachable
   * signal per environment that has tasks out, firing or resolved.
   */
  kafkaReachability(brokers: readonly string[], reachable: boolean, detail: string): void {
    for (const env of this.environments.values()) {
      if (env.state === 'STANDBY' || env.state === 'DONE') continue;
      this.signal(kafkaSignal(env.id, brokers, !reachable, detail));
    }
  }

  /** An Alertmanager webhook (already validated by the API): one signal per alert. */
  alertmanager(p: AlertmanagerPayload): { incidents: number[] } {
    const ids = new Set<number>();
    this.batch = new Map();
    try {
      for (const s of alertSignals(p)) {
        const r = this.signal(s);
        if (r !== undefined) ids.add(r.incident.id);
      }
    } finally {
      // Stored before the webhook is answered: what Alertmanager was told is taken is on disk.
      const changed = this.batch;
      this.batch = undefined;
      for (const inc of changed.values()) this.o.store.saveIncident(inc);
    }
    return { incidents: [...ids] };
  }

  /** An ERS issue read from an environment's `<ns>.ers` (Warning and above become signals). */
  ersIssue(i: ErsIssue): void {
    if (i.context.application === 'daqops-platform') return; // its own: already signals
    const envId = i.context.environment;
    this.o.metrics
      ?.counter('daq_platform_ers_issues_total')
      .labels({ environment: envId ?? 'unknown', severity: i.severity })
      .inc();
    const about = typeof i.parameters['task'] === 'string' ? i.parameters['task'] : i.context.task;
    const kind =
      envId === undefined || about === undefined
        ? undefined
        : this.environments.get(envId)?.tasks.get(about)?.workload;
    const s = ersSignal(i, kind);
    if (s !== undefined) this.signal(s);
  }

  /** A task event from an agent: an unexpected exit is a signal (its ERROR state follows as a report). */
  taskEvent(node: string, r: TaskReport, event: string): void {
    if (event !== 'exited' || r.state === 'DONE') return;
    const t = this.environments.get(r.environment)?.tasks.get(r.task);
    if (t === undefined || t.node !== node) return;
    this.signal(exitSignal(r.environment, r.task, t.workload, r.message ?? 'exited'));
  }

  /** Resolves what has settled (call every second). */
  tick(): void {
    this.incidents.tick();
  }

  private async onTaskFailure(env: Environment, t: TaskStatus): Promise<boolean> {
    const fingerprint = `control/${env.id}/task:${t.name}/TaskFailed`;
    const inc = this.incidents
      .open()
      .find((i) => i.signals.some((x) => x.fingerprint === fingerprint && x.status === 'firing'));
    if (inc === undefined) return false;
    return this.recovery.recover(inc.id, { kind: 'task', id: t.name });
  }

  /** An environment ended (EXIT): its incidents that need nobody any more resolve. */
  private environmentEnded(id: string): void {
    for (const inc of this.incidents.open())
      if (inc.environment === id && (inc.recovery === 'none' || inc.recovery === 'succeeded'))
        this.incidents.resolve(inc.id, 'platform', 'resolved: the environment ended');
  }

  private updateIncidentGauge(): void {
    const g = this.o.metrics?.gauge('daq_platform_incidents');
    if (g === undefined) return;
    const open = this.incidents.open();
    for (const state of ['open', 'acknowledged'] as const)
      g.labels({ state }).set(open.filter((i) => i.state === state).length);
  }

  // RecoveryTarget: what runbooks may do.

  tasksOf(envId: string, c: Component): { name: string; critical: boolean; excluded: boolean }[] {
    const env = this.environments.get(envId);
    if (env === undefined) return [];
    return topologyOf(env)
      .tasksOf(c)
      .flatMap((x) => {
        const t = env.tasks.get(x.name);
        // Not placed yet (a DEPLOY that failed) — nothing to act on; for the environment, only failed tasks.
        return t === undefined || (c.kind === 'environment' && t.state !== 'ERROR') ? [] : [t];
      });
  }

  async restartTask(envId: string, task: string): Promise<void> {
    const env = this.get(envId);
    const t = env.tasks.get(task);
    if (t === undefined) throw new DaqError('NOT_FOUND', `no task ${task} in ${envId}`);
    const r = await this.o.driver.restart(t.node, t.name, traceparentOf());
    await env.onTaskReport(r);
  }

  excludeTask(envId: string, task: string): Promise<void> {
    const env = this.get(envId);
    const t = env.tasks.get(task);
    if (t === undefined) throw new DaqError('NOT_FOUND', `no task ${task} in ${envId}`);
    env.exclude(t, 'by runbook');
    return Promise.resolve();
  }

  /** Places a task again away from its node and brings it to the environment's state there. */
  async moveTask(envId: string, task: string): Promise<void> {
    const env = this.get(envId);
    const t = env.tasks.get(task);
    const tt = env.template.tasks.find((x) => x.name === task);
    if (t === undefined || tt === undefined) throw new DaqError('NOT_FOUND', `no task ${task} in ${envId}`);
    const p = this.ledger.move(env.id, task, t.node, {
      task,
      cores: tt.resources.cores,
      numa: tt.resources.numa,
      near: tt.resources.near,
      memoryMiB: tt.resources.memoryMiB,
    });
    await this.o.driver.kill(t.node, task).catch(() => undefined);
    const moved: TaskStatus = { ...t, node: p.node, cpus: p.cpus, numa: p.numa, state: 'STANDBY' };
    env.tasks.set(task, moved);
    const tp = traceparentOf();
    let r = await this.o.driver.spawn(p.node, taskSpec(env, moved), tp);
    if (env.state === 'CONFIGURED' || env.state === 'RUNNING')
      r = await this.o.driver.transition(p.node, task, 'CONFIGURE', configurePayload(env, task), tp);
    if (env.state === 'RUNNING')
      r = await this.o.driver.transition(p.node, task, 'START', { run: env.run }, tp);
    await env.onTaskReport(r);
  }

  audit(e: { who: string; action: string; target: string; result: string; detail: string }): void {
    this.o.store.audit(e);
  }

  /** Time to detect (first signal → open) and to recover (open → resolved), by the root's kind. */
  private timeIncident(inc: Incident, change: IncidentChange): void {
    const m = this.o.metrics;
    if (m === undefined) return;
    const kind = inc.root.component.kind;
    if (change === 'opened') {
      const first = Math.min(...inc.signals.map((x) => Date.parse(x.at)).filter(Number.isFinite));
      const opened = Date.parse(inc.openedAt);
      if (Number.isFinite(first) && Number.isFinite(opened))
        m.histogram('daq_platform_incident_detect_seconds')
          .labels({ kind })
          .observe(Math.max(0, (opened - first) / 1000));
    } else if (change === 'resolved' && inc.resolvedAt !== undefined) {
      m.histogram('daq_platform_incident_resolve_seconds')
        .labels({ kind })
        .observe(Math.max(0, (Date.parse(inc.resolvedAt) - Date.parse(inc.openedAt)) / 1000));
    }
  }

  /** Environments and tasks by state, for the platform's /metrics. */
  updateGauges(): void {
    const m = this.o.metrics;
    if (m === undefined) return;
    const envs = [...this.environments.values()];
    const tasks = envs.flatMap((e) => [...e.tasks.values()]);
    for (const s of environmentStates)
      m.gauge('daq_platform_environments')
        .labels({ state: s })
        .set(envs.filter((e) => e.state === s).length);
    // Rebuilt whole each time (reset and set in one synchronous step), so an environment that is gone
    // leaves no series behind and a scrape never sees half of it.
    const state = m.gauge('daq_platform_environment_state');
    const run = m.gauge('daq_platform_run_number');
    const started = m.gauge('daq_platform_run_start_timestamp_seconds');
    state.reset();
    run.reset();
    started.reset();
    for (const e of envs) {
      for (const s of environmentStates)
        state.labels({ environment: e.id, state: s }).set(e.state === s ? 1 : 0);
      run.labels({ environment: e.id }).set(e.run ?? 0);
      const record = e.run === undefined || e.state !== 'RUNNING' ? undefined : this.o.store.run(e.run);
      const t = record?.start == null ? NaN : Date.parse(record.start);
      started.labels({ environment: e.id }).set(Number.isFinite(t) ? t / 1000 : 0);
    }
    for (const s of taskStates)
      m.gauge('daq_platform_tasks')
        .labels({ state: s })
        .set(tasks.filter((t) => t.state === s).length);
  }

  view(env: Environment): EnvironmentView {
    return {
      id: env.id,
      template: env.template.name,
      namespace: env.namespace,
      state: env.state,
      run: env.run,
      rollUp: env.rollUp(),
      tasks: [...env.tasks.values()].map((t) => ({ ...t })),
    };
  }

  private onEvent(e: ControlEvent): void {
    this.raiseFor(e);
    if (e.kind !== 'task' || !e.excluded) {
      const t = e.kind === 'task' ? this.environments.get(e.environment)?.tasks.get(e.task) : undefined;
      const s = controlSignal(
        e,
        t === undefined ? undefined : { workload: t.workload, critical: t.critical },
      );
      if (s !== undefined) this.signal(s);
    }
    if (e.kind === 'run') {
      const env = this.environments.get(e.environment);
      if (e.time === 'start' && env !== undefined) {
        this.o.store.startRun({
          run: e.run,
          environment: e.environment,
          template: env.template.name,
          vars: env.template.vars,
          startedBy: this.startedBy.get(e.environment) ?? 'unknown',
          start: e.at,
        });
      } else if (e.time !== 'start') {
        this.o.store.runTime(
          e.run,
          e.time === 'start-completed' ? 'startCompleted' : e.time === 'end' ? 'end' : 'endCompleted',
          e.at,
        );
      }
    }
    this.o.onControlEvent?.(e);
  }

  /** The ERS issue a failure event stands for (docs/incidents.md: an ERS issue for every failure). */
  private raiseFor(e: ControlEvent): void {
    const ers = this.o.ers;
    if (ers === undefined) return;
    if (e.kind === 'environment' && e.status !== 'STARTED' && e.status !== 'DONE_OK')
      ers.raise(
        'daqops.platform.TransitionFailed',
        `environment ${e.environment}: ${e.transition} failed: ${e.error ?? e.status}`,
        { environment: e.environment, transition: e.transition },
      );
    else if (e.kind === 'hook' && (e.status === 'DONE_ERROR' || e.status === 'DONE_TIMEOUT'))
      ers.raise(
        'daqops.platform.HookFailed',
        `environment ${e.environment}: hook ${e.hook} at ${e.step}_${e.transition}: ${e.error ?? e.status}`,
        { environment: e.environment, hook: e.hook, transition: e.transition },
      );
    else if (e.kind === 'task' && e.excluded && e.message?.startsWith('excluded') === true)
      ers.raise(
        'daqops.platform.TaskExcluded',
        `environment ${e.environment}: non-critical task ${e.task} taken out of the run (${e.message})`,
        { environment: e.environment, task: e.task },
      );
    else if (e.kind === 'task' && e.state === 'ERROR' && !e.excluded)
      ers.raise(
        'daqops.platform.TaskFailed',
        `environment ${e.environment}: task ${e.task} failed: ${e.message ?? 'ERROR'}`,
        { environment: e.environment, task: e.task },
      );
  }

  private save(
    env: Environment,
    who: string,
    templateFile?: string,
    vars?: Readonly<Record<string, VarValue>>,
  ): void {
    const prev = this.o.store.environment(env.id);
    const now = new Date().toISOString();
    this.o.store.saveEnvironment({
      id: env.id,
      namespace: env.namespace,
      templateFile: templateFile ?? prev?.templateFile ?? env.template.file,
      vars: vars ?? prev?.vars ?? {},
      state: env.state,
      transition: env.transitionUnderWay ?? null,
      run: env.run ?? null,
      tasks: this.view(env).tasks,
      createdBy: prev?.createdBy ?? who,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    });
  }
}

/** The report the platform writes for a task its agent cannot speak for (gone, or lost). */
function failedReport(environment: string, t: TaskStatus, message: string): TaskReport {
  return {
    task: t.name,
    environment,
    kind: t.workload,
    state: 'ERROR',
    pid: undefined,
    restarts: 0,
    cpus: undefined,
    mems: undefined,
    failed: true,
    message,
  };
}

/** The correlator's view of an environment: its tasks by stage (role order), node and links. */
export function topologyOf(env: Environment): DataflowTopology {
  const roles = [...new Set(env.template.tasks.map((t) => t.role))];
  return new DataflowTopology(
    env.id,
    env.template.tasks.map((tt) => ({
      name: tt.name,
      workload: tt.workload,
      node: env.tasks.get(tt.name)?.node ?? '',
      stage: roles.indexOf(tt.role),
      links: tt.resources.links,
    })),
  );
}

export type { Incident };
