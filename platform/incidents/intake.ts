/**
 * Where signals become incidents and incidents start recovery: run-control events, task exits, ERS issues,
 * Kafka reachability and Alertmanager's webhooks go into the correlator; an incident that a runbook should
 * act on starts it. Also what people do to incidents (acknowledge, resolve, note, run a runbook step), the
 * incident gauges and the detect/resolve times. docs/incidents.md.
 */
import type { TaskReport } from '../../protocol/agent-link.js';
import { DaqError } from '../../protocol/errors.js';
import type { ErsIssue } from '../../protocol/ers.js';
import type { Metrics } from '../../lib/metrics.js';
import type { Environment } from '../control/environment.js';
import type { EnvironmentRepository } from '../control/repository.js';
import type { TaskStatus } from '../control/types.js';
import {
  RecoveryEngine,
  type PageOptions,
  type RecoveryTarget,
  type StepOutcome,
} from '../recovery/engine.js';
import type { Runbook } from '../runbooks/runbook.js';
import type { PlatformStore } from '../store/store.js';
import { Correlator, type IncidentChange, type Ingested } from './correlator.js';
import { alertSignals, ersSignal, exitSignal, kafkaSignal, type AlertmanagerPayload } from './signals.js';
import { DataflowTopology } from './topology.js';
import type { Incident, IncidentState, SignalInput } from './types.js';

export interface IntakeOptions {
  readonly store: PlatformStore;
  readonly environments: EnvironmentRepository;
  readonly target: RecoveryTarget;
  readonly runbooks: readonly Runbook[];
  readonly page?: PageOptions | undefined;
  readonly metrics?: Metrics | undefined;
  /** Correlation window, settle and quiet times (ms) of incidents. */
  readonly timing?: { windowMs?: number; settleMs?: number; quietMs?: number } | undefined;
  /** Told of every change of an incident (the live feed of the API). */
  readonly onIncident?: ((inc: Incident) => void) | undefined;
}

/** Alerts folded between two turns of the event loop (about 10 ms of work). */
const ALERT_SLICE = 250;

/** Control signals that start a runbook when they open an incident. */
const DRIVING_CONTROL = new Set(['TransitionTimeout', 'TransitionFailed', 'HookFailed']);

export class IncidentIntake {
  private readonly correlator: Correlator;
  private readonly recovery: RecoveryEngine;
  /** Incidents changed during a batch of signals, written once when it ends (alertmanager()). */
  private batch: Map<number, Incident> | undefined;

  constructor(private readonly o: IntakeOptions) {
    this.correlator = new Correlator({
      ...(o.timing ?? {}),
      firstId: o.store.lastIncidentId() + 1,
      topology: (id) => {
        const env = o.environments.find(id);
        return env === undefined ? undefined : topologyOf(env);
      },
      onChange: (inc, change) => {
        // In a batch (one webhook of many alerts) an incident is written once at its end, not once a
        // signal: each write is the whole incident, so writing per signal grows with the square.
        // The gauge counts every open incident: in a batch it is set once at the end too.
        if (this.batch !== undefined) this.batch.set(inc.id, inc);
        else {
          o.store.saveIncident(inc);
          this.updateGauge();
        }
        this.timeIncident(inc, change);
        o.onIncident?.(inc);
      },
    });
    this.correlator.load(o.store.unresolvedIncidents());
    this.recovery = new RecoveryEngine({
      runbooks: o.runbooks,
      correlator: this.correlator,
      target: o.target,
      page: o.page,
      ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
    });
  }

  /** Takes a signal into the correlator; a new incident of an alert or a failed transition is recovered. */
  signal(s: SignalInput): Ingested | undefined {
    this.o.metrics?.counter('daq_platform_signals_total').labels({ kind: s.source }).inc();
    const r = this.correlator.ingest(s);
    // Task failures are recovered through the failure semantics (onTaskFailure); ERS issues of tasks and
    // exits are points that go with them. An alert, a failed transition, or an ERS issue about a link or
    // the environment (data quality: nothing else acts on those) that opens an incident starts its
    // runbook — or that joins one no runbook has taken yet (an incident opened by a symptom).
    const drives =
      s.source === 'alertmanager' ||
      (s.source === 'control' && DRIVING_CONTROL.has(s.name)) ||
      (s.source === 'ers' && (s.component.kind === 'link' || s.component.kind === 'environment'));
    if (r !== undefined && s.status === 'firing' && drives) {
      const untaken =
        r.change === 'signal' && r.incident.runbook === undefined && r.incident.recovery === 'none';
      if (r.change === 'opened' || untaken) void this.recovery.recover(r.incident.id);
    }
    return r;
  }

  /**
   * An Alertmanager webhook (validated by the API): one signal per alert, in slices of ALERT_SLICE with
   * the event loop free in between (the API answers while a storm of 10,000 alerts folds). Within a slice
   * each incident it changed is written once, at its end; all are on disk before the webhook is answered,
   * so what Alertmanager was told is taken is stored.
   */
  async alertmanager(p: AlertmanagerPayload): Promise<number[]> {
    const ids = new Set<number>();
    const signals = alertSignals(p);
    for (let i = 0; i < signals.length; i += ALERT_SLICE) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      this.batch = new Map();
      try {
        for (const s of signals.slice(i, i + ALERT_SLICE)) {
          const r = this.signal(s);
          if (r !== undefined) ids.add(r.incident.id);
        }
      } finally {
        const changed = this.batch;
        this.batch = undefined;
        this.o.store.saveIncidents(changed.values());
        this.updateGauge();
      }
    }
    return [...ids];
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
        : this.o.environments.find(envId)?.task(about)?.workload;
    const s = ersSignal(i, kind);
    if (s !== undefined) this.signal(s);
  }

  /** A task event from an agent: an unexpected exit is a signal (its ERROR state follows as a report). */
  taskEvent(node: string, r: TaskReport, event: string): void {
    if (event !== 'exited' || r.state === 'DONE') return;
    const t = this.o.environments.find(r.environment)?.task(r.task);
    if (t === undefined || t.node !== node) return;
    this.signal(exitSignal(r.environment, r.task, t.workload, r.message ?? 'exited'));
  }

  /** Kafka stopped or started answering: one KafkaUnreachable signal per environment with tasks out. */
  kafkaReachability(brokers: readonly string[], reachable: boolean, detail: string): void {
    for (const env of this.o.environments.all()) {
      if (env.state === 'STANDBY' || env.state === 'DONE') continue;
      this.signal(kafkaSignal(env.id, brokers, !reachable, detail));
    }
  }

  /** A task failed while its environment is up: the runbook of its incident, if one opened for it. */
  onTaskFailure(env: { readonly id: string }, t: Readonly<TaskStatus>): Promise<boolean> {
    const fingerprint = `control/${env.id}/task:${t.name}/TaskFailed`;
    const inc = this.correlator
      .open()
      .find((i) => i.signals.some((x) => x.fingerprint === fingerprint && x.status === 'firing'));
    if (inc === undefined) return Promise.resolve(false);
    return this.recovery.recover(inc.id, { kind: 'task', id: t.name });
  }

  /** An environment ended (EXIT): its incidents that need nobody any more resolve. */
  environmentEnded(id: string): void {
    for (const inc of this.correlator.open())
      if (inc.environment === id && (inc.recovery === 'none' || inc.recovery === 'succeeded'))
        this.correlator.resolve(inc.id, 'platform', 'resolved: the environment ended');
  }

  /** Open incidents that hold a firing signal of this name about this component id. */
  openWith(name: string, componentId: string): Incident[] {
    return this.correlator
      .open()
      .filter((inc) => inc.signals.some((x) => x.name === name && x.component.id === componentId));
  }

  open(): Incident[] {
    return this.correlator.open();
  }

  /** Resolves what has settled (call every second). */
  tick(): void {
    this.correlator.tick();
  }

  // ---- what people do ------------------------------------------------------------------------------

  list(state?: IncidentState): Incident[] {
    return this.o.store.incidents(state === undefined ? {} : { state });
  }

  /** One incident, live or from the store; NOT_FOUND naming the id. */
  get(id: number): Incident {
    const inc = this.correlator.find(id) ?? this.o.store.incident(id);
    if (inc === undefined) throw new DaqError('NOT_FOUND', `no incident ${id}`, { field: 'id' });
    return inc;
  }

  acknowledge(id: number, who: string): Incident {
    return this.correlator.acknowledge(this.live(id, 'acknowledged').id, who);
  }

  /** Resolves by hand (a note first, when given); an incident already resolved is answered as it is. */
  resolve(id: number, who: string, note?: string): Incident {
    const inc = this.get(id);
    if (inc.state === 'resolved') return inc;
    if (note !== undefined) this.correlator.note(id, who, note);
    return this.correlator.resolve(id, who);
  }

  note(id: number, who: string, text: string): Incident {
    return this.correlator.note(this.live(id, 'noted').id, who, text);
  }

  /** An incident that is not resolved; ILLEGAL_TRANSITION naming its state when it is. */
  private live(id: number, what: string): Incident {
    const inc = this.get(id);
    const held = this.correlator.find(id);
    if (inc.state === 'resolved' || held === undefined)
      throw new DaqError('ILLEGAL_TRANSITION', `incident ${id} is resolved: it can no longer be ${what}`, {
        field: 'state',
      });
    return held;
  }

  runbooks(): readonly Runbook[] {
    return this.o.runbooks;
  }

  /** One runbook; NOT_FOUND naming the field when there is none. */
  runbook(name: string, field = 'name'): Runbook {
    const b = this.recovery.runbook(name);
    if (b === undefined) throw new DaqError('NOT_FOUND', `no runbook ${name}`, { field });
    return b;
  }

  /** One runbook step run by hand on an incident (what `daqops runbook run` walks), on its timeline. */
  async step(
    id: number,
    req: { runbook: string; step: number; outcome?: string | undefined },
    who: string,
  ): Promise<StepOutcome & { incident: Incident }> {
    const book = this.runbook(req.runbook, 'runbook');
    const step = book.steps[req.step];
    if (step === undefined)
      throw new DaqError('INVALID_STEP', `runbook ${book.name} has steps 0–${book.steps.length - 1}`, {
        field: 'step',
      });
    const inc = this.live(id, 'worked on');
    const out = await this.recovery.step(
      inc,
      book,
      step.action === 'manual' && req.outcome !== undefined ? { ...step, detail: req.outcome } : step,
      who,
    );
    return { ...out, incident: this.correlator.get(id) };
  }

  // ---- gauges and times ----------------------------------------------------------------------------

  private updateGauge(): void {
    const g = this.o.metrics?.gauge('daq_platform_incidents');
    if (g === undefined) return;
    const count = { open: 0, acknowledged: 0, resolved: 0 };
    for (const inc of this.correlator.incidents.values()) count[inc.state]++;
    for (const state of ['open', 'acknowledged'] as const) g.labels({ state }).set(count[state]);
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
}

/** The correlator's view of an environment: its tasks by stage (role order), node and links. */
export function topologyOf(env: Environment): DataflowTopology {
  const roles = [...new Set(env.template.tasks.map((t) => t.role))];
  return new DataflowTopology(
    env.id,
    env.template.tasks.map((tt) => ({
      name: tt.name,
      workload: tt.workload,
      node: env.task(tt.name)?.node ?? '',
      stage: roles.indexOf(tt.role),
      links: tt.resources.links,
    })),
  );
}
