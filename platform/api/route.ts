/**
 * A route of the API as one declaration: method, path, the role it needs, its request schemas (typebox:
 * the JSON schema fastify validates with and the TypeScript type of what passed it), its answers, and a
 * handler that gets the validated request typed — no casts in the handlers. The same declarations build
 * the routes (resourcePlugin), the one role check (server.ts reads `config.role`) and /openapi.json.
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { Principal, Role } from './auth.js';
import type { Schema } from './schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** The role a route needs (every route of the API declares one; the UI, /metrics and 405s do not). */
    role?: Role;
  }
}

/** The request as a handler sees it: validated, typed, and who asks. */
export interface Call<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly principal: Principal;
  /** Who asks, as the audit log writes it: `role:name`. */
  readonly who: string;
  /** A request header of at most 256 characters (a traceparent), else undefined. */
  readonly header: (name: string) => string | undefined;
}

export interface RouteSpec<P extends TSchema, Q extends TSchema, B extends TSchema> {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly role: Role;
  readonly summary: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Whether a body must be sent (default: yes when there is a body schema); none sent is `{}`. */
  readonly bodyRequired?: boolean;
  readonly bodyLimit?: number;
  /** The success status, the schema of what it answers, and its media type (default JSON). */
  readonly ok: {
    readonly status: 200 | 201 | 202;
    readonly schema: Schema | TSchema;
    readonly type?: string;
  };
  /** Error statuses beyond those every route may answer (400, 401, 403, 500; 404 with path parameters). */
  readonly errors?: readonly number[];
  /** A route that takes the reply over (an event stream) instead of answering with a value. */
  readonly stream?: (req: FastifyRequest, reply: FastifyReply) => void;
  readonly handler: (call: Call<Static<P>, Static<Q>, Static<B>>) => unknown;
}

/** A route with its types erased, as lists of routes hold them (route() checks the handler first). */
export type Route = RouteSpec<TSchema, TSchema, TSchema>;

/** Declares a route; its handler is typed by its schemas. */
export function route<P extends TSchema = TSchema, Q extends TSchema = TSchema, B extends TSchema = TSchema>(
  spec: RouteSpec<P, Q, B>,
): Route {
  // The types go here, checked: fastify validates params, query and body against these very schemas.
  return spec;
}

/** What the API answers for a principal's calls in the audit log. */
export function whoOf(principal: Principal | undefined): string {
  return principal === undefined ? 'anonymous' : `${principal.role}:${principal.name}`;
}

/** A fastify plugin that serves one resource's routes. */
export function resourcePlugin(routes: readonly Route[]): FastifyPluginCallback {
  return (app, _opts, done) => {
    for (const r of routes)
      app.route({
        method: r.method,
        url: r.url,
        config: { role: r.role },
        ...(r.bodyLimit === undefined ? {} : { bodyLimit: r.bodyLimit }),
        schema: {
          ...(r.params === undefined ? {} : { params: r.params }),
          ...(r.query === undefined ? {} : { querystring: r.query }),
          ...(r.body === undefined ? {} : { body: r.body }),
        },
        // A body the route may go without (resolve's note) is an empty object when none was sent.
        ...(r.body !== undefined && r.bodyRequired === false
          ? {
              preValidation: (req: FastifyRequest, _reply: FastifyReply, next: () => void) => {
                if (req.body === undefined) req.body = {};
                next();
              },
            }
          : {}),
        handler: async (req, reply) => {
          if (r.stream !== undefined) {
            r.stream(req, reply);
            return reply;
          }
          const principal = req.principal!;
          const answer = await r.handler({
            params: req.params,
            query: req.query,
            body: req.body,
            principal,
            who: whoOf(principal),
            header: (name) => {
              const v = req.headers[name];
              return typeof v === 'string' && v.length <= 256 ? v : undefined;
            },
          });
          return reply.status(r.ok.status).send(answer);
        },
      });
    done();
  };
}
