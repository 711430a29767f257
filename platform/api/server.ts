/**
 * The HTTP API (fastify) over the platform's typed methods. In order, for every request: the bearer token
 * and its role (before anything reads the body: no token → 401, too small a role → 403, both audited when
 * the call would change state), the body's size and type (413, 415), its schema without type coercion
 * (400 naming the field), then the platform (422 for content that does not hold up). Errors are
 * `{code, message, field?}` with a code from the catalogue and its HTTP status (protocol/errors.ts). Each
 * resource is a plugin of its own (routes/*.ts); /openapi.json documents every route from the same
 * declarations (openapi.ts). docs/platform.md "HTTP API".
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorCatalogue, isDaqError, type ErrorCode } from '../../protocol/errors.js';
import type { Platform } from '../platform.js';
import { TokenStore, allows, type Principal, type TokenBook } from './auth.js';
import { LiveFeed } from './live.js';
import { openApi } from './openapi.js';
import { resourcePlugin, whoOf, type Route } from './route.js';
import { agentRoutes, type AgentSummary } from './routes/agents.js';
import { environmentRoutes } from './routes/environments.js';
import { incidentRoutes } from './routes/incidents.js';
import { runRoutes } from './routes/runs.js';
import { sessionRoutes } from './routes/session.js';
import { tokenRoutes } from './routes/tokens.js';
import * as S from './schemas.js';
import { serveUi } from './ui.js';

export type { AgentSummary };

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

export function buildApi(platform: Platform, tokens: TokenBook, o: ApiOptions = {}): FastifyInstance {
  // Tokens an admin manages: the book itself when it is a store (a file), else an in-memory store over it.
  const book = tokens instanceof TokenStore ? tokens : new TokenStore(tokens);
  const app = newServer(book, o);
  const live = new LiveFeed(platform);
  app.addHook('onClose', (_app, done) => {
    live.close();
    done();
  });
  const agents = o.agents ?? (() => []);
  const resources: readonly (readonly Route[])[] = [
    environmentRoutes(platform),
    sessionRoutes(platform, {
      live: (reply, holder) => live.attach(reply, holder),
      grafanaUrl: o.grafanaUrl,
    }),
    incidentRoutes(platform),
    agentRoutes(
      () => agents().map((a) => ({ ...a, cordoned: platform.ledger.isCordoned(a.node) })),
      platform,
    ),
    runRoutes(platform),
    tokenRoutes(platform, book, (holder) => live.cut(holder)),
  ];
  checkRoles(app, platform, book);
  for (const routes of resources) void app.register(resourcePlugin(routes));
  const routes = resources.flat();
  refuseOtherMethods(app, routes);
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

/** The fastify instance with the API's validation, its error mapping and its 404. */
function newServer(book: TokenBook, o: ApiOptions): FastifyInstance {
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
  return app;
}

/**
 * The one role check, on every route that declares a role, in onRequest — before the body is read: who
 * asks is settled before what they sent is looked at. A refused call that would change state is audited.
 */
function checkRoles(app: FastifyInstance, platform: Platform, book: TokenBook): void {
  app.addHook('onRequest', async (req, reply) => {
    const needs = req.routeOptions.config.role;
    if (needs === undefined) return undefined;
    const principal = principalOf(book, req.headers.authorization);
    const refuse = (code: 'UNAUTHORIZED' | 'FORBIDDEN', message: string): FastifyReply => {
      if (req.method !== 'GET')
        platform.audit({
          who: whoOf(principal),
          action: `${req.method} ${req.routeOptions.url ?? ''}`,
          target: req.url.slice(0, 200),
          result: code === 'UNAUTHORIZED' ? 'unauthorized' : 'forbidden',
          detail: '',
        });
      return send(reply, code, message);
    };
    if (principal === undefined) return refuse('UNAUTHORIZED', 'a valid bearer token is required');
    if (!allows(principal.role, needs))
      return refuse(
        'FORBIDDEN',
        `${req.method} ${req.routeOptions.url ?? ''} needs the ${needs} role; ${principal.name} is ${principal.role}`,
      );
    req.principal = principal;
    return undefined;
  });
}

/** A path called with a method it does not take: 405 with the methods it does (HEAD goes with GET). */
function refuseOtherMethods(app: FastifyInstance, routes: readonly Route[]): void {
  const methodsOf = new Map<string, Set<string>>();
  for (const r of routes) {
    const m = methodsOf.get(r.url) ?? new Set<string>();
    m.add(r.method);
    if (r.method === 'GET') m.add('HEAD');
    methodsOf.set(r.url, m);
  }
  for (const [url, allowed] of methodsOf) {
    const allow = [...allowed].join(', ');
    // Answered before anything reads a body (a QUERY without a content type is not a 400 first).
    const refuse = (req: { method: string }, reply: FastifyReply): FastifyReply =>
      send(
        reply.header('allow', allow),
        'METHOD_NOT_ALLOWED',
        `${req.method} is not a method of ${url}; it takes ${allow}`,
      );
    app.route({
      method: OTHER_METHODS.filter((m) => !allowed.has(m)),
      url,
      onRequest: async (req, reply) => refuse(req, reply),
      handler: refuse,
    });
  }
}

function send(reply: FastifyReply, code: ErrorCode, message: string, field?: string): FastifyReply {
  return reply
    .status(errorCatalogue[code].http)
    .send({ code, message, ...(field === undefined ? {} : { field }) });
}

function principalOf(tokens: TokenBook, auth: string | undefined): Principal | undefined {
  return auth?.startsWith('Bearer ') === true ? tokens.principals.get(auth.slice(7)) : undefined;
}
