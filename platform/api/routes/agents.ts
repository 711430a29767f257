/** The nodes whose agents joined, and Prometheus' service discovery of their /metrics. */
import { prometheusTargets } from '../../monitoring/prometheus-sd.js';
import { route, type Route } from '../route.js';
import * as R from '../responses.js';

export interface AgentSummary {
  readonly node: string;
  readonly connected: boolean;
  readonly lost: boolean;
  readonly tasks: number;
  readonly cores: number;
  readonly lastSeenMs: number;
  /** host:port of its /metrics (Prometheus service discovery). */
  readonly metrics?: string | undefined;
}

export function agentRoutes(agents: () => AgentSummary[]): Route[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/agents',
      role: 'viewer',
      summary: 'Nodes whose agents joined, and whether they are connected',
      ok: { status: 200, schema: R.arrayOf(R.agentSummary) },
      handler: () => agents(),
    }),
    route({
      method: 'GET',
      url: '/api/v1/prometheus/targets',
      role: 'viewer',
      summary: "Prometheus HTTP service discovery: every agent's /metrics, labelled by node",
      ok: { status: 200, schema: R.prometheusTargets },
      handler: () => prometheusTargets(agents().map((a) => ({ node: a.node, metrics: a.metrics }))),
    }),
  ];
}
