/**
 * ERS issues (the ATLAS/DUNE Error Reporting Service record): what reaches operators, whatever the
 * transport (console, JSON file, Kafka `<ns>.ers`). The names are a catalogue, like error codes: recovery
 * rules match on them and a test checks every matched name is one the code emits.
 */
import { DaqError } from './errors.js';

export const ersSeverities = ['Debug', 'Log', 'Information', 'Warning', 'Error', 'Fatal'] as const;
export type ErsSeverity = (typeof ersSeverities)[number];

export function severityRank(s: ErsSeverity): number {
  return ersSeverities.indexOf(s);
}

export interface ErsContext {
  readonly host: string;
  readonly pid: number;
  readonly application: string;
  readonly task?: string | undefined;
  readonly environment?: string | undefined;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
  readonly function?: string | undefined;
}

export type ErsParameterValue = string | number | boolean;

export interface ErsIssue {
  readonly severity: ErsSeverity;
  /** Dotted issue name, e.g. daqops.processor.CorruptWord. */
  readonly name: string;
  readonly message: string;
  readonly context: ErsContext;
  readonly parameters: Readonly<Record<string, ErsParameterValue>>;
  readonly qualifiers: readonly string[];
  /** Chained causes, innermost last. */
  readonly causes: readonly ErsIssue[];
  /** ISO-8601 UTC time the issue was raised. */
  readonly time: string;
  readonly trace_id?: string | undefined;
  readonly span_id?: string | undefined;
}

/** Lower-case dotted package path, then a PascalCase issue: daqops.processor.CorruptWord. */
export const ERS_NAME = /^[a-z][a-z0-9]*(\.[a-z][a-zA-Z0-9]*)*\.[A-Z][A-Za-z0-9]*$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const MAX_CAUSE_DEPTH = 16;

/**
 * The ERS issues daqops raises. A new issue is added here first; its runbook (runbooks/) and recovery
 * rules refer to these names.
 */
export const ersIssueCatalogue = {
  'daqops.runtime.Exception': {
    severity: 'Error',
    description: 'An exception, as the cause chained under another issue.',
  },
  'daqops.kafka.BrokerUnreachable': {
    severity: 'Error',
    description: 'A Kafka client cannot reach any broker.',
  },
  'daqops.kafka.ClientLog': {
    severity: 'Warning',
    description: "A line of the Kafka client's own log (librdkafka), throttled, with broker and client id.",
  },
  'daqops.kafka.ConsumerStalled': {
    severity: 'Error',
    description:
      'A consuming stage took nothing for 30 s while records waited for it (the Kafka client stopped fetching); the stage ends to be restarted, re-reading from its last commit.',
  },
  'daqops.kafka.RecordTooLarge': {
    severity: 'Error',
    description: 'A record larger than the broker accepts was set aside on the dead-letter topic.',
  },
  'daqops.runtime.UnhandledError': {
    severity: 'Fatal',
    description: 'An error nothing handled reached the top of a daqops process, which then exits cleanly.',
  },
  'daqops.readout.SourceFailed': {
    severity: 'Error',
    description: 'A readout source (emulator, replay, tcp) failed.',
  },
  'daqops.readout.BufferFull': {
    severity: 'Warning',
    description:
      "A real-time readout's buffer is full (Kafka slow or away): what does not fit is not produced, counted.",
  },
  'daqops.readout.SendFailed': {
    severity: 'Error',
    description: 'Sub-timeframes could not be delivered to Kafka.',
  },
  'daqops.processor.CorruptWord': {
    severity: 'Warning',
    description: 'Hit words failed validation and were dead-lettered.',
  },
  'daqops.processor.TimeframeIncomplete': {
    severity: 'Warning',
    description: 'A timeframe was processed without all links.',
  },
  // Data quality (agent/workloads/processor/data-quality.ts): raised when a finding appears, and again
  // at Information when it clears.
  'daqops.processor.NoisyChannel': {
    severity: 'Warning',
    description: "A channel fires far above its chamber's median rate.",
  },
  'daqops.processor.DeadChannel': {
    severity: 'Warning',
    description: 'A channel sends no hit while the others of its chamber fire.',
  },
  'daqops.processor.DeadChamber': {
    severity: 'Error',
    description: 'A whole chamber sends no hit while the other chambers fire.',
  },
  'daqops.processor.LinkSilent': {
    severity: 'Error',
    description: 'A readout link is missing from most timeframes: its front end or readout stalled.',
  },
  'daqops.processor.HitRateDrift': {
    severity: 'Warning',
    description: "The hit rate moved away from the run's own baseline.",
  },
  'daqops.processor.NoiseRising': {
    severity: 'Warning',
    description: "Hits in no event rose above the run's own baseline.",
  },
  'daqops.processor.LayerEfficiencyLow': {
    severity: 'Warning',
    description: 'A layer has hits in too few of the events crossing its chamber.',
  },
  'daqops.readout.FaultInjected': {
    severity: 'Information',
    description: 'A drill fault was switched on or off in the emulator.',
  },
  'daqops.processor.LateSubTimeframe': {
    severity: 'Warning',
    description: 'A sub-timeframe arrived after its timeframe was processed; dead-lettered.',
  },
  'daqops.processor.BadSubTimeframe': {
    severity: 'Warning',
    description: 'A message on the raw-hits topic had unusable headers; dead-lettered.',
  },
  'daqops.processor.OutputFailed': {
    severity: 'Error',
    description: 'Processor outputs could not be delivered to Kafka; offsets not committed.',
  },
  'daqops.processor.CommittedUnavailable': {
    severity: 'Warning',
    description:
      "The group's last commit of a newly assigned partition could not be read (Kafka away or its coordinator loading); its records wait until it answers.",
  },
  'daqops.processor.CommitFailed': {
    severity: 'Warning',
    description:
      'An offset commit was refused (usually a rebalance); the next owner skips handled timeframes.',
  },
  'daqops.agent.TaskExited': {
    severity: 'Error',
    description: 'A task process exited without being asked to.',
  },
  'daqops.agent.TaskFailed': {
    severity: 'Error',
    description: 'A task crashed more often than its restart policy allows; the agent gave up.',
  },
  'daqops.agent.PinningFailed': {
    severity: 'Error',
    description: 'A task did not get the CPUs or memory node it was given.',
  },
  'daqops.agent.UnexpectedTaskState': {
    severity: 'Warning',
    description:
      "A workload reported a state the task table does not lead to from the agent's record of it; the record keeps the table's state.",
  },
  'daqops.agent.MemoryBindingUnavailable': {
    severity: 'Warning',
    description: 'NUMA memory binding (numactl) is unavailable: CPUs pinned, memory not bound.',
  },
  'daqops.agent.ResourcesRestricted': {
    severity: 'Information',
    description:
      'The agent may use fewer CPUs or less memory than the machine holds (its affinity, a cgroup): it offers only those.',
  },
  'daqops.agent.OrphanWorkload': {
    severity: 'Warning',
    description: 'A task process left by a previous agent was stopped.',
  },
  'daqops.agent.WorkloadOutput': {
    severity: 'Information',
    description: 'A line a task printed that was not an ERS record.',
  },
  'daqops.agent.PlatformUnreachable': {
    severity: 'Warning',
    description: 'The agent lost its link to the platform; tasks keep running.',
  },
  'daqops.platform.TransitionFailed': {
    severity: 'Error',
    description: 'An environment transition failed (or was cut by a platform restart).',
  },
  'daqops.platform.HookFailed': {
    severity: 'Error',
    description: 'A hook around a transition failed or timed out.',
  },
  'daqops.platform.TaskSuperseded': {
    severity: 'Warning',
    description:
      'A node that was cut off came back running a task the platform had meanwhile placed elsewhere (a newer placement generation); the old copy is stopped.',
  },
  'daqops.platform.TaskFailed': {
    severity: 'Error',
    description: 'A task of an environment went to ERROR.',
  },
  'daqops.platform.TaskExcluded': {
    severity: 'Warning',
    description: 'A failed non-critical task was taken out of the run; the run goes on.',
  },
  'daqops.platform.AgentLost': {
    severity: 'Error',
    description: 'An agent missed its heartbeats; its tasks have failed and its resources are released.',
  },
  'daqops.platform.StrayTask': {
    severity: 'Warning',
    description: 'An agent runs a task no environment holds on its node; the platform stops it.',
  },
  'daqops.platform.RestoreFailed': {
    severity: 'Error',
    description: 'An environment of the store could not be loaded again after a platform restart.',
  },
  'daqops.platform.TopicsReplicated': {
    severity: 'Information',
    description:
      "DEPLOY made or found the environment's topics: their replication and min ISR, and how many brokers the data path may lose.",
  },
  'daqops.platform.TopicsUnprotected': {
    severity: 'Warning',
    description:
      "The environment's topics on a cluster of several brokers survive no broker lost (fewer copies or in-sync replicas than the cluster allows), or take no write now.",
  },
  'daqops.platform.TopicsUnchecked': {
    severity: 'Warning',
    description:
      "Kafka did not answer at DEPLOY: the environment's topics were not made or checked there (the workloads make them when Kafka is back).",
  },
  'daqops.platform.DrainTimeout': {
    severity: 'Warning',
    description: 'STOP went on before the data path drained; the unprocessed rest stays in Kafka.',
  },
  'daqops.platform.AccountingGone': {
    severity: 'Error',
    description:
      'Accounting records left <ns>.monitoring by retention before the platform read them: the balances of those runs miss them.',
  },
  'daqops.platform.InternalError': {
    severity: 'Error',
    description: 'The platform failed while handling an agent message in the background; it goes on.',
  },
  'daqops.platform.ErsFeedFailed': {
    severity: 'Warning',
    description:
      "An environment's ERS issues cannot be read from Kafka; incidents see only run-control signals.",
  },
  'daqops.platform.ControlPublishFailed': {
    severity: 'Warning',
    description: 'Control events or ERS issues could not be published to Kafka.',
  },
  'daqops.writer.WriteFailed': {
    severity: 'Error',
    description: 'The writer could not store a chunk of events.',
  },
  'daqops.writer.BadEventRecord': {
    severity: 'Error',
    description: 'An event record could not be decoded; it was set aside on the dead-letter topic.',
  },
  'daqops.writer.CommitFailed': {
    severity: 'Warning',
    description: 'The broker refused an offset commit of the writer; it is tried again at the next flush.',
  },
  'daqops.writer.Superseded': {
    severity: 'Warning',
    description:
      'A writer copy of an older placement found the run directory owned by a newer one and stopped storing.',
  },
  'daqops.writer.DiskFilling': {
    severity: 'Warning',
    description: 'The writer data directory is running out of space.',
  },
} as const satisfies Record<string, { severity: ErsSeverity; description: string }>;

export type ErsIssueName = keyof typeof ersIssueCatalogue;

/** Validates an unknown value as an ERS issue; throws DaqError INVALID_ERS_ISSUE naming the path. */
export function validateErsIssue(value: unknown, path = 'issue', depth = 0): ErsIssue {
  const o = record(value, path);
  const severity = o['severity'];
  if (typeof severity !== 'string' || !(ersSeverities as readonly string[]).includes(severity)) {
    fail(`${path}.severity`, `must be one of ${ersSeverities.join(', ')}, got ${JSON.stringify(severity)}`);
  }
  const name = o['name'];
  if (typeof name !== 'string' || !ERS_NAME.test(name)) {
    fail(
      `${path}.name`,
      `must be a dotted issue name like daqops.processor.CorruptWord, got ${JSON.stringify(name)}`,
    );
  }
  const message = o['message'];
  if (typeof message !== 'string' || message.length === 0)
    fail(`${path}.message`, 'must be a non-empty string');
  const context = validateContext(o['context'], `${path}.context`);
  const parameters = record(o['parameters'] ?? {}, `${path}.parameters`);
  for (const [k, v] of Object.entries(parameters)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      fail(`${path}.parameters.${k}`, 'must be a string, number or boolean');
    }
  }
  const qualifiers = o['qualifiers'] ?? [];
  if (!Array.isArray(qualifiers) || qualifiers.some((q) => typeof q !== 'string')) {
    fail(`${path}.qualifiers`, 'must be an array of strings');
  }
  const rawCauses = o['causes'] ?? [];
  if (!Array.isArray(rawCauses)) fail(`${path}.causes`, 'must be an array of issues');
  if (depth >= MAX_CAUSE_DEPTH && rawCauses.length > 0)
    fail(`${path}.causes`, `nest deeper than ${MAX_CAUSE_DEPTH}`);
  const causes = rawCauses.map((c, i) => validateErsIssue(c, `${path}.causes[${i}]`, depth + 1));
  const time = o['time'];
  if (typeof time !== 'string' || !ISO_TIME.test(time)) fail(`${path}.time`, 'must be an ISO-8601 UTC time');
  const traceId = o['trace_id'];
  if (traceId !== undefined && (typeof traceId !== 'string' || !HEX32.test(traceId))) {
    fail(`${path}.trace_id`, 'must be 32 lower-case hex digits');
  }
  const spanId = o['span_id'];
  if (spanId !== undefined && (typeof spanId !== 'string' || !HEX16.test(spanId))) {
    fail(`${path}.span_id`, 'must be 16 lower-case hex digits');
  }
  return {
    severity: severity as ErsSeverity,
    name: name,
    message: message,
    context,
    parameters: parameters as Record<string, ErsParameterValue>,
    qualifiers: qualifiers as string[],
    causes,
    time: time,
    ...(traceId === undefined ? {} : { trace_id: traceId }),
    ...(spanId === undefined ? {} : { span_id: spanId }),
  };
}

function validateContext(value: unknown, path: string): ErsContext {
  const c = record(value, path);
  for (const key of ['host', 'application'] as const) {
    if (typeof c[key] !== 'string' || c[key] === '') fail(`${path}.${key}`, 'must be a non-empty string');
  }
  if (!Number.isInteger(c['pid']) || (c['pid'] as number) < 0)
    fail(`${path}.pid`, 'must be a non-negative integer');
  for (const key of ['task', 'environment', 'file', 'function'] as const) {
    if (c[key] !== undefined && typeof c[key] !== 'string') fail(`${path}.${key}`, 'must be a string');
  }
  if (c['line'] !== undefined && !Number.isInteger(c['line'])) fail(`${path}.line`, 'must be an integer');
  return c as unknown as ErsContext;
}

function record(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  return value as Record<string, unknown>;
}

function fail(field: string, problem: string): never {
  throw new DaqError('INVALID_ERS_ISSUE', `${field} ${problem}`, { field });
}
