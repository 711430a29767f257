/** The run-control model: what an environment knows of its tasks, and how it reaches them. */
import type { TaskRef, TaskReport, TaskSpec } from '../../protocol/agent-link.js';
import type { ResourceLedger } from '../placement/ledger.js';
import type { HookActions } from './hooks.js';
import type {
  EnvironmentState,
  EnvironmentTransition,
  TaskState,
  TaskTransition,
} from '../../protocol/states.js';

/** How the platform reaches tasks on nodes (the agent hub; an in-memory double in unit tests and benches). */
export interface TaskDriver {
  spawn(node: string, spec: TaskSpec, traceparent?: string): Promise<TaskReport>;
  transition(
    node: string,
    task: TaskRef,
    transition: TaskTransition,
    payload: Readonly<Record<string, unknown>>,
    traceparent?: string,
  ): Promise<TaskReport>;
  kill(node: string, task: TaskRef): Promise<void>;
  /** Stops the task's process if it runs, starts it again and brings it back to its state. */
  restart(node: string, task: TaskRef, traceparent?: string): Promise<TaskReport>;
  /** Hands a drill fault (protocol/faults.ts) to a running readout; rejects with its reason. */
  fault(node: string, task: TaskRef, fault: object): Promise<void>;
}

export interface TaskStatus {
  readonly name: string;
  readonly workload: string;
  readonly node: string;
  readonly cpus: readonly number[];
  readonly numa: number;
  readonly memoryMiB: number;
  /** Why placement put it there ("readout-1: node-b, NUMA 0: link 1 → board-b on node-b"). */
  readonly placement?: string | undefined;
  readonly critical: boolean;
  state: TaskState;
  /** Taken out of the run (a failed non-critical task): no longer commanded, not in the roll-up. */
  excluded: boolean;
  pid: number | undefined;
  message: string | undefined;
  /** Its placement's generation: one more at each placement of the task (TaskSpec.generation). */
  readonly generation?: number | undefined;
  /** When its node was lost (state LOST): the last time the platform could speak for it. */
  lostAt?: string | undefined;
}

/** One masked cell of the detector. */
export interface MaskedCell {
  readonly chamber: number;
  readonly layer: number;
  readonly cell: number;
}

export type ControlStep = 'before' | 'leave' | 'enter' | 'after';
export type ControlStatus = 'STARTED' | 'DONE_OK' | 'DONE_ERROR' | 'DONE_TIMEOUT';

/** What goes to Kafka `<ns>.control` (docs/platform.md "Control events and ERS on Kafka"). */
export type ControlEvent =
  | {
      readonly kind: 'environment';
      readonly environment: string;
      readonly transition: EnvironmentTransition;
      readonly step: ControlStep;
      readonly status: ControlStatus;
      readonly state: EnvironmentState;
      readonly at: string;
      readonly error?: string;
    }
  | {
      readonly kind: 'task';
      readonly environment: string;
      readonly task: string;
      readonly state: TaskState;
      readonly excluded: boolean;
      readonly at: string;
      readonly message?: string;
    }
  | {
      readonly kind: 'hook';
      readonly environment: string;
      readonly hook: string;
      readonly transition: EnvironmentTransition;
      readonly step: ControlStep;
      readonly status: ControlStatus;
      readonly at: string;
      readonly error?: string;
    }
  | {
      readonly kind: 'run';
      readonly environment: string;
      readonly run: number;
      readonly at: string;
      readonly time: 'start' | 'start-completed' | 'end' | 'end-completed';
    };

/** What the data path is asked about an environment while STOP drains it. */
export interface DrainSubject {
  readonly id: string;
  readonly namespace: string;
  readonly run: number | undefined;
  /** A readout was taken out of the run: its final report will not come. */
  readonly readoutExcluded: boolean;
}

export interface EnvironmentContext {
  readonly driver: TaskDriver;
  readonly ledger: ResourceLedger;
  /** The next run number (monotonic, survives restarts: the run registry). */
  readonly nextRun: () => Promise<number>;
  readonly brokers: readonly string[];
  readonly actions: HookActions;
  readonly emit: (e: ControlEvent) => void;
  /**
   * Called when a task fails while the environment is up and no transition is under way: automated
   * recovery (runbooks). Resolves true when it handled the failure (restarted, moved or excluded the
   * task). Otherwise — and by default — a non-critical task is excluded and a critical one sends the
   * environment to ERROR.
   */
  readonly onTaskFailure?: (env: { readonly id: string }, task: Readonly<TaskStatus>) => Promise<boolean>;
  /**
   * During STOP_ACTIVITY, after the tasks of these workload kinds stopped: resolves when what they produced
   * has been consumed downstream (the data path drained), or after its own time limit. Default: no wait.
   */
  readonly drain?: (env: DrainSubject, stoppedWorkloads: readonly string[]) => Promise<void>;
  /**
   * At DEPLOY: makes the environment's namespace topics with the replication the cluster can honour and
   * checks what they survive (lib/topics.ts). Throws INVALID_CONFIG when the cluster cannot honour the
   * replication asked; says the rest itself (ERS). Default: nothing (the workloads make the topics).
   */
  readonly prepareTopics?: (env: { readonly id: string; readonly namespace: string }) => Promise<void>;
}

export interface RunTimes {
  readonly start?: string;
  readonly startCompleted?: string;
  readonly end?: string;
  readonly endCompleted?: string;
}

/** What the store keeps of an environment, loaded back after a platform restart. */
export interface SavedEnvironment {
  readonly masks: readonly MaskedCell[];
  readonly state: EnvironmentState;
  readonly run: number | undefined;
  readonly epochMs: number | undefined;
  readonly runTimes: RunTimes;
  readonly tasks: readonly TaskStatus[];
}
