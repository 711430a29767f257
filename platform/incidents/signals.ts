/**
 * Signals from each source, mapped onto a component: Alertmanager alerts (webhook version 4), ERS
 * issues (Warning and above), run-control events (task failures, transition and hook failures), task
 * exits and lost agents. Fingerprints make the same fault from the same source fold into one signal.
 */
import type { ErsIssue, ErsSeverity } from '../../protocol/ers.js';
import type { ControlEvent } from '../control/types.js';
import type { Component, IncidentSeverity, SignalInput } from './types.js';
import { incidentSeverities } from './types.js';

/** One alert of an Alertmanager webhook (version 4), as validated by the API's JSON schema. */
export interface AlertmanagerAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly fingerprint: string;
  readonly generatorURL?: string;
}

export interface AlertmanagerPayload {
  readonly version: string;
  readonly groupKey: string;
  readonly status: 'firing' | 'resolved';
  readonly receiver?: string | undefined;
  readonly alerts: readonly AlertmanagerAlert[];
}

function componentOf(labels: Readonly<Record<string, string | undefined>>): Component {
  if (labels['task'] !== undefined) return { kind: 'task', id: labels['task'] };
  if (labels['link'] !== undefined) return { kind: 'link', id: labels['link'] };
  if (labels['node'] !== undefined) return { kind: 'node', id: labels['node'] };
  return { kind: 'environment', id: labels['environment'] ?? 'unknown' };
}

function alertSeverity(s: string | undefined): IncidentSeverity {
  return (incidentSeverities as readonly string[]).includes(s ?? '') ? (s as IncidentSeverity) : 'warning';
}

export function alertSignals(p: AlertmanagerPayload): SignalInput[] {
  return p.alerts.map((a) => ({
    fingerprint: `alertmanager/${a.fingerprint}`,
    source: 'alertmanager',
    name: a.labels['alertname'] ?? 'UnnamedAlert',
    severity: alertSeverity(a.labels['severity']),
    environment: a.labels['environment'],
    component: componentOf(a.labels),
    taskKind: a.labels['kind'],
    summary: a.annotations['summary'] ?? a.annotations['description'] ?? a.labels['alertname'] ?? '',
    at: a.startsAt,
    status: a.status,
    point: false,
    labels: a.labels,
  }));
}

const ERS_SEVERITY: Partial<Record<ErsSeverity, IncidentSeverity>> = {
  Warning: 'warning',
  Error: 'error',
  Fatal: 'critical',
};

const NAMED_KINDS = new Set(['task', 'link', 'node', 'environment']);

/** `kind:id` of a component an ERS issue names (parameter `component`); undefined when it names none. */
function componentParameter(v: unknown): Component | undefined {
  if (typeof v !== 'string') return undefined;
  const at = v.indexOf(':');
  const kind = v.slice(0, at);
  const id = v.slice(at + 1);
  if (at <= 0 || id === '' || !NAMED_KINDS.has(kind)) return undefined;
  return { kind: kind as Component['kind'], id };
}

/** An ERS issue of severity Warning or above as a point signal; undefined below Warning. */
/** ERS records that are output, not issues: a task's stray stderr lines. */
const NOT_SIGNALS = new Set(['daqops.agent.WorkloadOutput']);

export function ersSignal(i: ErsIssue, taskKind?: string): SignalInput | undefined {
  const severity = ERS_SEVERITY[i.severity];
  if (severity === undefined || NOT_SIGNALS.has(i.name)) return undefined;
  const p = i.parameters;
  // What the issue says it is about (`component: kind:id`, e.g. the link of a noisy channel), else the
  // task it is about (a parameter of the agent's issues), else the task that raised it.
  const named = componentParameter(p['component']);
  const task = typeof p['task'] === 'string' ? p['task'] : i.context.task;
  const component: Component =
    named !== undefined
      ? named
      : task !== undefined
        ? { kind: 'task', id: task }
        : p['link'] !== undefined
          ? { kind: 'link', id: String(p['link']) }
          : p['node'] !== undefined
            ? { kind: 'node', id: String(p['node']) }
            : { kind: 'environment', id: i.context.environment ?? 'unknown' };
  const environment =
    i.context.environment ?? (typeof p['environment'] === 'string' ? p['environment'] : undefined);
  return {
    fingerprint: `ers/${environment ?? ''}/${component.kind}:${component.id}/${i.name}`,
    source: 'ers',
    name: i.name,
    severity,
    environment,
    component,
    // The raising task's kind says nothing about a link or the environment an issue names.
    taskKind: named === undefined || named.kind === 'task' ? taskKind : undefined,
    summary: i.message,
    at: i.time,
    status: 'firing',
    point: true,
  };
}

/**
 * Run-control events as signals: a task in ERROR or LOST (resolved when it runs again), a failed or timed-out
 * transition, a failed hook. Other events say nothing an operator must act on.
 */
export function controlSignal(
  e: ControlEvent,
  task?: { workload: string; critical: boolean },
): SignalInput | undefined {
  if (e.kind === 'task') {
    // LOST is a failure the platform cannot see into (its node is gone); an excluded task lost with its
    // node takes part in nothing, and a signal about it would never resolve.
    const down = e.state === 'ERROR' || (e.state === 'LOST' && !e.excluded);
    if (!down && e.state !== 'RUNNING') return undefined;
    return {
      fingerprint: `control/${e.environment}/task:${e.task}/TaskFailed`,
      source: 'control',
      name: 'TaskFailed',
      severity: task?.critical === false ? 'warning' : 'error',
      environment: e.environment,
      component: { kind: 'task', id: e.task },
      taskKind: task?.workload,
      summary: `task ${e.task} ${e.state === 'ERROR' ? 'failed' : e.state === 'LOST' ? 'lost' : 'is running'}${e.message === undefined ? '' : `: ${e.message}`}`,
      at: e.at,
      status: down ? 'firing' : 'resolved',
      point: false,
    };
  }
  if ((e.kind === 'environment' || e.kind === 'hook') && e.status !== 'STARTED' && e.status !== 'DONE_OK') {
    const timedOut =
      e.status === 'DONE_TIMEOUT' || /within \d+ ?ms|timed out|did not (answer|finish)/.test(e.error ?? '');
    const name = timedOut ? 'TransitionTimeout' : e.kind === 'hook' ? 'HookFailed' : 'TransitionFailed';
    return {
      fingerprint: `control/${e.environment}/${e.kind === 'hook' ? `hook:${e.hook}` : 'environment'}/${e.transition}/${name}`,
      source: 'control',
      name,
      severity: 'error',
      environment: e.environment,
      component: { kind: 'environment', id: e.environment },
      summary: `${e.kind === 'hook' ? `hook ${e.hook} at ` : ''}${e.transition}: ${e.error ?? e.status}`,
      at: e.at,
      status: 'firing',
      point: true,
    };
  }
  return undefined;
}

/** A task process that exited without being asked to (point signal; its ERROR state is TaskFailed). */
export function exitSignal(environment: string, task: string, kind: string, message: string): SignalInput {
  return {
    fingerprint: `agent/${environment}/task:${task}/TaskExited`,
    source: 'agent',
    name: 'TaskExited',
    severity: 'error',
    environment,
    component: { kind: 'task', id: task },
    taskKind: kind,
    summary: `task ${task} ${message}`,
    at: new Date().toISOString(),
    status: 'firing',
    point: true,
  };
}

/** A lost agent, once per environment that had tasks on its node (resolved when it registers again). */
export function agentLostSignal(node: string, environment: string | undefined, lost: boolean): SignalInput {
  return {
    fingerprint: `control/${environment ?? ''}/node:${node}/AgentLost`,
    source: 'control',
    name: 'AgentLost',
    severity: 'critical',
    environment,
    component: { kind: 'node', id: node },
    summary: lost ? `agent of node ${node} missed its heartbeats` : `agent of node ${node} is back`,
    at: new Date().toISOString(),
    status: lost ? 'firing' : 'resolved',
    point: false,
  };
}

/**
 * The platform's own view of Kafka for one environment: firing while no broker answers it, resolved when
 * one does again. Everything a client says meanwhile (commits refused, its log) joins this incident.
 */
export function kafkaSignal(
  environment: string,
  brokers: readonly string[],
  unreachable: boolean,
  detail: string,
): SignalInput {
  const id = brokers.join(',');
  return {
    fingerprint: `control/${environment}/kafka:${id}/KafkaUnreachable`,
    source: 'control',
    name: 'KafkaUnreachable',
    severity: 'critical',
    environment,
    component: { kind: 'kafka', id },
    summary: unreachable ? `no Kafka broker answers at ${id}: ${detail}` : `Kafka at ${id} answers again`,
    at: new Date().toISOString(),
    status: unreachable ? 'firing' : 'resolved',
    point: false,
  };
}
