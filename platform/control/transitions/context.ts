/**
 * What a transition may do to its environment: the narrow context the environment hands each transition
 * (one file each beside this one). The environment stays the only writer of its state — its tasks, its run
 * and its clocks change only through these calls — and a transition can be tested on its own against a
 * fake context (test/helpers/transition-context.ts).
 */
import type { TaskReport, TaskSpec } from '../../../protocol/agent-link.js';
import type { EnvironmentState, TaskTransition } from '../../../protocol/states.js';
import type { WorkflowTemplate } from '../../workflow/template.js';
import type { MaskedCell, TaskStatus } from '../types.js';

/** The run times a transition records; each is also a `run` control event. */
export type RunTime = 'start-completed' | 'end' | 'end-completed';

export interface TransitionContext {
  readonly id: string;
  readonly namespace: string;
  readonly template: WorkflowTemplate;
  readonly state: EnvironmentState;
  /** The Kafka brokers the environment's workloads use. */
  readonly brokers: readonly string[];
  /** Cells to mask, as set for the next CONFIGURE. */
  readonly masks: readonly MaskedCell[];
  readonly run: number | undefined;
  /** The run's common clock (timeframe 0, ms since the epoch). */
  readonly epochMs: number | undefined;

  /** Every task of the environment, excluded ones too. */
  tasks(): readonly Readonly<TaskStatus>[];
  /** Tasks still taking part (not excluded). */
  activeTasks(): readonly Readonly<TaskStatus>[];

  /** Places every task of the template (all or nothing, resources locked) and records it in STANDBY. */
  placeTasks(): readonly Readonly<TaskStatus>[];
  /** Every task's process gone (KILL through the task table) and the environment's resources released. */
  releaseTasks(): void;
  /**
   * Places one task again away from its node: the new place is locked, the old process stopped (unless
   * `keepOld`: the caller stops it once the new one runs), and the task recorded in STANDBY on its new node.
   */
  replaceTask(task: string, keepOld?: boolean): Promise<Readonly<TaskStatus>>;

  /** Stops a task's process on one node (the old copy of a task moved without a stop). */
  killOn(node: string, task: string): Promise<void>;

  /** Starts a run: the next run number and its start time, with the run's common clock. */
  beginRun(epochMs: number): Promise<number>;
  /** Records one of the run's times (now). */
  runTime(time: RunTime): void;

  /** Asks the task's agent to run it (its answer is not recorded: see `answered`). */
  spawn(task: string, spec: TaskSpec, traceparent?: string): Promise<TaskReport>;
  /** Sends a task transition to the task's agent (its answer is not recorded: see `answered`). */
  command(
    task: string,
    transition: TaskTransition,
    payload: Readonly<Record<string, unknown>>,
    traceparent?: string,
  ): Promise<TaskReport>;
  /** Stops the task's process, wherever it is. */
  kill(task: string): Promise<void>;
  /** The task answered: its state and process as its agent reported them (the transition log shows it). */
  answered(task: string, report: TaskReport): void;
  /**
   * A command to the task failed: it is in ERROR with why. A non-critical one is handled at once (recovery
   * or exclusion); a critical one fails the transition, which the caller reports.
   */
  taskFailed(task: string, message: string): Promise<void>;

  /** Resolves when the data path drained after the tasks of these workload kinds stopped. */
  drain(stoppedWorkloads: readonly string[]): Promise<void>;
  /** The namespace's topics made and checked for the cluster they are on (DEPLOY). */
  prepareTopics(): Promise<void>;
}
