/**
 * The agent ↔ platform link: JSON messages over a WebSocket. The agent registers its node's resources,
 * sends heartbeats with its tasks' states, and answers task commands. Both sides validate what they read.
 */
import { DaqError } from './errors.js';
import { commandedTaskTransitions, type TaskState, type TaskTransition } from './states.js';

export interface NumaNode {
  readonly id: number;
  readonly cpus: readonly number[];
  readonly memoryBytes: number;
}

export interface NodeTopology {
  readonly node: string;
  readonly numa: readonly NumaNode[];
  readonly memoryBytes: number;
  readonly disks: readonly {
    readonly mount: string;
    readonly sizeBytes: number;
    readonly freeBytes: number;
  }[];
  readonly nics: readonly {
    readonly name: string;
    readonly speedMbps?: number | undefined;
    readonly numaNode?: number | undefined;
  }[];
  /** Readout devices (e.g. a PCIe back-end board) and the links they serve. */
  readonly devices: readonly {
    readonly name: string;
    readonly numaNode?: number | undefined;
    readonly links: readonly number[];
  }[];
  readonly simulated: boolean;
  /**
   * Set when the agent may use less than the machine holds (its CPU affinity, a cgroup cpuset or memory
   * limit: `taskset`, a container): what the machine has and why the offer (`numa`) is smaller.
   */
  readonly restricted?:
    | {
        readonly machineCpus: number;
        readonly machineMemoryBytes: number;
        readonly because: readonly string[];
      }
    | undefined;
}

/**
 * Which task: its environment and its name there. Two environments may both have a `processor-0` on one
 * node; everything that names a task on an agent (commands, its table, orphans, ERS, metrics) names both.
 */
export interface TaskRef {
  readonly environment: string;
  readonly task: string;
}

/** One string for a TaskRef, for maps and messages: `environment/task`. */
export function taskKey(r: TaskRef): string {
  return `${r.environment}/${r.task}`;
}

/** What an agent knows of one of its tasks. */
export interface TaskReport {
  readonly task: string;
  readonly environment: string;
  readonly kind: string;
  readonly state: TaskState;
  readonly pid: number | undefined;
  readonly restarts: number;
  /** CPUs and memory nodes the process really has (from /proc), when running. */
  readonly cpus: string | undefined;
  readonly mems: string | undefined;
  readonly failed: boolean;
  readonly message?: string | undefined;
  /** The placement this process was started for (TaskSpec.generation), when the platform gave one. */
  readonly generation?: number | undefined;
}

/** A task the platform asks the agent to run. */
export interface TaskSpec {
  readonly task: string;
  readonly environment: string;
  /** Workload kind (`readout`, `processor`, `writer`) or `command` for an arbitrary program. */
  readonly kind: string;
  /** Workload configuration (for daqops workloads) passed at CONFIGURE. */
  readonly config: Readonly<Record<string, unknown>>;
  /** For kind `command`: the argv to run (never through a shell). */
  readonly argv?: readonly string[];
  readonly cpus: readonly number[];
  readonly memoryNode?: number | undefined;
  readonly critical: boolean;
  /**
   * Which placement of the task this is: it grows each time the platform places the task anew (a move).
   * A copy of an older generation is one the platform superseded while it could not reach its node, and
   * is stopped when the node is back (docs/platform.md "Cut off, then back").
   */
  readonly generation?: number | undefined;
}

/** What an agent tells the platform about a task between heartbeats. */
export const taskEvents = ['exited', 'restarted', 'failed', 'state', 'pinning-failed'] as const;
export type TaskEvent = (typeof taskEvents)[number];

export type AgentToPlatform =
  | {
      readonly type: 'register';
      readonly topology: NodeTopology;
      readonly tasks: readonly TaskReport[];
      readonly agentVersion: string;
      /** host:port of the node's /metrics, when it serves one (Prometheus service discovery). */
      readonly metrics?: string | undefined;
    }
  | {
      readonly type: 'heartbeat';
      readonly node: string;
      readonly tasks: readonly TaskReport[];
      readonly sentAt: string;
    }
  | {
      readonly type: 'command-result';
      readonly id: string;
      readonly ok: boolean;
      readonly task?: TaskReport;
      readonly error?: { code: string; message: string };
    }
  | {
      readonly type: 'task-event';
      readonly task: TaskReport;
      readonly event: TaskEvent;
    };

/** The task transitions a command may carry (KILL is the agent's own, never commanded). */
export type CommandedTaskTransition = Exclude<TaskTransition, 'KILL' | 'LAUNCH'>;

/** One message type per action: what each carries is checked by the compiler on both ends. */
export type TaskCommand =
  /** Start the task's process in STANDBY. */
  | { readonly action: 'spawn'; readonly spec: TaskSpec }
  | (TaskRef & {
      readonly action: 'transition';
      readonly transition: CommandedTaskTransition;
      readonly payload: Readonly<Record<string, unknown>>;
    })
  /** Stop the task's process; it is forgotten. */
  | (TaskRef & { readonly action: 'kill' })
  /** Stop the task's process if it runs, start it again, replay it to its state. */
  | (TaskRef & { readonly action: 'restart' })
  /** A drill fault (protocol/faults.ts) for a running readout's emulator; checked by the task. */
  | (TaskRef & { readonly action: 'fault'; readonly fault: unknown });

export type CommandMessage = TaskCommand & {
  readonly type: 'command';
  readonly id: string;
  readonly traceparent?: string;
  readonly timeoutMs?: number;
};

export type PlatformToAgent = CommandMessage | { readonly type: 'welcome'; readonly node: string };

/** The task a command is about (its spec's, for spawn). */
export function commandTask(c: TaskCommand): TaskRef {
  return c.action === 'spawn'
    ? { environment: c.spec.environment, task: c.spec.task }
    : { environment: c.environment, task: c.task };
}

/** Validates a message from the platform; throws INVALID_CONFIG naming the field. */
export function parsePlatformMessage(text: string): PlatformToAgent {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new DaqError('INVALID_CONFIG', 'platform message is not JSON', { field: 'message' });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DaqError('INVALID_CONFIG', 'platform message must be an object', { field: 'message' });
  const m = v as Record<string, unknown>;
  const bad = (field: string, problem: string): never => {
    throw new DaqError('INVALID_CONFIG', `command.${field} ${problem}`, { field });
  };
  if (m['type'] === 'welcome') {
    if (typeof m['node'] !== 'string') bad('node', 'must be a string');
    return m as unknown as PlatformToAgent;
  }
  if (m['type'] !== 'command')
    throw new DaqError('INVALID_CONFIG', `unknown platform message type ${JSON.stringify(m['type'])}`, {
      field: 'type',
    });
  if (typeof m['id'] !== 'string') bad('id', 'must be a string');
  if (m['traceparent'] !== undefined && typeof m['traceparent'] !== 'string')
    bad('traceparent', 'must be a string');
  if (m['timeoutMs'] !== undefined && !(typeof m['timeoutMs'] === 'number' && m['timeoutMs'] > 0))
    bad('timeoutMs', 'must be a positive number');
  const action = m['action'];
  if (action === 'spawn') {
    const spec = m['spec'] as Record<string, unknown> | undefined;
    if (typeof spec !== 'object' || spec === null) bad('spec', 'must be an object');
    for (const k of ['task', 'environment', 'kind'] as const)
      if (typeof spec![k] !== 'string') bad(`spec.${k}`, 'must be a string');
    if (!Array.isArray(spec!['cpus'])) bad('spec.cpus', 'must be a list of CPU numbers');
    const g = spec!['generation'];
    if (g !== undefined && (typeof g !== 'number' || !Number.isSafeInteger(g) || g < 1))
      bad('spec.generation', 'must be a positive integer');
  } else if (['transition', 'kill', 'restart', 'fault'].includes(action as string)) {
    if (typeof m['task'] !== 'string') bad('task', 'must be a string');
    if (typeof m['environment'] !== 'string') bad('environment', 'must be a string');
    if (action === 'transition') {
      if (!(commandedTaskTransitions as readonly string[]).includes(m['transition'] as string))
        bad('transition', `must be one of ${commandedTaskTransitions.join(', ')}`);
      if (typeof m['payload'] !== 'object' || m['payload'] === null) bad('payload', 'must be an object');
    }
  } else {
    bad('action', 'must be spawn, transition, kill, restart or fault');
  }
  return m as unknown as PlatformToAgent;
}
