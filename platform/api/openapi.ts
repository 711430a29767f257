/** /openapi.json: the OpenAPI 3.1 document built from the route declarations (route.ts). */
import type { Route } from './route.js';
import * as R from './responses.js';
import type * as S from './schemas.js';

/** The OpenAPI 3.1 document of the routes: parameters, bodies, each response with its status and schema. */
export function openApi(routes: readonly Route[]): Record<string, unknown> {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: R.errorResponse } },
  });
  const describe: Record<number, string> = {
    400: 'bad request: the message names the field',
    401: 'no valid bearer token',
    403: 'role too small',
    404: 'no such resource',
    409: 'refused in the current state (the message names it)',
    413: 'body too large',
    422: 'the request fits the schema but its content does not hold up (the message names the field)',
    415: 'the body must be application/json',
    500: 'internal error',
    502: 'an agent or a critical task failed',
    503: 'an agent is not connected',
    504: 'an agent did not answer in time',
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const statuses = new Set<number>([400, 401, 403, 500, ...(r.errors ?? [])]);
    if (r.params !== undefined) statuses.add(404);
    if (r.body !== undefined) {
      statuses.add(413);
      statuses.add(415);
      statuses.add(422);
    }
    const params = Object.entries(
      ((r.params as S.Schema | undefined)?.['properties'] ?? {}) as Record<string, S.Schema>,
    ).map(([name, schema]) => ({
      name,
      in: 'path',
      required: true,
      schema,
    }));
    const query = Object.entries(
      ((r.query as S.Schema | undefined)?.['properties'] ?? {}) as Record<string, S.Schema>,
    ).map(([name, schema]) => ({
      name,
      in: 'query',
      required: false,
      schema,
    }));
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      summary: `${r.summary} (role: ${r.role})`,
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(params.length + query.length === 0 ? {} : { parameters: [...params, ...query] }),
      ...(r.body === undefined
        ? {}
        : {
            requestBody: {
              required: r.bodyRequired ?? true,
              content: { 'application/json': { schema: r.body } },
            },
          }),
      responses: {
        [String(r.ok.status)]: {
          description: 'OK',
          content: { [r.ok.type ?? 'application/json']: { schema: r.ok.schema } },
        },
        ...Object.fromEntries([...statuses].sort().map((s) => [String(s), error(describe[s] ?? 'error')])),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'daqops platform API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
