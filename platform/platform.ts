/**
 * The central platform, as the API, the CLI and the process that hosts it see it: typed methods for
 * everything a person or an agent can do, each state-changing one audited here and nowhere else. The
 * work is done by parts with one job each (docs/platform.md "Parts"):
 *
 * - control/repository.ts — environments and their record in the store (save, restore);
 * - control/environment.ts — one environment's state machine, tasks and failure semantics;
 * - control/event-sink.ts — what a control event sets off (ERS issue, signal, run registry);
 * - agents/reconciler.ts — agents registering, reporting and lost;
 * - audit.ts — the one place audit records are written;
 * - incident-desk.ts — the incidents and runbooks, audited (`platform.incidents`);
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
import type { EnvironmentTransition } from '../protocol/states.js';
import type { Role, TokenHolder, TokenStore } from './api/auth.js';
import { AgentReconciler } from './agents/reconciler.js';
import { Auditor, errorMessage, type AuditRecord } from './audit.js';
import { IncidentDesk } from './incident-desk.js';
import { DataDesk } from './data-desk.js';
import { NodeDesk } from './node-desk.js';
import { Environment } from './control/environment.js';
import { ControlEventSink } from './control/event-sink.js';
import { checkMasks, drillFault } from './control/drills.js';
import { EnvironmentRepository, type RestoreSummary } from './control/repository.js';
import type { ControlEvent, MaskedCell } from './control/types.js';
import { IncidentIntake } from './incidents/intake.js';
import type { Incident } from './incidents/types.js';
import { updatePlatformGauges } from './monitoring/gauges.js';
import { ResourceLedger } from './placement/ledger.js';
import { RunbookActions } from './recovery/actions.js';
import type { AuditEntry, RunRecord } from './store/store.js';
import { TemplateLibrary, type TemplateSource } from './workflow/library.js';
import type { VarValue } from './workflow/template.js';

export type { RestoreSummary } from './control/repository.js';

export type { DrainResult } from './node-desk.js';

import {
  environmentView,
  type Change,
  type EnvironmentView,
  type PlatformOptions,
  type RunbookSummary,
  type RunbookView,
} from './views.js';

export type { Change, EnvironmentView, PlatformOptions, RunbookSummary, RunbookView };

export class Platform {
  readonly ledger: ResourceLedger;
  private readonly library: TemplateLibrary;
  private readonly environments: EnvironmentRepository;
  private readonly intake: IncidentIntake;
  /** The incidents and runbooks, audited (incident-desk.ts). */
  readonly incidents: IncidentDesk;
  /** What the data path says: dataflow rates, occupancy, monitoring aggregates, run balances (data-desk.ts). */
  readonly data: DataDesk;
  /** The nodes' lifecycle: drain and uncordon, audited (node-desk.ts). */
  readonly nodes: NodeDesk;
  private readonly auditor: Auditor;
  private readonly agents: AgentReconciler;
  private readonly events: ControlEventSink;
  private readonly startedBy = new Map<string, string>();
  private readonly listeners = new Set<(c: Change) => void>();

  constructor(private readonly o: PlatformOptions) {
    this.ledger = o.ledger ?? new ResourceLedger();
    this.auditor = new Auditor(o.store);
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
            ...(o.prepareTopics === undefined ? {} : { prepareTopics: o.prepareTopics }),
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
    this.incidents = new IncidentDesk(this.intake, this.auditor);
    this.nodes = new NodeDesk({
      environments: this.environments,
      ledger: this.ledger,
      store: o.store,
      driver: o.driver,
      auditor: this.auditor,
      changed: (c) => this.changed(c),
      updateGauges: () => this.updateGauges(),
    });
    this.data = new DataDesk({
      environments: this.environments,
      run: (run) => this.run(run),
      ...(o.rates === undefined ? {} : { rates: o.rates }),
      ...(o.feed === undefined ? {} : { feed: o.feed }),
    });
    this.events = new ControlEventSink({
      store: o.store,
      environments: this.environments,
      signal: (s) => this.intake.signal(s),
      startedBy: (id) => this.startedBy.get(id) ?? 'unknown',
      ers: o.ers,
      next: (e) => {
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
    return this.events.recent(id);
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
    return this.auditor.audited(who, 'env.create', what, () => {
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
      if (t === 'EXIT') {
        this.intake.environmentEnded(id);
        this.o.feed?.forget(env.namespace);
      }
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
        detail: `${t}: ${errorMessage(err)}`,
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
    return this.auditor.auditedAsync(who, 'environment.fault', id, async () => {
      const { fault, targets } = drillFault(env, input);
      await Promise.all(
        targets.map((t) => this.o.driver.fault(t.node, { environment: id, task: t.name }, fault)),
      );
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
    return this.auditor.audited(who, 'env.masks', id, () => {
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
    return this.auditor.auditedAsync(who, 'env.move-task', id, async () => {
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

  /** A new token for a person (shown once, in the answer); ILLEGAL_TRANSITION when they hold one. Audited. */
  createToken(book: TokenStore, name: string, role: Role, who: string): TokenHolder & { token: string } {
    return this.auditor.audited(who, 'token.create', name, () => ({
      result: book.create(name, role),
      detail: role,
    }));
  }

  /** Revokes a person's token (their next call is 401); the last admin's is refused. Audited. */
  revokeToken(book: TokenStore, name: string, who: string): TokenHolder {
    return this.auditor.audited(who, 'token.revoke', name, () => {
      const t = book.revoke(name);
      return { result: t, detail: t.role };
    });
  }

  /** Writes an audit record (audit.ts: the one place they are written). */
  audit(e: AuditRecord): void {
    this.auditor.record(e);
  }

  // ---- what the hosting process feeds in -------------------------------------------------------------

  /** After a restart: environments back from the store, their resources locked again, drains kept. */
  restore(): RestoreSummary {
    for (const c of this.o.store.cordons()) this.ledger.cordon(c.node);
    const summary = this.environments.restore({
      unreadable: (id, label, err) =>
        this.o.ers?.raise(
          'daqops.platform.RestoreFailed',
          `environment ${id}: ${label} cannot be read again: ${errorMessage(err)}`,
          { environment: id },
        ),
      holds: (env) => this.ledger.restore(env.id, env.placed()),
    });
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
    return environmentView(env, (run) => this.startedBy.get(env.id) ?? this.o.store.run(run)?.startedBy);
  }
}

export type { Incident };
