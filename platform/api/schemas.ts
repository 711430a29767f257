/**
 * JSON schemas of the API's requests: bodies, path parameters and query strings (validated by fastify
 * without type coercion, documented in /openapi.json). Responses are in responses.ts. docs/platform.md
 * "HTTP API".
 */
import { Type } from 'typebox';
import { faultKinds } from '../../protocol/faults.js';
import { environmentTransitions } from '../../protocol/states.js';
import { incidentStates } from '../incidents/types.js';

export type Schema = Record<string, unknown>;

/** The longest free text the API takes (notes, outcomes) and the longest name or id. */
export const MAX_TEXT = 4000;
export const MAX_NAME = 128;
/** Alerts in one Alertmanager webhook (a group of 10,000 is handled; more is refused, 400). */
export const MAX_ALERTS = 20_000;
/** Labels or annotations on one alert, and the length of each value. */
const MAX_LABELS = 64;
const MAX_LABEL_VALUE = 4096;
/** Body limits: the webhook may carry a large group; everything else is small. */
export const BODY_LIMIT = 1024 * 1024;
export const WEBHOOK_BODY_LIMIT = 32 * 1024 * 1024;

// ---- path parameters and query strings (strings on the wire: checked by pattern, never coerced) -----
// Request schemas are typebox: the JSON schema fastify validates with and the TypeScript type of what
// passed it, from one declaration (route.ts hands handlers the typed values).

/** A positive integer id as written in a path: decimal digits, no sign, no 0x, no exponent, no point. */
export const INTEGER_ID = '^[1-9][0-9]{0,14}$';

const closed = { additionalProperties: false } as const;
const text = (maxLength = MAX_NAME, minLength = 1) => Type.String({ minLength, maxLength });
const ROLE = Type.Union([
  Type.Literal('viewer'),
  Type.Literal('shifter'),
  Type.Literal('expert'),
  Type.Literal('admin'),
]);
/** A map of strings with bounded names, count and values (labels, annotations). */
const stringMap = (maxProperties: number, maxLength: number, required: readonly string[] = []) =>
  Type.Unsafe<Readonly<Record<string, string>>>({
    type: 'object',
    maxProperties,
    propertyNames: { maxLength: MAX_NAME },
    additionalProperties: { type: 'string', maxLength },
    ...(required.length === 0 ? {} : { required: [...required] }),
  });

export const envParams = Type.Object({ id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,100}$' }) }, closed);
export const nodeParams = Type.Object(
  { node: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }) },
  closed,
);
export const incidentParams = Type.Object({ id: Type.String({ pattern: INTEGER_ID }) }, closed);
export const runParams = Type.Object({ run: Type.String({ pattern: INTEGER_ID }) }, closed);
export const runbookParams = Type.Object(
  { name: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' }) },
  closed,
);
export const holderParams = Type.Object(
  { name: Type.String({ pattern: '^[a-z][a-z0-9._-]{0,63}$' }) },
  closed,
);
export const incidentQuery = Type.Object(
  { state: Type.Optional(Type.Union(incidentStates.map((x) => Type.Literal(x)))) },
  closed,
);

// ---- request bodies -----------------------------------------------------------------------------------

const varValue = Type.Union([Type.String({ maxLength: MAX_TEXT }), Type.Number(), Type.Boolean()]);

export const createEnvironmentBody = Type.Object(
  {
    template: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,62}$' })),
    templateYaml: Type.Optional(Type.String({ minLength: 1, maxLength: 256 * 1024 })),
    vars: Type.Optional(
      Type.Unsafe<Readonly<Record<string, string | number | boolean>>>({
        type: 'object',
        maxProperties: 256,
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
        additionalProperties: varValue,
      }),
    ),
  },
  // A template by name from the platform's template directories, or uploaded as YAML text: one of them.
  { ...closed, oneOf: [{ required: ['template'] }, { required: ['templateYaml'] }] },
);

export const transitionBody = Type.Object(
  { transition: Type.Union(environmentTransitions.map((t) => Type.Literal(t))) },
  closed,
);

/** A drill fault; its fields are checked by protocol/faults.ts, which names the field and the problem. */
export const faultBody = Type.Unsafe<{ readonly kind: string } & Readonly<Record<string, string | number>>>({
  type: 'object',
  required: ['kind'],
  maxProperties: 16,
  properties: { kind: { type: 'string', enum: [...faultKinds] } },
  additionalProperties: { anyOf: [{ type: 'string', maxLength: MAX_NAME }, { type: 'number' }] },
});

/** Cells to mask from the next CONFIGURE on (replaces the list); the platform checks them against the detector. */
export const masksBody = Type.Object(
  {
    cells: Type.Array(
      Type.Object(
        {
          chamber: Type.Integer({ minimum: 0, maximum: 15 }),
          layer: Type.Integer({ minimum: 1, maximum: 4 }),
          cell: Type.Integer({ minimum: 1, maximum: 16 }),
        },
        closed,
      ),
      { maxItems: 1024 },
    ),
  },
  closed,
);

export const createTokenBody = Type.Object(
  { name: Type.String({ pattern: '^[a-z][a-z0-9._-]{0,63}$' }), role: ROLE },
  closed,
);

export const resolveBody = Type.Object({ note: Type.Optional(text(MAX_TEXT)) }, closed);

/** Why a node is drained or uncordoned (kept in the audit log). */
export const nodeActionBody = Type.Object({ reason: Type.Optional(text(MAX_TEXT)) }, closed);

export const noteBody = Type.Object({ text: text(MAX_TEXT) }, closed);

export const stepBody = Type.Object(
  {
    runbook: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' }),
    step: Type.Integer({ minimum: 0, maximum: 1000 }),
    outcome: Type.Optional(text(MAX_TEXT, 0)),
  },
  closed,
);

const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}';
const FIRING = Type.Union([Type.Literal('firing'), Type.Literal('resolved')]);

/** Alertmanager's webhook payload, version 4 (what its `webhook_config` sends). */
export const alertmanagerBody = Type.Object({
  version: Type.Literal('4'),
  groupKey: text(MAX_TEXT, 0),
  status: FIRING,
  receiver: Type.Optional(text(MAX_NAME, 0)),
  truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
  groupLabels: Type.Optional(stringMap(MAX_LABELS, MAX_LABEL_VALUE)),
  commonLabels: Type.Optional(stringMap(MAX_LABELS, MAX_LABEL_VALUE)),
  commonAnnotations: Type.Optional(stringMap(MAX_LABELS, MAX_LABEL_VALUE)),
  externalURL: Type.Optional(text(MAX_TEXT, 0)),
  alerts: Type.Array(
    Type.Object({
      status: FIRING,
      labels: stringMap(MAX_LABELS, MAX_LABEL_VALUE, ['alertname']),
      annotations: stringMap(MAX_LABELS, MAX_LABEL_VALUE),
      startsAt: Type.String({ pattern: ISO_TIME, maxLength: 64 }),
      endsAt: Type.String({ pattern: ISO_TIME, maxLength: 64 }),
      generatorURL: Type.Optional(text(MAX_TEXT, 0)),
      fingerprint: text(MAX_NAME),
    }),
    { maxItems: MAX_ALERTS },
  ),
});
