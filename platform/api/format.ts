/** One-line and detail text of what the platform API answers, for the CLI (incidents: incidents/format.ts). */
import type { AgentSummary, EnvironmentView, RunRecord } from './client.js';
import type { DrainResult } from '../platform.js';

export function envLine(e: EnvironmentView): string {
  const lost = e.tasks.filter((t) => t.state === 'LOST').length;
  const excluded = e.tasks.filter((t) => t.excluded).length;
  const more = [...(lost > 0 ? [`${lost} LOST`] : []), ...(excluded > 0 ? [`${excluded} excluded`] : [])];
  return `${e.id.padEnd(22)} ${e.state.padEnd(11)} run ${String(e.run ?? '-').padEnd(5)} tasks ${e.tasks.length} (${e.rollUp}${more.length > 0 ? `; ${more.join(', ')}` : ''})`;
}

export function envDetail(e: EnvironmentView): string {
  return [
    envLine(e),
    ...e.tasks.flatMap((t) => [
      `  ${t.name.padEnd(16)} ${t.state.padEnd(11)} ${t.node} cpus ${t.cpus.join(',') || 'shared'}${t.critical ? '' : ' (non-critical)'}${t.excluded ? ' EXCLUDED' : ''}${t.lostAt === undefined ? '' : ` since ${t.lostAt}`}`,
      ...(t.placement === undefined ? [] : [`  ${''.padEnd(16)} placed ${t.placement}`]),
    ]),
  ].join('\n');
}

export function agentLine(a: AgentSummary): string {
  return `${a.node.padEnd(20)} ${a.connected ? 'connected' : a.lost ? 'LOST' : 'away'}  ${a.cores} cores, ${a.tasks} tasks${a.cordoned === true ? ', drained' : ''}`;
}

export function drainText(r: DrainResult): string {
  return [
    `node ${r.node} drained: takes no new task`,
    ...r.moved.map((m) => `  moved ${m}`),
    ...r.excluded.map((m) => `  excluded ${m} (bound to the node's hardware)`),
    ...r.failed.map((m) => `  FAILED ${m}`),
  ].join('\n');
}

export function runLine(r: RunRecord): string {
  return `run ${String(r.run).padEnd(6)} ${r.environment.padEnd(22)} by ${r.startedBy.padEnd(18)} ${r.start ?? '-'} → ${r.endCompleted ?? 'running'}`;
}
