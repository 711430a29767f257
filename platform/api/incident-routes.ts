/**
 * The incident half of the API: Alertmanager's webhook in, incidents (list, show, acknowledge, resolve,
 * note), runbooks, and one runbook step run by hand on an incident. Every change is audited.
 */
import type { FastifyRequest } from 'fastify';
import { DaqError } from '../../protocol/errors.js';
import type { Platform } from '../platform.js';
import type { AlertmanagerPayload } from '../incidents/signals.js';
import { incidentStates } from '../incidents/types.js';
import type { PlatformStore } from '../store/store.js';
import type { Route } from './server.js';

const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}';

/** Alertmanager's webhook payload, version 4 (what its `webhook_config` sends). */
const ALERTMANAGER_SCHEMA = {
  type: 'object',
  required: ['version', 'groupKey', 'status', 'alerts'],
  properties: {
    version: { type: 'string', enum: ['4'] },
    groupKey: { type: 'string' },
    status: { type: 'string', enum: ['firing', 'resolved'] },
    receiver: { type: 'string' },
    truncatedAlerts: { type: 'integer', minimum: 0 },
    groupLabels: { type: 'object', additionalProperties: { type: 'string' } },
    commonLabels: { type: 'object', additionalProperties: { type: 'string' } },
    commonAnnotations: { type: 'object', additionalProperties: { type: 'string' } },
    externalURL: { type: 'string' },
    alerts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'fingerprint'],
        properties: {
          status: { type: 'string', enum: ['firing', 'resolved'] },
          labels: {
            type: 'object',
            required: ['alertname'],
            additionalProperties: { type: 'string' },
          },
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
          startsAt: { type: 'string', pattern: ISO_TIME },
          endsAt: { type: 'string', pattern: ISO_TIME },
          generatorURL: { type: 'string' },
          fingerprint: { type: 'string', minLength: 1 },
        },
      },
    },
  },
} as const;

const ID = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } } } as const;

export function incidentRoutes(
  platform: Platform,
  store: PlatformStore,
  who: (req: FastifyRequest) => string,
): Route[] {
  const idOf = (req: FastifyRequest): number => (req.params as { id: number }).id;
  const audit = (req: FastifyRequest, action: string, target: string, detail = ''): void =>
    store.audit({ who: who(req), action, target, result: 'ok', detail });
  const find = (id: number) => {
    const inc = platform.incidents.incidents.get(id) ?? store.incident(id);
    if (inc === undefined) throw new DaqError('NOT_FOUND', `no incident ${id}`, { field: 'id' });
    return inc;
  };
  return [
    {
      method: 'POST',
      url: '/api/v1/alerts/alertmanager',
      role: 'shifter',
      summary: "Alertmanager's webhook (version 4): each alert becomes a signal; duplicates fold",
      schema: { body: ALERTMANAGER_SCHEMA },
      handler: (req) => {
        const p = req.body as AlertmanagerPayload;
        const r = platform.alertmanager(p);
        audit(
          req,
          'alerts.alertmanager',
          p.groupKey,
          `${p.alerts.length} alert(s) ${p.status} → incident(s) ${r.incidents.join(', ') || 'none'}`,
        );
        return Promise.resolve(r);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/incidents',
      role: 'viewer',
      summary: 'Incidents, newest first (?state=open|acknowledged|resolved)',
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: [...incidentStates] } },
        },
      },
      handler: (req) => {
        const { state } = req.query as { state?: string };
        return Promise.resolve(store.incidents(state === undefined ? {} : { state }));
      },
    },
    {
      method: 'GET',
      url: '/api/v1/incidents/:id',
      role: 'viewer',
      summary: 'One incident: root cause, signals, timeline, runbook, recovery',
      schema: { params: ID },
      handler: (req) => Promise.resolve(find(idOf(req))),
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/ack',
      role: 'shifter',
      summary: 'Acknowledge an incident (someone is on it)',
      schema: { params: ID },
      handler: (req) => {
        const inc = platform.incidents.acknowledge(idOf(req), who(req));
        audit(req, 'incident.ack', `incident ${inc.id}`);
        return Promise.resolve(inc);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/resolve',
      role: 'shifter',
      summary: 'Resolve an incident by hand, with an optional note',
      schema: {
        params: ID,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { note: { type: 'string', minLength: 1 } },
        },
      },
      handler: (req) => {
        const id = idOf(req);
        const note = (req.body as { note?: string } | undefined)?.note;
        if (note !== undefined) platform.incidents.note(id, who(req), note);
        const inc = platform.incidents.resolve(id, who(req));
        audit(req, 'incident.resolve', `incident ${id}`, note ?? '');
        return Promise.resolve(inc);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/notes',
      role: 'shifter',
      summary: "Add a note to an incident's timeline",
      schema: {
        params: ID,
        body: {
          type: 'object',
          required: ['text'],
          additionalProperties: false,
          properties: { text: { type: 'string', minLength: 1, maxLength: 4000 } },
        },
      },
      handler: (req) => {
        const { text } = req.body as { text: string };
        const inc = platform.incidents.note(idOf(req), who(req), text);
        audit(req, 'incident.note', `incident ${inc.id}`, text);
        return Promise.resolve(inc);
      },
    },
    {
      method: 'POST',
      url: '/api/v1/incidents/:id/steps',
      role: 'expert',
      summary: 'Run one step of a runbook on an incident (daqops runbook run), recorded on its timeline',
      schema: {
        params: ID,
        body: {
          type: 'object',
          required: ['runbook', 'step'],
          additionalProperties: false,
          properties: {
            runbook: { type: 'string', minLength: 1 },
            step: { type: 'integer', minimum: 0 },
            outcome: { type: 'string', maxLength: 4000 },
          },
        },
      },
      handler: async (req) => {
        const id = idOf(req);
        const body = req.body as { runbook: string; step: number; outcome?: string };
        const book = platform.recovery.runbook(body.runbook);
        if (book === undefined)
          throw new DaqError('NOT_FOUND', `no runbook ${body.runbook}`, { field: 'runbook' });
        const step = book.steps[body.step];
        if (step === undefined)
          throw new DaqError('INVALID_CONFIG', `runbook ${book.name} has steps 0–${book.steps.length - 1}`, {
            field: 'step',
          });
        const inc = platform.incidents.get(id);
        const out = await platform.recovery.step(
          inc,
          book,
          step.action === 'manual' && body.outcome !== undefined ? { ...step, detail: body.outcome } : step,
          who(req),
        );
        return { ...out, incident: platform.incidents.get(id) };
      },
    },
    {
      method: 'GET',
      url: '/api/v1/runbooks',
      role: 'viewer',
      summary: 'The runbooks: what each matches and its steps',
      handler: () =>
        Promise.resolve(
          platform.o.runbooks?.map((b) => ({
            name: b.name,
            title: b.title,
            matches: b.matches,
            steps: b.steps,
          })) ?? [],
        ),
    },
    {
      method: 'GET',
      url: '/api/v1/runbooks/:name',
      role: 'viewer',
      summary: 'One runbook, with its text for the human',
      schema: { params: { type: 'object', properties: { name: { type: 'string' } } } },
      handler: (req) => {
        const b = platform.recovery.runbook((req.params as { name: string }).name);
        if (b === undefined) throw new DaqError('NOT_FOUND', 'no such runbook', { field: 'name' });
        return Promise.resolve(b);
      },
    },
  ];
}
