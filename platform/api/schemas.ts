/**
 * JSON schemas of the API: request bodies, path parameters and query strings (validated by fastify without
 * type coercion), and every response body (documented in /openapi.json and checked by the schema-driven
 * fuzz test against what the API really answers). docs/platform.md "HTTP API".
 */
import { errorCodes } from '../../protocol/errors.js';
import { faultKinds } from '../../protocol/faults.js';
import { environmentStates, environmentTransitions, taskStates } from '../../protocol/states.js';
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

const str = (maxLength = MAX_NAME, minLength = 1): Schema => ({ type: 'string', minLength, maxLength });
const strMap = (maxProperties: number, maxLength: number): Schema => ({
  type: 'object',
  maxProperties,
  propertyNames: { maxLength: MAX_NAME },
  additionalProperties: { type: 'string', maxLength },
});

// ---- path parameters and query strings (strings on the wire: checked by pattern, never coerced) -----

/** A positive integer id as written in a path: decimal digits, no sign, no 0x, no exponent, no point. */
export const INTEGER_ID = '^[1-9][0-9]{0,14}$';

export const envParams: Schema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,100}$' } },
};
export const incidentParams: Schema = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: INTEGER_ID } },
};
export const runParams: Schema = {
  type: 'object',
  required: ['run'],
  additionalProperties: false,
  properties: { run: { type: 'string', pattern: INTEGER_ID } },
};
export const runbookParams: Schema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' } },
};
export const incidentQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { state: { type: 'string', enum: [...incidentStates] } },
};

// ---- request bodies -----------------------------------------------------------------------------------

const varValue: Schema = {
  anyOf: [{ type: 'string', maxLength: MAX_TEXT }, { type: 'number' }, { type: 'boolean' }],
};

export const createEnvironmentBody: Schema = {
  type: 'object',
  additionalProperties: false,
  // A template by name from the platform's template directories, or uploaded as YAML text: one of them.
  oneOf: [{ required: ['template'] }, { required: ['templateYaml'] }],
  properties: {
    template: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    templateYaml: { type: 'string', minLength: 1, maxLength: 256 * 1024 },
    vars: {
      type: 'object',
      maxProperties: 256,
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' },
      additionalProperties: varValue,
    },
  },
};

export const transitionBody: Schema = {
  type: 'object',
  required: ['transition'],
  additionalProperties: false,
  properties: { transition: { type: 'string', enum: [...environmentTransitions] } },
};

/** A drill fault; its fields are checked by protocol/faults.ts, which names the field and the problem. */
export const faultBody: Schema = {
  type: 'object',
  required: ['kind'],
  maxProperties: 16,
  properties: { kind: { type: 'string', enum: [...faultKinds] } },
  additionalProperties: { anyOf: [{ type: 'string', maxLength: MAX_NAME }, { type: 'number' }] },
};

/** Cells to mask from the next CONFIGURE on (replaces the list); the platform checks them against the detector. */
export const masksBody: Schema = {
  type: 'object',
  required: ['cells'],
  additionalProperties: false,
  properties: {
    cells: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['chamber', 'layer', 'cell'],
        additionalProperties: false,
        properties: {
          chamber: { type: 'integer', minimum: 0, maximum: 15 },
          layer: { type: 'integer', minimum: 1, maximum: 4 },
          cell: { type: 'integer', minimum: 1, maximum: 16 },
        },
      },
    },
  },
};

export const tokenHolder: Schema = {
  type: 'object',
  required: ['name', 'role'],
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['viewer', 'shifter', 'expert', 'admin'] },
  },
};

export const newToken: Schema = {
  type: 'object',
  required: ['name', 'role', 'token'],
  properties: { ...(tokenHolder['properties'] as Schema), token: { type: 'string' } },
};

export const createTokenBody: Schema = {
  type: 'object',
  required: ['name', 'role'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9._-]{0,63}$' },
    role: { type: 'string', enum: ['viewer', 'shifter', 'expert', 'admin'] },
  },
};

export const holderParams: Schema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', pattern: '^[a-z][a-z0-9._-]{0,63}$' } },
};

export const resolveBody: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { note: str(MAX_TEXT) },
};

export const noteBody: Schema = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: { text: str(MAX_TEXT) },
};

export const stepBody: Schema = {
  type: 'object',
  required: ['runbook', 'step'],
  additionalProperties: false,
  properties: {
    runbook: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' },
    step: { type: 'integer', minimum: 0, maximum: 1000 },
    outcome: str(MAX_TEXT, 0),
  },
};

const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}';

/** Alertmanager's webhook payload, version 4 (what its `webhook_config` sends). */
export const alertmanagerBody: Schema = {
  type: 'object',
  required: ['version', 'groupKey', 'status', 'alerts'],
  properties: {
    version: { type: 'string', enum: ['4'] },
    groupKey: str(MAX_TEXT, 0),
    status: { type: 'string', enum: ['firing', 'resolved'] },
    receiver: str(MAX_NAME, 0),
    truncatedAlerts: { type: 'integer', minimum: 0 },
    groupLabels: strMap(MAX_LABELS, MAX_LABEL_VALUE),
    commonLabels: strMap(MAX_LABELS, MAX_LABEL_VALUE),
    commonAnnotations: strMap(MAX_LABELS, MAX_LABEL_VALUE),
    externalURL: str(MAX_TEXT, 0),
    alerts: {
      type: 'array',
      maxItems: MAX_ALERTS,
      items: {
        type: 'object',
        required: ['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'fingerprint'],
        properties: {
          status: { type: 'string', enum: ['firing', 'resolved'] },
          labels: { ...strMap(MAX_LABELS, MAX_LABEL_VALUE), required: ['alertname'] },
          annotations: strMap(MAX_LABELS, MAX_LABEL_VALUE),
          startsAt: { type: 'string', pattern: ISO_TIME, maxLength: 64 },
          endsAt: { type: 'string', pattern: ISO_TIME, maxLength: 64 },
          generatorURL: str(MAX_TEXT, 0),
          fingerprint: str(MAX_NAME),
        },
      },
    },
  },
};

// ---- responses ------------------------------------------------------------------------------------------

export const errorResponse: Schema = {
  type: 'object',
  required: ['code', 'message'],
  additionalProperties: false,
  properties: {
    code: { type: 'string', enum: [...errorCodes] },
    message: { type: 'string' },
    field: { type: 'string' },
  },
};

const taskStatus: Schema = {
  type: 'object',
  required: ['name', 'workload', 'node', 'cpus', 'numa', 'memoryMiB', 'critical', 'state', 'excluded'],
  properties: {
    name: { type: 'string' },
    workload: { type: 'string' },
    node: { type: 'string' },
    cpus: { type: 'array', items: { type: 'integer' } },
    numa: { type: 'integer' },
    memoryMiB: { type: 'number' },
    critical: { type: 'boolean' },
    state: { type: 'string', enum: [...taskStates] },
    excluded: { type: 'boolean' },
    pid: { type: 'integer' },
    message: { type: 'string' },
  },
};

export const environmentView: Schema = {
  type: 'object',
  required: ['id', 'template', 'namespace', 'state', 'rollUp', 'masks', 'allowed', 'tasks'],
  properties: {
    id: { type: 'string' },
    template: { type: 'string' },
    namespace: { type: 'string' },
    state: { type: 'string', enum: [...environmentStates] },
    run: { type: 'integer' },
    rollUp: { type: 'string' },
    allowed: { type: 'array', items: { type: 'string', enum: [...environmentTransitions] } },
    masks: { type: 'array', items: { type: 'object', required: ['chamber', 'layer', 'cell'] } },
    transition: { type: 'string', enum: [...environmentTransitions] },
    runStart: { type: 'string' },
    startedBy: { type: 'string' },
    tasks: { type: 'array', items: taskStatus },
  },
};

export const faultResult: Schema = {
  type: 'object',
  required: ['fault', 'tasks'],
  properties: {
    fault: { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } } },
    tasks: { type: 'array', items: { type: 'string' } },
  },
};

export const agentSummary: Schema = {
  type: 'object',
  required: ['node', 'connected', 'lost', 'tasks', 'cores', 'lastSeenMs'],
  properties: {
    node: { type: 'string' },
    connected: { type: 'boolean' },
    lost: { type: 'boolean' },
    tasks: { type: 'integer' },
    cores: { type: 'integer' },
    lastSeenMs: { type: 'number' },
    metrics: { type: 'string' },
  },
};

export const prometheusTargets: Schema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['targets', 'labels'],
    properties: {
      targets: { type: 'array', items: { type: 'string' } },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
};

const nullableString: Schema = { type: ['string', 'null'] };

export const runRecord: Schema = {
  type: 'object',
  required: [
    'run',
    'environment',
    'template',
    'vars',
    'startedBy',
    'start',
    'endCompleted',
    'reconciliation',
  ],
  properties: {
    run: { type: 'integer' },
    environment: { type: 'string' },
    template: { type: 'string' },
    vars: { type: 'object' },
    startedBy: { type: 'string' },
    start: nullableString,
    startCompleted: nullableString,
    end: nullableString,
    endCompleted: nullableString,
    reconciliation: { type: ['object', 'null'] },
  },
};

export const auditEntry: Schema = {
  type: 'object',
  required: ['at', 'who', 'action', 'target', 'result', 'detail'],
  properties: {
    at: { type: 'string' },
    who: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    result: { type: 'string' },
    detail: { type: 'string' },
  },
};

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

export const templateList: Schema = {
  type: 'array',
  items: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
};

/** The live feed: server-sent events, one `change` event per thing that changed. */
export const liveStream: Schema = {
  type: 'object',
  description:
    'text/event-stream: one `change` event per thing that changed, its data `{"kind": "environment"|"incident"|"run"|"agent", "id": "…"}`; a comment line every 15 s',
  required: ['event', 'data'],
  properties: {
    event: { type: 'string', enum: ['change'] },
    data: {
      type: 'string',
      contentMediaType: 'application/json',
      contentSchema: {
        type: 'object',
        required: ['kind', 'id'],
        properties: {
          kind: { type: 'string', enum: ['environment', 'incident', 'run', 'agent'] },
          id: { type: 'string' },
        },
      },
    },
  },
};

/** The dataflow of an environment: its tasks and the rates on its edges, from the agents' metrics. */
export const dataflowView: Schema = {
  type: 'object',
  required: ['environment', 'tasks', 'edges', 'at'],
  properties: {
    environment: { type: 'string' },
    tasks: { type: 'array', items: taskStatus },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        required: ['source', 'target', 'bytesPerSecond'],
        properties: {
          source: { type: 'string' },
          target: { type: 'string' },
          bytesPerSecond: { type: 'number' },
        },
      },
    },
    lag: { type: 'object', additionalProperties: { type: 'number' } },
    at: { type: ['string', 'null'] },
  },
};

export const occupancyView: Schema = {
  type: 'object',
  required: ['environment', 'cells', 'trend', 'at'],
  properties: {
    environment: { type: 'string' },
    cells: {
      type: 'array',
      items: {
        type: 'object',
        required: ['chamber', 'layer', 'cell', 'hits', 'hitsPerSecond'],
        properties: {
          chamber: { type: 'integer' },
          layer: { type: 'integer' },
          cell: { type: 'integer' },
          hits: { type: 'number' },
          hitsPerSecond: { type: 'number' },
        },
      },
    },
    trend: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'hitsPerSecond'],
        properties: { at: { type: 'string' }, hitsPerSecond: { type: 'number' } },
      },
    },
    at: { type: ['string', 'null'] },
  },
};

/** A control event (docs/platform.md "Control events and ERS on Kafka"). */
export const controlEvent: Schema = {
  type: 'object',
  required: ['kind', 'environment', 'at'],
  properties: {
    kind: { type: 'string', enum: ['environment', 'task', 'hook', 'run'] },
    environment: { type: 'string' },
    at: { type: 'string' },
    transition: { type: 'string' },
    step: { type: 'string' },
    status: { type: 'string' },
    state: { type: 'string' },
    task: { type: 'string' },
    hook: { type: 'string' },
    run: { type: 'integer' },
    error: { type: 'string' },
    message: { type: 'string' },
  },
};

export const whoami: Schema = {
  type: 'object',
  required: ['name', 'role'],
  properties: {
    name: { type: 'string' },
    role: { type: 'string', enum: ['viewer', 'shifter', 'expert', 'admin'] },
    grafanaUrl: { type: 'string' },
  },
};

export const arrayOf = (items: Schema): Schema => ({ type: 'array', items });
