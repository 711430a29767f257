/**
 * Incidents: Alertmanager's webhook in, incidents (list, show, acknowledge, resolve, note), runbooks, and
 * one runbook step run by hand on an incident. The platform audits every change.
 */
import type { Platform } from '../../platform.js';
import { route, type Route } from '../route.js';
import * as I from '../incident-responses.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';

export function incidentRoutes(platform: Platform): Route[] {
  return [
    route({
      method: 'POST',
      url: '/api/v1/alerts/alertmanager',
      role: 'shifter',
      summary: "Alertmanager's webhook (version 4): each alert becomes a signal; duplicates fold",
      body: S.alertmanagerBody,
      bodyLimit: S.WEBHOOK_BODY_LIMIT,
      ok: { status: 200, schema: I.alertmanagerResult },
      handler: ({ body, who }) => platform.incidents.alertmanager(body, who),
    }),
    route({
      method: 'GET',
      url: '/api/v1/incidents',
      role: 'viewer',
      summary: 'Incidents, newest first (?state=open|acknowledged|resolved)',
      query: S.incidentQuery,
      ok: { status: 200, schema: R.arrayOf(I.incident) },
      handler: ({ query }) => platform.incidents.list(query.state),
    }),
    route({
      method: 'GET',
      url: '/api/v1/incidents/:id',
      role: 'viewer',
      summary: 'One incident: root cause, signals, timeline, runbook, recovery',
      params: S.incidentParams,
      ok: { status: 200, schema: I.incident },
      handler: ({ params }) => platform.incidents.get(Number(params.id)),
    }),
    route({
      method: 'POST',
      url: '/api/v1/incidents/:id/ack',
      role: 'shifter',
      summary: 'Acknowledge an incident (someone is on it)',
      params: S.incidentParams,
      ok: { status: 200, schema: I.incident },
      errors: [409],
      handler: ({ params, who }) => platform.incidents.acknowledge(Number(params.id), who),
    }),
    route({
      method: 'POST',
      url: '/api/v1/incidents/:id/resolve',
      role: 'shifter',
      summary: 'Resolve an incident by hand, with an optional note',
      params: S.incidentParams,
      body: S.resolveBody,
      bodyRequired: false,
      ok: { status: 200, schema: I.incident },
      handler: ({ params, body, who }) => platform.incidents.resolve(Number(params.id), who, body.note),
    }),
    route({
      method: 'POST',
      url: '/api/v1/incidents/:id/notes',
      role: 'shifter',
      summary: "Add a note to an incident's timeline",
      params: S.incidentParams,
      body: S.noteBody,
      ok: { status: 200, schema: I.incident },
      errors: [409],
      handler: ({ params, body, who }) => platform.incidents.note(Number(params.id), who, body.text),
    }),
    route({
      method: 'POST',
      url: '/api/v1/incidents/:id/steps',
      role: 'expert',
      summary: 'Run one step of a runbook on an incident (daqops runbook run), recorded on its timeline',
      params: S.incidentParams,
      body: S.stepBody,
      ok: { status: 200, schema: I.stepResult },
      errors: [409, 502, 503, 504],
      handler: ({ params, body, who }) => platform.incidents.step(Number(params.id), body, who),
    }),
    route({
      method: 'GET',
      url: '/api/v1/runbooks',
      role: 'viewer',
      summary: 'The runbooks: what each matches and its steps',
      ok: { status: 200, schema: R.arrayOf(I.runbookSummary) },
      handler: () => platform.incidents.runbooks(),
    }),
    route({
      method: 'GET',
      url: '/api/v1/runbooks/:name',
      role: 'viewer',
      summary: 'One runbook, with its text for the human',
      params: S.runbookParams,
      ok: { status: 200, schema: I.runbookView },
      handler: ({ params }) => platform.incidents.runbook(params.name),
    }),
  ];
}
