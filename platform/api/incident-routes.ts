/**
 * The incident half of the API: Alertmanager's webhook in, incidents (list, show, acknowledge, resolve,
 * note), runbooks, and one runbook step run by hand on an incident. The platform audits every change.
 */
import type { FastifyRequest } from 'fastify';
import type { AlertmanagerPayload } from '../incidents/signals.js';
import type { IncidentState } from '../incidents/types.js';
import type { Platform } from '../platform.js';
import * as S from './schemas.js';
import type { Route } from './server.js';

export function incidentRoutes(platform: Platform, who: (req: FastifyRequest) => string): Route[] {
  const idOf = (req: FastifyRequest): number => Number((req.params as { id: string }).id);
  return [
    {
      method: 'POST',
      url: '/api/v1/alerts/alertmanager',
      role: 'shifter',
      summary: "Alertmanager's webhook (version 4): each alert becomes a signal; duplicates fold",
      body: S.alertmanagerBody,
      bodyLimit: S.WEBHOOK_BODY_LIMIT,
      ok: { status: 200, schema: S.alertmanagerResult },
      handler: (req) => platform.alertmanager(req.body as AlertmanagerPayload, who(req)),
    },
    {
      method: 'GET',
      url: '/api/v1/incidents',
      role: 'viewer',
      summary: 'Incidents, newest first (?state=open|acknowledged|resolved)',
      query: S.incidentQuery,
      ok: { status: 200, schema: S.arrayOf(S.incident) },
      handler: (req) => Promise.resolve(platform.incidents((req.query as { state?: IncidentState }).state)),
    },
    {
      method: 'GET',
      url: '/api/v1/incidents/:id',
      role: 'viewer',
      summary: 'One incident: root cause, signals, timeline, runbook, recovery',
      params: S.incidentParams,
      ok: { status: 200, schema: S.incident },
      handler: (req) => Promise.resolve(platform.incident(idOf(req))),
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/ack',
      role: 'shifter',
      summary: 'Acknowledge an incident (someone is on it)',
      params: S.incidentParams,
      ok: { status: 200, schema: S.incident },
      errors: [409],
      handler: (req) => Promise.resolve(platform.acknowledge(idOf(req), who(req))),
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/resolve',
      role: 'shifter',
      summary: 'Resolve an incident by hand, with an optional note',
      params: S.incidentParams,
      body: S.resolveBody,
      bodyRequired: false,
      ok: { status: 200, schema: S.incident },
      handler: (req) =>
        Promise.resolve(
          platform.resolveIncident(idOf(req), who(req), (req.body as { note?: string } | undefined)?.note),
        ),
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/notes',
      role: 'shifter',
      summary: "Add a note to an incident's timeline",
      params: S.incidentParams,
      body: S.noteBody,
      ok: { status: 200, schema: S.incident },
      errors: [409],
      handler: (req) =>
        Promise.resolve(platform.noteIncident(idOf(req), who(req), (req.body as { text: string }).text)),
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/steps',
      role: 'expert',
      summary: 'Run one step of a runbook on an incident (daqops runbook run), recorded on its timeline',
      params: S.incidentParams,
      body: S.stepBody,
      ok: { status: 200, schema: S.stepResult },
      errors: [409, 502, 503, 504],
      handler: (req) =>
        platform.runStep(
          idOf(req),
          req.body as { runbook: string; step: number; outcome?: string },
          who(req),
        ),
    },
    {
      method: 'GET',
      url: '/api/v1/runbooks',
      role: 'viewer',
      summary: 'The runbooks: what each matches and its steps',
      ok: { status: 200, schema: S.arrayOf(S.runbookSummary) },
      handler: () => Promise.resolve(platform.runbooks()),
    },
    {
      method: 'GET',
      url: '/api/v1/runbooks/:name',
      role: 'viewer',
      summary: 'One runbook, with its text for the human',
      params: S.runbookParams,
      ok: { status: 200, schema: S.runbookView },
      handler: (req) => Promise.resolve(platform.runbook((req.params as { name: string }).name)),
    },
  ];
}
