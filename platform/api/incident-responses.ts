/** JSON schemas of the incident routes' responses: incidents, runbook steps run by hand, runbooks. */
import { incidentStates } from '../incidents/types.js';
import type { Schema } from './schemas.js';

const component: Schema = {
  type: 'object',
  required: ['kind', 'id'],
  properties: {
    kind: { type: 'string', enum: ['task', 'link', 'node', 'environment', 'kafka'] },
    id: { type: 'string' },
  },
};

export const incident: Schema = {
  type: 'object',
  required: [
    'id',
    'state',
    'severity',
    'root',
    'title',
    'signals',
    'timeline',
    'recovery',
    'openedAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'integer' },
    environment: { type: 'string' },
    state: { type: 'string', enum: [...incidentStates] },
    severity: { type: 'string', enum: ['info', 'warning', 'error', 'critical'] },
    root: {
      type: 'object',
      required: ['component', 'signal', 'name'],
      properties: { component, signal: { type: 'string' }, name: { type: 'string' } },
    },
    title: { type: 'string' },
    signals: {
      type: 'array',
      items: {
        type: 'object',
        required: ['fingerprint', 'source', 'name', 'severity', 'component', 'status', 'count'],
        properties: { component, count: { type: 'integer' } },
      },
    },
    timeline: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'kind', 'text'],
        properties: { at: { type: 'string' }, kind: { type: 'string' }, text: { type: 'string' } },
      },
    },
    runbook: { type: 'string' },
    recovery: { type: 'string', enum: ['none', 'running', 'succeeded', 'failed', 'escalated'] },
    openedAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
};

export const alertmanagerResult: Schema = {
  type: 'object',
  required: ['incidents'],
  additionalProperties: false,
  properties: { incidents: { type: 'array', items: { type: 'integer' } } },
};

export const stepResult: Schema = {
  type: 'object',
  required: ['ok', 'message', 'incident'],
  properties: {
    ok: { type: 'boolean' },
    message: { type: 'string' },
    retriable: { type: 'boolean' },
    incident,
  },
};

const runbookStep: Schema = {
  type: 'object',
  required: ['title', 'action', 'auto', 'when', 'transitions'],
  properties: {
    title: { type: 'string' },
    action: { type: 'string' },
    auto: { type: 'boolean' },
    when: { type: 'string', enum: ['always', 'critical', 'non-critical'] },
    transitions: { type: 'array', items: { type: 'string' } },
    detail: { type: 'string' },
  },
};

export const runbookSummary: Schema = {
  type: 'object',
  required: ['name', 'title', 'matches', 'steps'],
  properties: {
    name: { type: 'string' },
    title: { type: 'string' },
    matches: { type: 'object' },
    steps: { type: 'array', items: runbookStep },
  },
};

/** One runbook with its text; no host path (`file` is not part of it). */
export const runbookView: Schema = {
  type: 'object',
  required: ['name', 'title', 'matches', 'policy', 'steps', 'body'],
  not: { required: ['file'] },
  properties: {
    ...(runbookSummary['properties'] as Schema),
    policy: { type: 'object' },
    escalate: { type: 'string' },
    body: { type: 'string' },
  },
};
