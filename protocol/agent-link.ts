/**
 * The agent ↔ platform link: JSON messages over a WebSocket. The agent registers its node's resources,
 * sends heartbeats with its tasks' states, and answers task commands. Both sides validate what they read.
 */
import { DaqError } from './errors.js';
import { taskStates, taskTransitions, type TaskState, type TaskTransition } from './states.js';

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
}

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
      readonly event: 'exited' | 'restarted' | 'failed' | 'state' | 'pinning-failed';
    };

export type PlatformToAgent =
  | {
      readonly type: 'command';
      readonly id: string;
      /**
       * `restart`: stop the task's process if it runs, start it again, replay it to its state. `fault`: a
       * drill fault (`payload.fault`, protocol/faults.ts) for a running readout's emulator.
       */
      readonly action: 'spawn' | 'transition' | 'kill' | 'restart' | 'fault';
      readonly spec?: TaskSpec;
      readonly task?: string;
      readonly transition?: TaskTransition;
      readonly payload?: Readonly<Record<string, unknown>>;
      readonly traceparent?: string;
      readonly timeoutMs?: number;
    }
  | { readonly type: 'welcome'; readonly node: string };

/** Validates a message from the platform; throws INVALID_CONFIG naming the field. */
export function parsePlatformMessage(text: string): PlatformToAgent {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new DaqError('INVALID_CONFIG', 'platform message is not JSON', { field: 'message' });
  }
  const m = v as Record<string, unknown>;
  if (m['type'] === 'welcome') return m as unknown as PlatformToAgent;
  if (m['type'] !== 'command')
    throw new DaqError('INVALID_CONFIG', `unknown platform message type ${JSON.stringify(m['type'])}`, {
      field: 'type',
    });
  if (typeof m['id'] !== 'string')
    throw new DaqError('INVALID_CONFIG', 'command.id must be a string', { field: 'id' });
  if (!['spawn', 'transition', 'kill', 'restart', 'fault'].includes(m['action'] as string)) {
    throw new DaqError('INVALID_CONFIG', `command.action must be spawn, transition, kill, restart or fault`, {
      field: 'action',
    });
  }
  if (
    m['action'] === 'transition' &&
    !(taskTransitions as readonly string[]).includes(m['transition'] as string)
  ) {
    throw new DaqError('INVALID_CONFIG', `command.transition must be one of ${taskTransitions.join(', ')}`, {
      field: 'transition',
    });
  }
  return m as unknown as PlatformToAgent;
}

export function isTaskState(s: string): s is TaskState {
  return (taskStates as readonly string[]).includes(s);
}
