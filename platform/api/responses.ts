/**
 * JSON schemas of every response body: documented in /openapi.json, checked by the fuzz tests and
 * schemathesis against what the API really answers. The request schemas are in schemas.ts.
 */
import { errorCodes } from '../../protocol/errors.js';
import { environmentStates, environmentTransitions, taskStates } from '../../protocol/states.js';
import type { Schema } from './schemas.js';

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
    placement: { type: 'string', description: 'Why placement put the task on its node and NUMA node.' },
    critical: { type: 'boolean' },
    state: { type: 'string', enum: [...taskStates] },
    excluded: { type: 'boolean' },
    pid: { type: 'integer' },
    message: { type: 'string' },
    lostAt: { type: 'string', description: 'When its node was lost (state LOST).' },
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
    cordoned: { type: 'boolean', description: 'Drained: takes no new task until uncordoned.' },
  },
};

export const drainResult: Schema = {
  type: 'object',
  required: ['node', 'cordoned', 'moved', 'excluded', 'failed'],
  properties: {
    node: { type: 'string' },
    cordoned: { type: 'boolean' },
    moved: { type: 'array', items: { type: 'string' } },
    excluded: { type: 'array', items: { type: 'string' } },
    failed: { type: 'array', items: { type: 'string' } },
  },
};

export const uncordonResult: Schema = {
  type: 'object',
  required: ['node', 'cordoned'],
  properties: { node: { type: 'string' }, cordoned: { type: 'boolean' } },
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

export const runBalanceView: Schema = {
  type: 'object',
  required: ['run', 'source', 'reconciliation'],
  properties: {
    run: { type: 'integer' },
    source: { type: 'string', enum: ['registry', 'live', 'stale'] },
    reconciliation: { type: ['object', 'null'] },
    detail: { type: 'string' },
    asOf: { type: 'string' },
  },
};

export const monitoringView: Schema = {
  type: 'object',
  required: [
    'environment',
    'processors',
    'run',
    'detectorSeconds',
    'noiseRateHz',
    'driftHistogram',
    'faults',
    'at',
  ],
  properties: {
    environment: { type: 'string' },
    processors: { type: 'integer' },
    run: { type: ['integer', 'null'] },
    detectorSeconds: { type: 'number' },
    noiseRateHz: { type: 'number' },
    driftHistogram: {
      type: ['object', 'null'],
      required: ['minNs', 'binNs', 'counts'],
      properties: {
        minNs: { type: 'number' },
        binNs: { type: 'number' },
        counts: { type: 'array', items: { type: 'number' } },
      },
    },
    faults: { type: 'object', additionalProperties: { type: 'number' } },
    at: { type: ['string', 'null'] },
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

/** One edge of the dataflow with its rate. */
const rateEdge: Schema = {
  type: 'object',
  required: ['source', 'target', 'bytesPerSecond'],
  properties: {
    source: { type: 'string' },
    target: { type: 'string' },
    bytesPerSecond: { type: 'number' },
  },
};

/** The dataflow of an environment: its tasks and the rates on its edges, from the agents' metrics. */
export const dataflowView: Schema = {
  type: 'object',
  required: ['environment', 'tasks', 'graph', 'edges', 'taskEdges', 'at'],
  properties: {
    environment: { type: 'string' },
    tasks: { type: 'array', items: taskStatus },
    /** What the page draws: tasks by stage, the topics between them, each edge's rate (links from the template). */
    graph: {
      type: 'object',
      required: ['nodes', 'edges'],
      properties: {
        nodes: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'kind', 'column'],
            properties: {
              id: { type: 'string' },
              kind: { type: 'string', enum: ['task', 'topic'] },
              column: { type: 'integer' },
              workload: { type: 'string' },
              links: { type: 'array', items: { type: 'integer' } },
            },
          },
        },
        edges: { type: 'array', items: rateEdge },
      },
    },
    /** The edges per task that counted them. */
    taskEdges: {
      type: 'array',
      items: {
        ...rateEdge,
        required: ['task', ...(rateEdge['required'] as string[])],
        properties: { task: { type: 'string' }, ...(rateEdge['properties'] as Schema) },
      },
    },
    /** The edges summed over the tasks (what Grafana's node graph shows). */
    edges: { type: 'array', items: rateEdge },
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
