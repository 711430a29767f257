/**
 * The central platform, as the API, the CLI and the process that hosts it see it: typed methods for
 * everything a person or an agent can do, each state-changing one audited here and nowhere else. The
 * work is done by parts with one job each (docs/platform.md "Parts"):
 *
 * - control/repository.ts — environments and their record in the store (save, restore);
 * - control/environment.ts — one environment's state machine, tasks and failure semantics;
 * - control/event-sink.ts — what a control event sets off (ERS issue, signal, run registry);
 * - agents/reconciler.ts — agents registering, reporting and lost;
 * - incidents/intake.ts — signals into incidents, incidents into recovery, what people do to incidents;
 * - recovery/actions.ts — what runbooks may do to tasks;
 * - workflow/library.ts — templates by name or uploaded, never by path.
 */
import { join } from 'node:path';
import { DaqError } from '../protocol/errors.js';
import { projectRoot } from '../lib/paths.js';
import type { NodeTopology, TaskReport } from '../protocol/agent-link.js';
import type { ErsIssue } from '../protocol/ers.js';
import { describeFault, type FaultSpec } from '../protocol/faults.js';
import { allowedEnvironmentTransitions, type EnvironmentTransition } from '../protocol/states.js';
import type { Role, TokenHolder, TokenStore } from './api/auth.js';
import { AgentReconciler } from './agents/reconciler.js';
import { Environment } from './control/environment.js';
import { ControlEventSink } from './control/event-sink.js';
import { checkMasks, drillFault } from './control/drills.js';
import { EnvironmentRepository, type RestoreSummary } from './control/repository.js';
import type { ControlEvent, MaskedCell, TaskStatus } from './control/types.js';
import { IncidentIntake } from './incidents/intake.js';
import type { AlertmanagerPayload } from './incidents/signals.js';
import type { Incident, IncidentState, SignalInput } from './incidents/types.js';
import { updatePlatformGauges } from './monitoring/gauges.js';
import type { DataflowRates, Occupancy } from './monitoring/rates.js';
import { dataflowGraph } from './dataflow/graph.js';
import { ResourceLedger } from './placement/ledger.js';
import { RunbookActions } from './recovery/actions.js';
import type { StepOutcome } from './recovery/engine.js';
import type { AuditEntry, RunRecord } from './store/store.js';
import { TemplateLibrary, type TemplateSource } from './workflow/library.js';
import type { VarValue } from './workflow/template.js';

export type { RestoreSummary } from './control/repository.js';

/** Control events kept per environment for the web page's transition log (newest last). */
const RECENT_EVENTS = 100;

import type { Change, EnvironmentView, PlatformOptions, RunbookSummary, RunbookView } from './views.js';

export type { Change, EnvironmentView, PlatformOptions, RunbookSummary, RunbookView };

export class Platform {
  readonly ledger: ResourceLedger;
  private readonly library: TemplateLibrary;
  private readonly environments: EnvironmentRepository;
  private readonly intake: IncidentIntake;
  private readonly agents: AgentReconciler;
  private readonly events: ControlEventSink;
  private readonly startedBy = new Map<string, string>();
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly recent = new Map<string, ControlEvent[]>();

  constructor(private readonly o: PlatformOptions) {
    this.ledger = o.ledger ?? new ResourceLedger();
    this.library = o.templates ?? new TemplateLibrary([join(projectRoot(), 'deploy', 'templates')]);
    this.environments = new EnvironmentRepository(
      o.store,
      (id, template, namespace) =>
        new Environment(
          id,
          template,
          {
            driver: o.driver,
            ledger: this.ledger,
            nextRun: () => Promise.resolve(o.store.nextRun()),
            brokers: o.brokers,
            actions: o.actions ?? {},
            emit: (e) => this.events.on(e),
            onTaskFailure: (e, t) => this.intake.onTaskFailure(e, t),
            ...(o.drain === undefined ? {} : { drain: o.drain }),
          },
          namespace,
        ),
    );
    this.intake = new IncidentIntake({
      store: o.store,
      environments: this.environments,
      target: new RunbookActions({
        environments: this.environments,
        driver: o.driver,
        transition: (id, t, who) => this.transition(id, t, who),
        audit: (e) => this.audit(e),
      }),
      runbooks: o.runbooks ?? [],
      page: o.page,
      metrics: o.metrics,
      timing: o.incidentTiming,
      onIncident: (inc) => this.changed({ kind: 'incident', id: String(inc.id) }),
    });
    this.events = new ControlEventSink({
      store: o.store,
      environments: this.environments,
      signal: (s) => this.intake.signal(s),
      startedBy: (id) => this.startedBy.get(id) ?? 'unknown',
      ers: o.ers,
      next: (e) => {
        const log = this.recent.get(e.environment) ?? [];
        log.push(e);
        if (log.length > RECENT_EVENTS) log.splice(0, log.length - RECENT_EVENTS);
        this.recent.set(e.environment, log);
        this.changed({ kind: 'environment', id: e.environment });
        if (e.kind === 'run') this.changed({ kind: 'run', id: String(e.run) });
        o.onControlEvent?.(e);
      },
    });
    this.agents = new AgentReconciler({
      environments: this.environments,
      ledger: this.ledger,
      driver: o.driver,
      intake: this.intake,
      ers: o.ers,
    });
  }

  // ---- environments ---------------------------------------------------------------------------------

  listEnvironments(): EnvironmentView[] {
    return this.environments.all().map((e) => this.view(e));
  }

  /** One environment; NOT_FOUND when there is none. */
  environment(id: string): EnvironmentView {
    return this.view(this.environments.get(id));
  }

  /** An environment's recent control events (transitions, hooks, tasks, run times), newest last. */
  controlEvents(id: string): ControlEvent[] {
    this.environments.get(id);
    return [...(this.recent.get(id) ?? [])];
  }

  /** An environment's tasks and the rates on its dataflow edges (empty until the agents were read). */
  dataflow(id: string): {
    environment: string;
    tasks: readonly TaskStatus[];
    graph: ReturnType<typeof dataflowGraph>;
  } & DataflowRates {
    const env = this.environments.get(id);
    this.o.rates?.asked();
    const rates = this.o.rates?.of(id) ?? { edges: [], taskEdges: [], lag: {}, at: null };
    return {
      environment: id,
      tasks: env.taskList().map((t) => ({ ...t })),
      graph: dataflowGraph(env.template, rates),
      ...rates,
    };
  }

  /** An environment's occupancy per chamber, layer and cell, and its hit-rate trend. */
  occupancy(id: string): { environment: string } & Occupancy {
    this.environments.get(id);
    this.o.rates?.asked();
    return { environment: id, ...(this.o.rates?.occupancy(id) ?? { cells: [], trend: [], at: null }) };
  }

  /** The template names environments can be created from. */
  templates(): string[] {
    return this.library.names();
  }

  /** A new environment in STANDBY from a template (by name, or uploaded YAML) with the user's variables. */
  createEnvironment(
    source: TemplateSource,
    vars: Readonly<Record<string, VarValue>>,
    who: string,
  ): EnvironmentView {
    const what = 'name' in source ? `template ${source.name}` : 'uploaded template';
    return this.audited(who, 'env.create', what, () => {
      const env = this.environments.create(this.library.load(source, vars), vars, who);
      return { result: this.view(env), target: env.id, detail: what };
    });
  }

  /** Runs a transition; audited, saved before it starts (a restart knows what was cut) and after. */
  async transition(
    id: string,
    t: EnvironmentTransition,
    who: string,
    traceparent?: string,
  ): Promise<EnvironmentView> {
    const env = this.environments.get(id);
    const end = this.o.metrics
      ?.histogram('daq_platform_transition_duration_seconds')
      .startTimer({ transition: t });
    try {
      if (t === 'START_ACTIVITY') this.startedBy.set(id, who);
      const running = env.transition(t, traceparent === undefined ? {} : { traceparent });
      this.environments.save(env, who);
      await running;
      if (t === 'EXIT') this.intake.environmentEnded(id);
      end?.({ result: 'ok' });
      this.audit({ who, action: 'env.transition', target: id, result: 'ok', detail: t });
      return this.view(env);
    } catch (err) {
      end?.({ result: 'error' });
      this.audit({
        who,
        action: 'env.transition',
        target: id,
        result: 'error',
        detail: `${t}: ${message(err)}`,
      });
      throw err;
    } finally {
      this.environments.save(env, who);
      this.updateGauges();
    }
  }

  /**
   * A drill fault for a RUNNING environment's emulated detector (protocol/faults.ts): checked against the
   * environment (its chambers and links), given a common start half a second ahead unless it names one
   * (so every link switches on the same timeframe), and handed to the readouts it concerns.
   */
  async injectFault(id: string, input: unknown, who: string): Promise<{ fault: FaultSpec; tasks: string[] }> {
    const env = this.environments.get(id);
    return this.auditedAsync(who, 'environment.fault', id, async () => {
      const { fault, targets } = drillFault(env, input);
      await Promise.all(targets.map((t) => this.o.driver.fault(t.node, t.name, fault)));
      return { result: { fault, tasks: targets.map((t) => t.name) }, detail: describeFault(fault) };
    });
  }

  /**
   * The cells to mask from the next CONFIGURE on (readouts do not send them, data quality does not judge
   * them); replaces the previous list, checked against the environment's detector. Audited.
   */
  setMasks(id: string, cells: readonly MaskedCell[], who: string): EnvironmentView {
    const env = this.environments.get(id);
    const masks = checkMasks(env, cells);
    return this.audited(who, 'env.masks', id, () => {
      env.setMasks(masks);
      this.environments.save(env, who);
      this.changed({ kind: 'environment', id });
      return {
        result: this.view(env),
        detail: masks.length === 0 ? 'none' : masks.map((c) => `${c.chamber}/${c.layer}/${c.cell}`).join(' '),
      };
    });
  }

  /**
   * Places a task again away from its node and brings it to its environment's state there (what the
   * AgentLost runbook does, for an expert to do by hand). Audited, saved.
   */
  moveTask(id: string, task: string, who: string): Promise<EnvironmentView> {
    const env = this.environments.get(id);
    return this.auditedAsync(who, 'env.move-task', id, async () => {
      try {
        await env.moveTask(task);
      } finally {
        this.environments.save(env, who);
        this.changed({ kind: 'environment', id });
      }
      return { result: this.view(env), detail: `${task} → ${env.task(task)?.node ?? '?'}` };
    });
  }

  // ---- runs and audit -------------------------------------------------------------------------------

  runs(): RunRecord[] {
    return this.o.store.runs();
  }

  /** One run; NOT_FOUND when there is none. */
  run(run: number): RunRecord {
    const r = this.o.store.run(run);
    if (r === undefined) throw new DaqError('NOT_FOUND', `no run ${run}`, { field: 'run' });
    return r;
  }

  auditLog(): AuditEntry[] {
    return this.o.store.auditLog();
  }

  /** The one place audit records are written: every state-changing call, refused ones too. */
  /** A new token for a person (shown once, in the answer); ILLEGAL_TRANSITION when they hold one. Audited. */
  createToken(book: TokenStore, name: string, role: Role, who: string): TokenHolder & { token: string } {
    return this.audited(who, 'token.create', name, () => ({ result: book.create(name, role), detail: role }));
  }

  /** Revokes a person's token (their next call is 401); the last admin's is refused. Audited. */
  revokeToken(book: TokenStore, name: string, who: string): TokenHolder {
    return this.audited(who, 'token.revoke', name, () => {
      const t = book.revoke(name);
      return { result: t, detail: t.role };
    });
  }

  audit(e: { who: string; action: string; target: string; result: string; detail: string }): void {
    this.o.store.audit(e);
  }

  // ---- incidents and runbooks -----------------------------------------------------------------------

  incidents(state?: IncidentState): Incident[] {
    return this.intake.list(state);
  }

  incident(id: number): Incident {
    return this.intake.get(id);
  }

  acknowledge(id: number, who: string): Incident {
    return this.audited(who, 'incident.ack', `incident ${id}`, () => ({
      result: this.intake.acknowledge(id, who),
    }));
  }

  resolveIncident(id: number, who: string, note?: string): Incident {
    return this.audited(who, 'incident.resolve', `incident ${id}`, () => ({
      result: this.intake.resolve(id, who, note),
      detail: note ?? '',
    }));
  }

  noteIncident(id: number, who: string, text: string): Incident {
    return this.audited(who, 'incident.note', `incident ${id}`, () => ({
      result: this.intake.note(id, who, text),
      detail: text,
    }));
  }

  /** One runbook step by hand on an incident; the recovery engine audits the action it takes. */
  runStep(
    id: number,
    req: { runbook: string; step: number; outcome?: string | undefined },
    who: string,
  ): Promise<StepOutcome & { incident: Incident }> {
    return this.intake.step(id, req, who);
  }

  runbooks(): RunbookSummary[] {
    return this.intake
      .runbooks()
      .map((b) => ({ name: b.name, title: b.title, matches: b.matches, steps: b.steps }));
  }

  runbook(name: string): RunbookView {
    const { file: _file, ...rest } = this.intake.runbook(name);
    return rest;
  }

  /** An Alertmanager webhook: one signal per alert, the incidents they went to. */
  alertmanager(p: AlertmanagerPayload, who: string): Promise<{ incidents: number[] }> {
    return this.auditedAsync(who, 'alerts.alertmanager', p.groupKey, async () => {
      const incidents = await this.intake.alertmanager(p);
      return {
        result: { incidents },
        detail: `${p.alerts.length} alert(s) ${p.status} → incident(s) ${incidents.join(', ') || 'none'}`,
      };
    });
  }

  /** Takes a signal into the incidents (also what tests and the hosting process feed in). */
  signal(s: SignalInput): { incident: Incident } | undefined {
    return this.intake.signal(s);
  }

  /** Open incidents. */
  openIncidents(): Incident[] {
    return this.intake.open();
  }

  // ---- what the hosting process feeds in -------------------------------------------------------------

  /** After a restart: environments back from the store, their resources locked again. */
  restore(): RestoreSummary {
    const summary = this.environments.restore({
      unreadable: (id, label, err) =>
        this.o.ers?.raise(
          'daqops.platform.RestoreFailed',
          `environment ${id}: ${label} cannot be read again: ${message(err)}`,
          { environment: id },
        ),
    });
    for (const env of this.environments.all())
      if (env.holdsResources())
        this.ledger.restore(
          env.id,
          env.taskList().map((t) => ({
            task: t.name,
            node: t.node,
            numa: t.numa,
            cpus: t.cpus,
            memoryMiB: t.memoryMiB,
          })),
        );
    this.updateGauges();
    return summary;
  }

  async agentRegistered(topology: NodeTopology, reports: readonly TaskReport[]): Promise<void> {
    await this.agents.registered(topology, reports);
    this.updateGauges();
  }

  async taskReports(node: string, reports: readonly TaskReport[]): Promise<void> {
    await this.agents.reports(node, reports);
  }

  async agentLost(node: string): Promise<void> {
    await this.agents.lost(node);
    this.updateGauges();
  }

  taskEvent(node: string, r: TaskReport, event: string): void {
    this.intake.taskEvent(node, r, event);
  }

  ersIssue(i: ErsIssue): void {
    this.intake.ersIssue(i);
  }

  kafkaReachability(brokers: readonly string[], reachable: boolean, detail: string): void {
    this.intake.kafkaReachability(brokers, reachable, detail);
  }

  /** Resolves what has settled (call every second). */
  tick(): void {
    this.intake.tick();
  }

  /** An environment's Kafka namespace, when it exists. */
  namespaceOf(id: string): string | undefined {
    return this.environments.find(id)?.namespace;
  }

  /** Environments and tasks by state, for the platform's /metrics. */
  updateGauges(): void {
    if (this.o.metrics !== undefined)
      updatePlatformGauges(this.o.metrics, this.environments.all(), this.o.store);
  }

  /** Listens to what changes (environments, incidents, runs, agents); returns how to stop listening. */
  subscribe(listener: (c: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The hosting process says an agent came, went or reported. */
  agentChanged(node: string): void {
    this.changed({ kind: 'agent', id: node });
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private changed(c: Change): void {
    for (const l of this.listeners) l(c);
  }

  private view(env: Environment): EnvironmentView {
    const running = env.state === 'RUNNING';
    return {
      id: env.id,
      template: env.template.name,
      namespace: env.namespace,
      state: env.state,
      run: env.run,
      rollUp: env.rollUp(),
      masks: env.masks.map((m) => ({ ...m })),
      allowed: env.transitionUnderWay === undefined ? allowedEnvironmentTransitions(env.state) : [],
      transition: env.transitionUnderWay,
      runStart: running ? env.runTimes.start : undefined,
      startedBy: running
        ? (this.startedBy.get(env.id) ?? this.o.store.run(env.run ?? 0)?.startedBy)
        : undefined,
      tasks: env.taskList().map((t) => ({ ...t })),
    };
  }

  private audited<T>(
    who: string,
    action: string,
    target: string,
    f: () => { result: T; target?: string; detail?: string },
  ): T {
    try {
      const r = f();
      this.audit({ who, action, target: r.target ?? target, result: 'ok', detail: r.detail ?? '' });
      return r.result;
    } catch (err) {
      this.audit({ who, action, target, result: 'error', detail: message(err) });
      throw err;
    }
  }

  private async auditedAsync<T>(
    who: string,
    action: string,
    target: string,
    f: () => Promise<{ result: T; detail?: string }>,
  ): Promise<T> {
    try {
      const r = await f();
      this.audit({ who, action, target, result: 'ok', detail: r.detail ?? '' });
      return r.result;
    } catch (err) {
      this.audit({ who, action, target, result: 'error', detail: message(err) });
      throw err;
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type { Incident };
