/** Incidents as the on-call reads them in a terminal (`daqops incidents list|show`). */
import type { Incident, Signal } from './types.js';

export function incidentLine(i: Incident): string {
  return `#${String(i.id).padEnd(5)} ${i.state.padEnd(12)} ${i.severity.padEnd(8)} ${(i.environment ?? '-').padEnd(20)} ${i.title}${i.runbook === undefined ? '' : `  [runbook ${i.runbook}, recovery ${i.recovery}]`}`;
}

export function formatIncident(i: Incident): string {
  const lines = [
    `incident #${i.id} — ${i.title}`,
    `  state      ${i.state}${i.acknowledgedBy === undefined ? '' : ` (acknowledged by ${i.acknowledgedBy})`}${i.resolvedBy === undefined ? '' : ` (resolved by ${i.resolvedBy} at ${i.resolvedAt ?? '?'})`}`,
    `  severity   ${i.severity}`,
    `  root cause ${i.root.name} on ${i.root.component.kind} ${i.root.component.id}${i.environment === undefined ? '' : ` in ${i.environment}`}`,
    `  runbook    ${i.runbook ?? 'none matches'} — recovery ${i.recovery}`,
    `  opened     ${i.openedAt}`,
    `  signals (${i.signals.length}):`,
    ...i.signals.map(
      (s) =>
        `    ${s.status === 'firing' ? 'FIRING  ' : 'resolved'} ${s.severity.padEnd(8)} ${s.source.padEnd(12)} ${s.name} on ${s.component.kind} ${s.component.id}${s.count > 1 ? ` ×${s.count}` : ''} — ${s.summary}`,
    ),
    '  timeline:',
    ...i.timeline.map(
      (e) =>
        `    ${e.at} ${e.kind.padEnd(10)} ${e.text}${e.who === undefined ? '' : ` — ${e.who}`}${e.result === undefined ? '' : ` [${e.result}]`}`,
    ),
  ];
  return lines.join('\n');
}

/** A signal's component as a title and a timeline say it: `task writer (env-1)`. */
export function label(s: {
  component: { kind: string; id: string };
  environment: string | undefined;
}): string {
  return `${s.component.kind} ${s.component.id}${s.environment === undefined ? '' : ` (${s.environment})`}`;
}

/** An incident's title: its root, and how many downstream symptoms joined it. */
export function titleOf(root: Signal, symptoms: number): string {
  return `${root.name} on ${label(root)}${symptoms > 0 ? ` (+${symptoms} downstream symptom${symptoms > 1 ? 's' : ''})` : ''}`;
}
