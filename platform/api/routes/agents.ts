/** The nodes whose agents joined, draining them, and Prometheus' service discovery of their /metrics. */
import type { Platform } from '../../platform.js';
import { prometheusTargets } from '../../monitoring/prometheus-sd.js';
import { route, type Route } from '../route.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';

export interface AgentSummary {
  readonly node: string;
  readonly connected: boolean;
  readonly lost: boolean;
  readonly tasks: number;
  readonly cores: number;
  readonly lastSeenMs: number;
  /** host:port of its /metrics (Prometheus service discovery). */
  readonly metrics?: string | undefined;
  /** Drained: takes no new task. */
  readonly cordoned?: boolean | undefined;
}

export function agentRoutes(agents: () => AgentSummary[], platform: Platform): Route[] {
  return [
    route({
      method: 'POST',
      url: '/api/v1/nodes/:node/drain',
      role: 'expert',
      summary:
        "Drain a node: no new tasks; running environments' tasks move off it stoplessly, a non-critical readout wired there is excluded (refused, 409, for a critical one)",
      params: S.nodeParams,
      body: S.nodeActionBody,
      ok: { status: 200, schema: R.drainResult },
      handler: ({ params, body, who }) => platform.nodes.drain(params.node, who, body.reason),
    }),
    route({
      method: 'POST',
      url: '/api/v1/nodes/:node/uncordon',
      role: 'expert',
      summary: 'Let a drained node take tasks again',
      params: S.nodeParams,
      body: S.nodeActionBody,
      ok: { status: 200, schema: R.uncordonResult },
      handler: ({ params, body, who }) => platform.nodes.uncordon(params.node, who, body.reason),
    }),
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
