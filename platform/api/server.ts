/**
 * The HTTP API (fastify) over the platform's typed methods. In order, for every request: the bearer token
 * and its role (before anything reads the body: no token → 401, too small a role → 403, both audited when
 * the call would change state), the body's size and type (413, 415), its schema without type coercion
 * (400 naming the field), then the platform. Errors are `{code, message, field?}` with a code from the
 * catalogue and its HTTP status (protocol/errors.ts). /openapi.json documents every route from the same
 * declarations: parameters, bodies, each response with its status and schema. docs/platform.md "HTTP API".
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorCatalogue, isDaqError, type ErrorCode } from '../../protocol/errors.js';
import type { EnvironmentTransition } from '../../protocol/states.js';
import { prometheusTargets } from '../monitoring/prometheus-sd.js';
import type { Platform } from '../platform.js';
import type { VarValue } from '../workflow/template.js';
import { TokenStore, allows, type Principal, type Role, type TokenBook } from './auth.js';
import { incidentRoutes } from './incident-routes.js';
import { LiveFeed } from './live.js';
import { serveUi } from './ui.js';
import * as S from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface Route {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly role: Role;
  readonly summary: string;
  readonly params?: S.Schema;
  readonly query?: S.Schema;
  readonly body?: S.Schema;
  /** Whether a body must be sent (default: yes when there is a body schema). */
  readonly bodyRequired?: boolean;
  readonly bodyLimit?: number;
  /** The success status, the schema of what it answers, and its media type (default JSON). */
  readonly ok: { readonly status: 200 | 201 | 202; readonly schema: S.Schema; readonly type?: string };
  /** A route that takes the reply over (an event stream) instead of answering with a value. */
  readonly stream?: (req: FastifyRequest, reply: FastifyReply) => void;
  /** Error statuses beyond those every route may answer (400, 401, 403, 500; 404 with path parameters). */
  readonly errors?: readonly number[];
  readonly handler: (req: FastifyRequest) => Promise<unknown>;
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

export interface ApiOptions {
  readonly agents?: () => AgentSummary[];
  readonly metricsText?: () => Promise<string>;
  /** An error no code covers (a bug): the API answers 500 INTERNAL without details; this gets them. */
  readonly onInternalError?: (err: unknown, req: FastifyRequest) => void;
  /** Where the Grafana dashboards are, for the web page's links. */
  readonly grafanaUrl?: string | undefined;
}

/** The methods a path that does not take them answers with 405 (fastify routes HEAD with GET itself). */
const OTHER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'QUERY'] as const;

/** What a route that commands agents may also answer: the agent failed, is away, or did not answer. */
const AGENT_ERRORS = [409, 502, 503, 504] as const;

export function buildApi(platform: Platform, tokens: TokenBook, o: ApiOptions = {}): FastifyInstance {
  // Tokens an admin manages: the book itself when it is a store (a file), else an in-memory store over it.
  const book = tokens instanceof TokenStore ? tokens : new TokenStore(tokens);
  const agents = o.agents ?? (() => []);
  const app = Fastify({
    logger: false,
    bodyLimit: S.BODY_LIMIT,
    // Types as sent: "1" is not 1, null is not 0, true is not 1 (parameters are strings, checked by pattern).
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: false,
        allowUnionTypes: true,
      },
    },
    routerOptions: { maxParamLength: 512 },
    // A URL fastify cannot even route (bad percent-encoding, a parameter too long) answers like every
    // other error — and, like every route, 401 to a request without a valid token.
    frameworkErrors: (err, req, reply) => {
      const known = principalOf(book, req.headers.authorization) !== undefined;
      void (reply as FastifyReply)
        .status(known ? 400 : 401)
        .send(
          known
            ? { code: 'BAD_REQUEST', message: err.message.slice(0, 200) }
            : { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' },
        );
    },
  });
  // JSON only: a text body is 415, not a string the schema then refuses.
  app.removeContentTypeParser('text/plain');

  const send = (reply: FastifyReply, code: ErrorCode, message: string, field?: string): FastifyReply =>
    reply
      .status(errorCatalogue[code].http)
      .send({ code, message, ...(field === undefined ? {} : { field }) });

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as {
      validation?: { instancePath?: string; keyword?: string; params?: { allowedValues?: unknown[] } }[];
      validationContext?: string;
      message?: string;
      statusCode?: number;
    };
    if (e.validation !== undefined) {
      const first = e.validation[0];
      const where = `${e.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
      // An enum refused: say what it takes.
      const allowed = first?.keyword === 'enum' ? first.params?.allowedValues : undefined;
      const message = `${e.message ?? 'invalid request'}${allowed === undefined ? '' : `: ${allowed.map(String).join(', ')}`}`;
      return send(reply, 'BAD_REQUEST', message, where);
    }
    if (isDaqError(err)) return send(reply, err.code, err.message, err.field);
    const status = e.statusCode ?? 500;
    if (status === 413) return send(reply, 'PAYLOAD_TOO_LARGE', e.message ?? 'request body too large');
    if (status === 415) return send(reply, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
    if (status >= 400 && status < 500) return send(reply, 'BAD_REQUEST', e.message ?? 'bad request');
    o.onInternalError?.(err, req);
    return send(
      reply,
      'INTERNAL',
      "internal error; the platform's ERS log (daqops.platform.InternalError) has the details",
    );
  });
  app.setNotFoundHandler((req, reply) =>
    send(reply, 'NOT_FOUND', `no route ${req.method} ${req.url.slice(0, 200)}`),
  );

  const live = new LiveFeed(platform);
  app.addHook('onClose', (_app, done) => {
    live.close();
    done();
  });
  const who = (req: FastifyRequest): string =>
    req.principal === undefined ? 'anonymous' : `${req.principal.role}:${req.principal.name}`;

  const routes: Route[] = [
    {
      method: 'GET',
      url: '/api/v1/environments',
      role: 'viewer',
      summary: 'List environments',
      ok: { status: 200, schema: S.arrayOf(S.environmentView) },
      handler: () => Promise.resolve(platform.listEnvironments()),
    },
    {
      method: 'POST',
      url: '/api/v1/environments',
      role: 'expert',
      summary:
        "Create an environment from a workflow template: by name from the platform's template directories, or uploaded as YAML",
      body: S.createEnvironmentBody,
      ok: { status: 201, schema: S.environmentView },
      errors: [404],
      handler: (req) => {
        const b = req.body as { template?: string; templateYaml?: string; vars?: Record<string, VarValue> };
        const source = b.template !== undefined ? { name: b.template } : { yaml: b.templateYaml ?? '' };
        return Promise.resolve(platform.createEnvironment(source, b.vars ?? {}, who(req)));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/environments/:id',
      role: 'viewer',
      summary: 'One environment with its tasks',
      params: S.envParams,
      ok: { status: 200, schema: S.environmentView },
      handler: (req) => Promise.resolve(platform.environment((req.params as { id: string }).id)),
    },
    {
      method: 'POST',
      url: '/api/v1/environments/:id/transitions',
      role: 'shifter',
      summary: 'Run a transition (DEPLOY, CONFIGURE, START_ACTIVITY, …)',
      params: S.envParams,
      body: S.transitionBody,
      ok: { status: 200, schema: S.environmentView },
      errors: AGENT_ERRORS,
      handler: (req) =>
        platform.transition(
          (req.params as { id: string }).id,
          (req.body as { transition: EnvironmentTransition }).transition,
          who(req),
          headerOf(req, 'traceparent'),
        ),
    },
    {
      method: 'POST',
      url: '/api/v1/environments/:id/faults',
      role: 'shifter',
      summary:
        'Inject a drill fault into the emulated detector (noisy-channel, dead-chamber, rate-change, stalled-link, clear)',
      params: S.envParams,
      body: S.faultBody,
      ok: { status: 202, schema: S.faultResult },
      errors: AGENT_ERRORS,
      handler: (req) => platform.injectFault((req.params as { id: string }).id, req.body, who(req)),
    },
    {
      method: 'GET',
      url: '/api/v1/environments/:id/dataflow',
      role: 'viewer',
      summary: "An environment's tasks and the rates on its dataflow edges, from the agents' metrics",
      params: S.envParams,
      ok: { status: 200, schema: S.dataflowView },
      handler: (req) => Promise.resolve(platform.dataflow((req.params as { id: string }).id)),
    },
    {
      method: 'POST',
      url: '/api/v1/environments/:id/masks',
      role: 'shifter',
      summary: 'Set the cells to mask from the next CONFIGURE on (replaces the list)',
      params: S.envParams,
      body: S.masksBody,
      ok: { status: 200, schema: S.environmentView },
      handler: (req) =>
        Promise.resolve(
          platform.setMasks(
            (req.params as { id: string }).id,
            (req.body as { cells: { chamber: number; layer: number; cell: number }[] }).cells,
            who(req),
          ),
        ),
    },
    {
      method: 'GET',
      url: '/api/v1/environments/:id/events',
      role: 'viewer',
      summary: "An environment's last 100 control events: transitions, hooks and tasks as they answered",
      params: S.envParams,
      ok: { status: 200, schema: S.arrayOf(S.controlEvent) },
      handler: (req) => Promise.resolve(platform.controlEvents((req.params as { id: string }).id)),
    },
    {
      method: 'GET',
      url: '/api/v1/environments/:id/occupancy',
      role: 'viewer',
      summary: "The detector at a glance: occupancy per chamber, layer and cell and the run's hit-rate trend",
      params: S.envParams,
      ok: { status: 200, schema: S.occupancyView },
      handler: (req) => Promise.resolve(platform.occupancy((req.params as { id: string }).id)),
    },
    {
      method: 'GET',
      url: '/api/v1/live',
      role: 'viewer',
      summary: 'The live feed: a server-sent event for each environment, incident, run or agent that changed',
      ok: { status: 200, schema: S.liveStream, type: 'text/event-stream' },
      errors: [503],
      stream: (_req, reply) => live.attach(reply),
      handler: () => Promise.resolve(undefined),
    },
    {
      method: 'GET',
      url: '/api/v1/whoami',
      role: 'viewer',
      summary: 'Who the token belongs to and its role (what a page may offer), and where Grafana is',
      ok: { status: 200, schema: S.whoami },
      handler: (req) =>
        Promise.resolve({
          name: req.principal?.name ?? '',
          role: req.principal?.role ?? 'viewer',
          ...(o.grafanaUrl === undefined ? {} : { grafanaUrl: o.grafanaUrl }),
        }),
    },
    {
      method: 'GET',
      url: '/api/v1/templates',
      role: 'viewer',
      summary: 'The workflow templates environments can be created from, by name',
      ok: { status: 200, schema: S.templateList },
      handler: () => Promise.resolve(platform.templates()),
    },
    ...incidentRoutes(platform, who),
    {
      method: 'GET',
      url: '/api/v1/agents',
      role: 'viewer',
      summary: 'Nodes whose agents joined, and whether they are connected',
      ok: { status: 200, schema: S.arrayOf(S.agentSummary) },
      handler: () => Promise.resolve(agents()),
    },
    {
      method: 'GET',
      url: '/api/v1/prometheus/targets',
      role: 'viewer',
      summary: "Prometheus HTTP service discovery: every agent's /metrics, labelled by node",
      ok: { status: 200, schema: S.prometheusTargets },
      handler: () =>
        Promise.resolve(prometheusTargets(agents().map((a) => ({ node: a.node, metrics: a.metrics })))),
    },
    {
      method: 'GET',
      url: '/api/v1/runs',
      role: 'viewer',
      summary: 'The run registry, newest first',
      ok: { status: 200, schema: S.arrayOf(S.runRecord) },
      handler: () => Promise.resolve(platform.runs()),
    },
    {
      method: 'GET',
      url: '/api/v1/runs/:run',
      role: 'viewer',
      summary: 'One run: template, variables, who started it, its four times, its reconciliation',
      params: S.runParams,
      ok: { status: 200, schema: S.runRecord },
      handler: (req) => Promise.resolve(platform.run(Number((req.params as { run: string }).run))),
    },
    {
      method: 'GET',
      url: '/api/v1/tokens',
      role: 'admin',
      summary: 'Who holds a token, and with which role (never the tokens)',
      ok: { status: 200, schema: S.arrayOf(S.tokenHolder) },
      handler: () => Promise.resolve(book.holders()),
    },
    {
      method: 'POST',
      url: '/api/v1/tokens',
      role: 'admin',
      summary: 'A new token for a person, with a role; the token is in this answer only',
      body: S.createTokenBody,
      ok: { status: 201, schema: S.newToken },
      errors: [409],
      handler: (req) => {
        const { name, role } = req.body as { name: string; role: Role };
        const t = book.create(name, role);
        platform.audit({ who: who(req), action: 'token.create', target: name, result: 'ok', detail: role });
        return Promise.resolve(t);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/tokens/:name/revoke',
      role: 'admin',
      summary: "Revoke a person's token: their next call is 401",
      params: S.holderParams,
      ok: { status: 200, schema: S.tokenHolder },
      errors: [409],
      handler: (req) => {
        const { name } = req.params as { name: string };
        const t = book.revoke(name);
        platform.audit({ who: who(req), action: 'token.revoke', target: name, result: 'ok', detail: t.role });
        return Promise.resolve(t);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/audit',
      role: 'admin',
      summary: 'The audit log, newest first',
      ok: { status: 200, schema: S.arrayOf(S.auditEntry) },
      handler: () => Promise.resolve(platform.auditLog()),
    },
  ];

  for (const r of routes) {
    const stateChanging = r.method !== 'GET';
    const refuse = (
      req: FastifyRequest,
      reply: FastifyReply,
      code: 'UNAUTHORIZED' | 'FORBIDDEN',
      whom: string,
      message: string,
    ): FastifyReply => {
      if (stateChanging)
        platform.audit({
          who: whom,
          action: `${r.method} ${r.url}`,
          target: req.url.slice(0, 200),
          result: code === 'UNAUTHORIZED' ? 'unauthorized' : 'forbidden',
          detail: '',
        });
      return send(reply, code, message);
    };
    app.route({
      method: r.method,
      url: r.url,
      ...(r.bodyLimit === undefined ? {} : { bodyLimit: r.bodyLimit }),
      schema: {
        ...(r.params === undefined ? {} : { params: r.params }),
        ...(r.query === undefined ? {} : { querystring: r.query }),
        ...(r.body === undefined ? {} : { body: r.body }),
      },
      // onRequest runs before the body is read: who asks is settled before what they sent is looked at.
      onRequest: async (req, reply) => {
        const principal = principalOf(book, req.headers.authorization);
        if (principal === undefined)
          return refuse(req, reply, 'UNAUTHORIZED', 'anonymous', 'a valid bearer token is required');
        if (!allows(principal.role, r.role))
          return refuse(
            req,
            reply,
            'FORBIDDEN',
            `${principal.role}:${principal.name}`,
            `${r.method} ${r.url} needs the ${r.role} role; ${principal.name} is ${principal.role}`,
          );
        req.principal = principal;
        return undefined;
      },
      // A body the route may go without (resolve's note) is an empty object when none was sent.
      ...(r.body !== undefined && r.bodyRequired === false
        ? {
            preValidation: (req: FastifyRequest, _reply: FastifyReply, done: () => void) => {
              if (req.body === undefined) req.body = {};
              done();
            },
          }
        : {}),
      handler: async (req, reply) => {
        if (r.stream !== undefined) {
          r.stream(req, reply);
          return reply;
        }
        return reply.status(r.ok.status).send(await r.handler(req));
      },
    });
  }

  // A path called with a method it does not take: 405 with the methods it does (HEAD goes with GET).
  const methodsOf = new Map<string, Set<string>>();
  for (const r of routes) {
    const m = methodsOf.get(r.url) ?? new Set<string>();
    m.add(r.method);
    if (r.method === 'GET') m.add('HEAD');
    methodsOf.set(r.url, m);
  }
  for (const [url, allowed] of methodsOf) {
    const others = OTHER_METHODS.filter((m) => !allowed.has(m));
    const allow = [...allowed].join(', ');
    // Answered before anything reads a body (a QUERY without a content type is not a 400 first).
    const refuse = (req: FastifyRequest, reply: FastifyReply): FastifyReply =>
      send(
        reply.header('allow', allow),
        'METHOD_NOT_ALLOWED',
        `${req.method} is not a method of ${url}; it takes ${allow}`,
      );
    app.route({ method: others, url, onRequest: async (req, reply) => refuse(req, reply), handler: refuse });
  }

  // Prometheus scrapes without a token, as it does every exporter on the DAQ network; nothing here changes state.
  if (o.metricsText !== undefined) {
    const text = o.metricsText;
    app.get('/metrics', async (_req, reply) =>
      reply.header('content-type', 'text/plain; version=0.0.4').send(await text()),
    );
  }
  const doc = openApi(routes);
  app.get('/openapi.json', () => doc);
  serveUi(app);
  return app;
}

/** The OpenAPI 3.1 document of the routes: parameters, bodies, each response with its status and schema. */
export function openApi(routes: readonly Route[]): Record<string, unknown> {
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: S.errorResponse } },
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
    const params = Object.entries((r.params?.['properties'] ?? {}) as Record<string, S.Schema>).map(
      ([name, schema]) => ({
        name,
        in: 'path',
        required: true,
        schema,
      }),
    );
    const query = Object.entries((r.query?.['properties'] ?? {}) as Record<string, S.Schema>).map(
      ([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema,
      }),
    );
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

function principalOf(tokens: TokenBook, auth: string | undefined): Principal | undefined {
  return auth?.startsWith('Bearer ') === true ? tokens.principals.get(auth.slice(7)) : undefined;
}

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' && v.length <= 256 ? v : undefined;
}
