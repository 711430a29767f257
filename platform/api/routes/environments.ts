/** Environments: create, list, show, run a transition, drill faults, channel masks, their events, dataflow and occupancy. */
import type { Platform } from '../../platform.js';
import { route, type Route } from '../route.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';

/** What a route that commands agents may also answer: the agent failed, is away, or did not answer. */
export const AGENT_ERRORS = [409, 502, 503, 504] as const;

export function environmentRoutes(platform: Platform): Route[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/environments',
      role: 'viewer',
      summary: 'List environments',
      ok: { status: 200, schema: R.arrayOf(R.environmentView) },
      handler: () => platform.listEnvironments(),
    }),
    route({
      method: 'POST',
      url: '/api/v1/environments',
      role: 'expert',
      summary:
        "Create an environment from a workflow template: by name from the platform's template directories, or uploaded as YAML",
      body: S.createEnvironmentBody,
      ok: { status: 201, schema: R.environmentView },
      errors: [404],
      handler: ({ body, who }) =>
        platform.createEnvironment(
          body.template !== undefined ? { name: body.template } : { yaml: body.templateYaml ?? '' },
          body.vars ?? {},
          who,
        ),
    }),
    route({
      method: 'GET',
      url: '/api/v1/environments/:id',
      role: 'viewer',
      summary: 'One environment with its tasks',
      params: S.envParams,
      ok: { status: 200, schema: R.environmentView },
      handler: ({ params }) => platform.environment(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/v1/environments/:id/transitions',
      role: 'shifter',
      summary: 'Run a transition (DEPLOY, CONFIGURE, START_ACTIVITY, …)',
      params: S.envParams,
      body: S.transitionBody,
      ok: { status: 200, schema: R.environmentView },
      errors: AGENT_ERRORS,
      handler: ({ params, body, who, header }) =>
        platform.transition(params.id, body.transition, who, header('traceparent')),
    }),
    route({
      method: 'POST',
      url: '/api/v1/environments/:id/faults',
      role: 'shifter',
      summary:
        'Inject a drill fault into the emulated detector (noisy-channel, dead-chamber, rate-change, stalled-link, clear)',
      params: S.envParams,
      body: S.faultBody,
      ok: { status: 202, schema: R.faultResult },
      errors: AGENT_ERRORS,
      handler: ({ params, body, who }) => platform.injectFault(params.id, body, who),
    }),
    route({
      method: 'GET',
      url: '/api/v1/environments/:id/dataflow',
      role: 'viewer',
      summary: "An environment's tasks and the rates on its dataflow edges, from the agents' metrics",
      params: S.envParams,
      ok: { status: 200, schema: R.dataflowView },
      handler: ({ params }) => platform.data.dataflow(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/v1/environments/:id/masks',
      role: 'shifter',
      summary: 'Set the cells to mask from the next CONFIGURE on (replaces the list)',
      params: S.envParams,
      body: S.masksBody,
      ok: { status: 200, schema: R.environmentView },
      handler: ({ params, body, who }) => platform.setMasks(params.id, body.cells, who),
    }),
    route({
      method: 'GET',
      url: '/api/v1/environments/:id/events',
      role: 'viewer',
      summary: "An environment's last 100 control events: transitions, hooks and tasks as they answered",
      params: S.envParams,
      ok: { status: 200, schema: R.arrayOf(R.controlEvent) },
      handler: ({ params }) => platform.controlEvents(params.id),
    }),
    route({
      method: 'GET',
      url: '/api/v1/environments/:id/occupancy',
      role: 'viewer',
      summary: "The detector at a glance: occupancy per chamber, layer and cell and the run's hit-rate trend",
      params: S.envParams,
      ok: { status: 200, schema: R.occupancyView },
      handler: ({ params }) => platform.data.occupancy(params.id),
    }),
    route({
      method: 'GET',
      url: '/api/v1/environments/:id/monitoring',
      role: 'viewer',
      summary:
        "What the processors' latest monitoring aggregates on <ns>.monitoring say: noise rate, drift-time histogram, corrupt words by field",
      params: S.envParams,
      ok: { status: 200, schema: R.monitoringView },
      handler: ({ params }) => platform.data.monitoring(params.id),
    }),
  ];
}
