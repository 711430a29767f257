/**
 * The HTTP API (fastify): every request validated by its JSON schema, errors as `{code, message}`,
 * bearer tokens with roles (no token → 401, too small a role → 403), every state-changing call audited,
 * and the OpenAPI document at /openapi.json.
 */
import { prometheusTargets } from '../monitoring/prometheus-sd.js';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { environmentTransitions, isEnvironmentTransition } from '../../protocol/states.js';
import { isDaqError, type ErrorCode } from '../../protocol/errors.js';
import type { Platform } from '../platform.js';
import { incidentRoutes } from './incident-routes.js';
import type { PlatformStore } from '../store/store.js';
import { allows, type Principal, type Role, type TokenBook } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const STATUS: Partial<Record<ErrorCode | 'UNAUTHORIZED' | 'FORBIDDEN' | 'BAD_REQUEST', number>> = {
  ILLEGAL_TRANSITION: 409,
  INVALID_TEMPLATE: 400,
  INVALID_RUNBOOK: 400,
  NOT_FOUND: 404,
  INVALID_CONFIG: 400,
  PLACEMENT_FAILED: 409,
  TIMEOUT: 504,
  INVALID_FAULT: 400,
  TOO_MANY_FAULTS: 409,
};

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly role: Role;
  readonly summary: string;
  readonly schema?: Record<string, unknown>;
  readonly handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

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

export function buildApi(
  platform: Platform,
  store: PlatformStore,
  tokens: TokenBook,
  agents: () => AgentSummary[] = () => [],
  metricsText?: () => Promise<string>,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false, allErrors: false, allowUnionTypes: true } },
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as { validation?: unknown; message?: string; statusCode?: number };
    if (e.validation !== undefined) {
      void reply.status(400).send({ code: 'BAD_REQUEST', message: e.message ?? 'invalid request' });
      return;
    }
    if (isDaqError(err)) {
      void reply.status(STATUS[err.code] ?? 400).send({ code: err.code, message: err.message });
      return;
    }
    void reply.status(e.statusCode ?? 500).send({ code: 'INTERNAL', message: e.message ?? String(err) });
  });
  app.setNotFoundHandler(
    (req, reply) =>
      void reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` }),
  );

  const routes: Route[] = [
    {
      method: 'GET',
      url: '/api/v1/environments',
      role: 'viewer',
      summary: 'List environments',
      handler: () => Promise.resolve([...platform.environments.values()].map((e) => platform.view(e))),
    },
    {
      method: 'POST',
      url: '/api/v1/environments',
      role: 'expert',
      summary: 'Create an environment from a workflow template',
      schema: {
        body: {
          type: 'object',
          required: ['template'],
          additionalProperties: false,
          properties: {
            template: { type: 'string', minLength: 1 },
            vars: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
          },
        },
      },
      handler: async (req, reply) => {
        const body = req.body as { template: string; vars?: Record<string, string | number | boolean> };
        const env = platform.createEnvironment(body.template, body.vars ?? {}, who(req));
        return reply.status(201).send(platform.view(env));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/environments/:id',
      role: 'viewer',
      summary: 'One environment with its tasks',
      schema: { params: { type: 'object', properties: { id: { type: 'string' } } } },
      handler: (req) => Promise.resolve(platform.view(platform.get((req.params as { id: string }).id))),
    },
    {
      method: 'POST',
      url: '/api/v1/environments/:id/transitions',
      role: 'shifter',
      summary: 'Run a transition (DEPLOY, CONFIGURE, START_ACTIVITY, …)',
      schema: {
        params: { type: 'object', properties: { id: { type: 'string' } } },
        body: {
          type: 'object',
          required: ['transition'],
          additionalProperties: false,
          properties: { transition: { type: 'string', enum: [...environmentTransitions] } },
        },
      },
      handler: async (req) => {
        const { id } = req.params as { id: string };
        const { transition } = req.body as { transition: string };
        if (!isEnvironmentTransition(transition))
          throw new Error('unreachable: schema checks the transition');
        await platform.transition(id, transition, who(req), headerOf(req, 'traceparent'));
        return platform.view(platform.get(id));
      },
    },
    {
      method: 'POST',
      url: '/api/v1/environments/:id/faults',
      role: 'shifter',
      summary:
        'Inject a drill fault into the emulated detector (noisy-channel, dead-chamber, rate-change, stalled-link, clear)',
      schema: {
        params: { type: 'object', properties: { id: { type: 'string' } } },
        // The fault's fields are checked by protocol/faults.ts, which names the field and the problem.
        body: { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } } },
      },
      handler: async (req, reply) => {
        const { id } = req.params as { id: string };
        return reply.status(202).send(await platform.injectFault(id, req.body, who(req)));
      },
    },
    ...incidentRoutes(platform, store, who),
    {
      method: 'GET',
      url: '/api/v1/agents',
      role: 'viewer',
      summary: 'Nodes whose agents joined, and whether they are connected',
      handler: () => Promise.resolve(agents()),
    },
    {
      method: 'GET',
      url: '/api/v1/prometheus/targets',
      role: 'viewer',
      summary: "Prometheus HTTP service discovery: every agent's /metrics, labelled by node",
      handler: () =>
        Promise.resolve(prometheusTargets(agents().map((a) => ({ node: a.node, metrics: a.metrics })))),
    },
    {
      method: 'GET',
      url: '/api/v1/runs',
      role: 'viewer',
      summary: 'The run registry, newest first',
      handler: () => Promise.resolve(store.runs()),
    },
    {
      method: 'GET',
      url: '/api/v1/runs/:run',
      role: 'viewer',
      summary: 'One run: template, variables, who started it, its four times, its reconciliation',
      schema: { params: { type: 'object', properties: { run: { type: 'integer', minimum: 1 } } } },
      handler: async (req, reply) => {
        const r = store.run((req.params as { run: number }).run);
        return r === undefined ? reply.status(404).send({ code: 'NOT_FOUND', message: 'no such run' }) : r;
      },
    },
    {
      method: 'GET',
      url: '/api/v1/audit',
      role: 'admin',
      summary: 'The audit log, newest first',
      handler: () => Promise.resolve(store.auditLog()),
    },
  ];

  const stateChanging = (m: string): boolean => m !== 'GET';
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      ...(r.schema === undefined ? {} : { schema: r.schema }),
      preHandler: async (req, reply) => {
        const auth = req.headers.authorization;
        const principal =
          auth?.startsWith('Bearer ') === true ? tokens.principals.get(auth.slice(7)) : undefined;
        if (principal === undefined) {
          if (stateChanging(r.method))
            store.audit({
              who: 'anonymous',
              action: `${r.method} ${r.url}`,
              target: req.url,
              result: 'unauthorized',
              detail: '',
            });
          return reply.status(401).send({ code: 'UNAUTHORIZED', message: 'a bearer token is required' });
        }
        if (!allows(principal.role, r.role)) {
          if (stateChanging(r.method))
            store.audit({
              who: `${principal.role}:${principal.name}`,
              action: `${r.method} ${r.url}`,
              target: req.url,
              result: 'forbidden',
              detail: '',
            });
          return reply.status(403).send({
            code: 'FORBIDDEN',
            message: `${r.method} ${r.url} needs the ${r.role} role; ${principal.name} is ${principal.role}`,
          });
        }
        req.principal = principal;
        return undefined;
      },
      handler: r.handler,
    });
  }

  // Prometheus scrapes without a token, as it does every exporter on the DAQ network; nothing here changes state.
  if (metricsText !== undefined) {
    app.get('/metrics', async (_req, reply) =>
      reply.header('content-type', 'text/plain; version=0.0.4').send(await metricsText()),
    );
  }

  app.get('/openapi.json', () => ({
    openapi: '3.0.3',
    info: { title: 'daqops platform API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths: Object.fromEntries(
      [...new Set(routes.map((r) => r.url))].map((url) => [
        url.replace(/:(\w+)/g, '{$1}'),
        Object.fromEntries(
          routes
            .filter((r) => r.url === url)
            .map((r) => [
              r.method.toLowerCase(),
              {
                summary: `${r.summary} (role: ${r.role})`,
                ...(r.schema?.['body'] === undefined
                  ? {}
                  : { requestBody: { content: { 'application/json': { schema: r.schema['body'] } } } }),
                responses: {
                  '200': { description: 'OK' },
                  '400': { description: '{code, message}' },
                  '401': { description: 'no token' },
                  '403': { description: 'role too small' },
                },
              },
            ]),
        ),
      ]),
    ),
  }));
  return app;
}

function who(req: FastifyRequest): string {
  return req.principal === undefined ? 'anonymous' : `${req.principal.role}:${req.principal.name}`;
}

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
