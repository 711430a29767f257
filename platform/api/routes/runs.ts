/** The run registry and the audit log. */
import type { Platform } from '../../platform.js';
import { route, type Route } from '../route.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';

export function runRoutes(platform: Platform): Route[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/runs',
      role: 'viewer',
      summary: 'The run registry, newest first',
      ok: { status: 200, schema: R.arrayOf(R.runRecord) },
      handler: () => platform.runs(),
    }),
    route({
      method: 'GET',
      url: '/api/v1/runs/:run',
      role: 'viewer',
      summary: 'One run: template, variables, who started it, its four times, its reconciliation',
      params: S.runParams,
      ok: { status: 200, schema: R.runRecord },
      handler: ({ params }) => platform.run(Number(params.run)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/runs/:run/balance',
      role: 'viewer',
      summary:
        "A run's data-path balance: the registry's once stored at the end of the run, else read to now from <ns>.monitoring (stale when Kafka does not answer)",
      params: S.runParams,
      ok: { status: 200, schema: R.runBalanceView },
      handler: ({ params }) => platform.data.balance(Number(params.run)),
    }),
    route({
      method: 'GET',
      url: '/api/v1/audit',
      role: 'admin',
      summary: 'The audit log, newest first',
      ok: { status: 200, schema: R.arrayOf(R.auditEntry) },
      handler: () => platform.auditLog(),
    }),
  ];
}
