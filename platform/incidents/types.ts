/**
 * Incidents: signals from every source (Alertmanager, ERS, agents, run control) mapped onto an
 * environment's dataflow topology and folded into one incident per fault, with its root cause, timeline
 * and the runbook that applies (docs/incidents.md; ALICE: one crashed task must not page
 * as 100 downstream timeouts).
 */

export const incidentSeverities = ['info', 'warning', 'error', 'critical'] as const;
export type IncidentSeverity = (typeof incidentSeverities)[number];

export const signalSources = ['alertmanager', 'ers', 'agent', 'control'] as const;
export type SignalSource = (typeof signalSources)[number];

/**
 * What a signal is about: a task, a readout link, a node, a whole environment, or the Kafka cluster that
 * carries every environment's dataflow (id: its broker list).
 */
export interface Component {
  readonly kind: 'task' | 'link' | 'node' | 'environment' | 'kafka';
  readonly id: string;
}

export function componentKey(c: Component): string {
  return `${c.kind}:${c.id}`;
}

export interface SignalInput {
  /** Duplicates (a replayed alert, a repeated ERS issue) share it and fold into one signal. */
  readonly fingerprint: string;
  readonly source: SignalSource;
  /** Alert name, ERS issue name, or run-control signal name (TaskExited, TaskFailed, AgentLost, …). */
  readonly name: string;
  readonly severity: IncidentSeverity;
  readonly environment: string | undefined;
  readonly component: Component;
  /** The task's workload kind, when the component is a task (runbooks match on it). */
  readonly taskKind?: string | undefined;
  readonly summary: string;
  /** When it started (ISO-8601). */
  readonly at: string;
  readonly status: 'firing' | 'resolved';
  /** A point signal (an ERS issue, a process exit) is an event with no resolved state of its own. */
  readonly point: boolean;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Signal extends SignalInput {
  readonly firstSeen: string;
  lastSeen: string;
  count: number;
  status: 'firing' | 'resolved';
  resolvedAt: string | undefined;
}

export type TimelineKind = 'signal' | 'action' | 'note' | 'state' | 'escalation';

export interface TimelineEntry {
  readonly at: string;
  readonly kind: TimelineKind;
  readonly text: string;
  readonly who?: string;
  readonly result?: 'ok' | 'error' | 'refused';
}

export const incidentStates = ['open', 'acknowledged', 'resolved'] as const;
export type IncidentState = (typeof incidentStates)[number];

export type RecoveryStatus = 'none' | 'running' | 'succeeded' | 'failed' | 'escalated';

export interface Incident {
  readonly id: number;
  readonly environment: string | undefined;
  state: IncidentState;
  severity: IncidentSeverity;
  /** The most upstream, earliest failing component, and the signal that says so. */
  root: { component: Component; signal: string; name: string; taskKind?: string | undefined };
  title: string;
  readonly signals: Signal[];
  readonly timeline: TimelineEntry[];
  runbook: string | undefined;
  recovery: RecoveryStatus;
  readonly openedAt: string;
  updatedAt: string;
  acknowledgedBy: string | undefined;
  resolvedAt: string | undefined;
  resolvedBy: string | undefined;
}
