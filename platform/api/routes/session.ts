/** What a page needs for itself: who the token is, the live feed, the templates to create from. */
import type { FastifyReply } from 'fastify';
import type { Platform } from '../../platform.js';
import { route, type Route } from '../route.js';
import * as R from '../responses.js';

export function sessionRoutes(
  platform: Platform,
  o: {
    readonly live: (reply: FastifyReply, holder: string) => void;
    readonly grafanaUrl?: string | undefined;
  },
): Route[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/live',
      role: 'viewer',
      summary: 'The live feed: a server-sent event for each environment, incident, run or agent that changed',
      ok: { status: 200, schema: R.liveStream, type: 'text/event-stream' },
      errors: [503],
      stream: (req, reply) => o.live(reply, req.principal!.name),
      handler: () => undefined,
    }),
    route({
      method: 'GET',
      url: '/api/v1/whoami',
      role: 'viewer',
      summary: 'Who the token belongs to and its role (what a page may offer), and where Grafana is',
      ok: { status: 200, schema: R.whoami },
      handler: ({ principal }) => ({
        name: principal.name,
        role: principal.role,
        ...(o.grafanaUrl === undefined ? {} : { grafanaUrl: o.grafanaUrl }),
      }),
    }),
    route({
      method: 'GET',
      url: '/api/v1/templates',
      role: 'viewer',
      summary: 'The workflow templates environments can be created from, by name',
      ok: { status: 200, schema: R.templateList },
      handler: () => platform.templates(),
    }),
  ];
}
