/**
 * An environment (a partition / session, after AliECS): its state machine, its tasks and their roll-up,
 * and the failure semantics of docs/platform.md — a non-critical task that fails is excluded and the run goes
 * on; a critical one sends the environment to ERROR unless the recovery hook heals it. Each transition
 * lives in its own file under transitions/ and runs between hook steps before → leave → enter → after.
 */
import { DaqError, isDaqError } from '../../protocol/errors.js';
import type { TaskReport } from '../../protocol/agent-link.js';
import {
  environmentFailure,
  failedEnvironmentState,
  nextEnvironmentState,
  nextTaskState,
  taskAllows,
  type EnvironmentState,
  type EnvironmentTransition,
  type TaskState,
  type TaskTransition,
} from '../../protocol/states.js';
import { topicNames, validateNamespace } from '../../protocol/topics.js';
import { withSpan } from '../../lib/tracing.js';
import type { ResourceLedger } from '../placement/ledger.js';
import type { WorkflowTemplate } from '../workflow/template.js';
import { HookRunner, type HookActions } from './hooks.js';
import type { ControlEvent, TaskDriver, TaskStatus } from './types.js';
import { transitionActions } from './transitions/index.js';

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
  readonly onTaskFailure?: (env: Environment, task: TaskStatus) => Promise<boolean>;
  /**
   * During STOP_ACTIVITY, after the tasks of these workload kinds stopped: resolves when what they produced
   * has been consumed downstream (the data path drained), or after its own time limit. Default: no wait.
   */
  readonly drain?: (env: Environment, stoppedWorkloads: readonly string[]) => Promise<void>;
}

export interface RunTimes {
  start?: string;
  startCompleted?: string;
  end?: string;
  endCompleted?: string;
}

/** What the store keeps of an environment, loaded back after a platform restart. */
/** One masked cell of the detector. */
export interface MaskedCell {
  readonly chamber: number;
  readonly layer: number;
  readonly cell: number;
}

export interface SavedEnvironment {
  readonly masks: readonly MaskedCell[];
  readonly state: EnvironmentState;
  readonly run: number | undefined;
  readonly epochMs: number | undefined;
  readonly runTimes: RunTimes;
  readonly tasks: readonly TaskStatus[];
}

/**
 * A task's state as the platform moves it itself (a command to it failed, its process was killed, it is
 * placed anew): through the task table. States read from an agent's report are the agent's own, whose
 * supervisor moved them through the same table; the platform mirrors them as reported.
 */
export function moveTaskState(t: TaskStatus, transition: TaskTransition): void {
  t.state = nextTaskState(t.state, transition);
}

/** The platform's verdict that a task failed: ERROR through the table's failure edge, with why. */
export function markTaskFailed(t: TaskStatus, message: string): void {
  t.message = message;
  if (taskAllows(t.state, 'GO_ERROR')) moveTaskState(t, 'GO_ERROR');
}

export class Environment {
  private current: EnvironmentState = 'STANDBY';
  run: number | undefined;
  /** The run's common clock (timeframe 0, ms since the epoch) given to readouts at START_ACTIVITY. */
  epochMs: number | undefined;
  runTimes: RunTimes = {};
  /** Cells to mask from the next CONFIGURE on (readouts do not send them, data quality skips them). */
  masks: readonly MaskedCell[] = [];
  readonly tasks = new Map<string, TaskStatus>();
  readonly topics;
  private busy: EnvironmentTransition | undefined;
  private readonly hooks: HookRunner;

  constructor(
    readonly id: string,
    readonly template: WorkflowTemplate,
    readonly ctx: EnvironmentContext,
    readonly namespace: string = id,
  ) {
    validateNamespace(namespace);
    this.topics = topicNames(namespace);
    this.hooks = new HookRunner(template, ctx.actions, ctx.emit, id);
  }

  /** The environment's state; it changes only through the table (transition, fail). */
  get state(): EnvironmentState {
    return this.current;
  }

  /** Back as the store kept it (a platform restart): a load, not a transition. */
  load(saved: SavedEnvironment): void {
    this.current = saved.state;
    this.masks = saved.masks;
    this.run = saved.run;
    this.epochMs = saved.epochMs;
    this.runTimes = { ...saved.runTimes };
    this.tasks.clear();
    for (const t of saved.tasks) this.tasks.set(t.name, { ...t });
  }

  /**
   * The failure edge of protocol/states.ts taken without running the transition — a transition that
   * failed, a critical task lost while another transition is under way, a transition cut by a restart.
   * Returns whether the state changed (ERROR and DONE stay as they are).
   */
  fail(): boolean {
    if (!environmentFailure.from.includes(this.current)) return false;
    this.current = failedEnvironmentState(this.current);
    return true;
  }

  /** The transition under way, if any. */
  get transitionUnderWay(): EnvironmentTransition | undefined {
    return this.busy;
  }

  /** Tasks still taking part (not excluded). */
  activeTasks(): TaskStatus[] {
    return [...this.tasks.values()].filter((t) => !t.excluded);
  }

  /** The tasks' states rolled up: ERROR wins; otherwise the common state, or MIXED. */
  rollUp(): TaskState | 'MIXED' | 'NONE' {
    const active = this.activeTasks();
    if (active.length === 0) return 'NONE';
    if (active.some((t) => t.state === 'ERROR')) return 'ERROR';
    const first = active[0]!.state;
    return active.every((t) => t.state === first) ? first : 'MIXED';
  }

  /** Runs a transition; illegal ones are refused naming state and transition, one at a time. */
  async transition(
    t: EnvironmentTransition,
    options: { traceparent?: string } = {},
  ): Promise<EnvironmentState> {
    const from = this.state;
    const to = nextEnvironmentState(from, t);
    if (this.busy !== undefined) {
      throw new DaqError(
        'ILLEGAL_TRANSITION',
        `environment ${this.id} is busy with ${this.busy}; ${t} refused`,
        { field: 'transition' },
      );
    }
    this.busy = t;
    const at = (): string => new Date().toISOString();
    const event = (
      step: 'before' | 'leave' | 'enter' | 'after',
      status: 'STARTED' | 'DONE_OK' | 'DONE_ERROR',
      error?: string,
    ): void =>
      this.ctx.emit({
        kind: 'environment',
        environment: this.id,
        transition: t,
        step,
        status,
        state: this.state,
        at: at(),
        ...(error === undefined ? {} : { error }),
      });
    try {
      return await withSpan(
        `environment ${t}`,
        { 'daq.environment': this.id, 'daq.transition': t, 'daq.from': from },
        async () => {
          event('before', 'STARTED');
          await this.hooks.step('before', t, this.run);
          await transitionActions[t](this);
          await this.hooks.step('leave', t, this.run);
          this.current = to;
          await this.hooks.step('enter', t, this.run);
          await this.hooks.step('after', t, this.run);
          event('after', 'DONE_OK');
          return this.state;
        },
        options.traceparent,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A failed transition leaves a live environment in ERROR, from where RECOVER or EXIT lead on. A
      // DEPLOY that could not be placed did nothing: the environment stays in STANDBY. One that failed
      // while starting processes left some behind: ERROR, from where EXIT cleans up. A failed EXIT
      // leaves the state as it was, so EXIT can be tried again.
      const leftSomething = t === 'DEPLOY' ? !isDaqError(err, 'PLACEMENT_FAILED') : t !== 'EXIT';
      if (leftSomething) this.fail();
      event('after', 'DONE_ERROR', message);
      throw err;
    } finally {
      this.busy = undefined;
    }
  }

  /**
   * A task answered a command of a transition (spawn, CONFIGURE, START …): its state and process as the
   * agent reported them, and a task event when the state changed — the transition log shows the tasks as
   * they answer. A failure is not handled here (markTaskFailed and the transition's own failure do).
   */
  taskAnswered(t: TaskStatus, r: TaskReport): void {
    t.message = r.message;
    this.mirror(t, r);
  }

  /** Takes a task report from its agent (heartbeat, task event) and applies the failure semantics. */
  async onTaskReport(r: TaskReport): Promise<void> {
    const t = this.tasks.get(r.task);
    if (t === undefined) return;
    t.message = r.message;
    const before = this.mirror(t, r);
    if (r.state === 'ERROR' && before !== 'ERROR' && !t.excluded) await this.taskFailed(t);
  }

  /** A task's state and process as its agent reported them; a task event when the state changed. */
  private mirror(t: TaskStatus, r: TaskReport): TaskState {
    const before = t.state;
    t.state = r.state;
    t.pid = r.pid;
    if (before !== r.state)
      this.ctx.emit({
        kind: 'task',
        environment: this.id,
        task: t.name,
        state: t.state,
        excluded: t.excluded,
        at: new Date().toISOString(),
        ...(t.message === undefined ? {} : { message: t.message }),
      });
    return before;
  }

  /** A task failed: recovery first; else exclude it if it is not critical, or take the environment to ERROR. */
  async taskFailed(t: TaskStatus): Promise<void> {
    const up = this.state === 'RUNNING' || this.state === 'CONFIGURED' || this.state === 'DEPLOYED';
    if (up && this.busy === undefined && this.ctx.onTaskFailure !== undefined) {
      const handled = await this.ctx.onTaskFailure(this, t);
      if (handled || t.excluded || t.state !== 'ERROR') return;
    }
    if (!t.critical) {
      this.exclude(t, t.message ?? 'failed');
      return;
    }
    if (!up) return;
    if (this.busy === undefined) await this.transition('GO_ERROR').catch(() => undefined);
    else this.fail();
  }

  /** Takes a non-critical task out of the run: no longer commanded, not in the roll-up. */
  exclude(t: TaskStatus, why: string): void {
    if (t.critical) throw new DaqError('INVALID_CONFIG', `task ${t.name} is critical: it cannot be excluded`);
    if (t.excluded) return;
    t.excluded = true;
    this.ctx.emit({
      kind: 'task',
      environment: this.id,
      task: t.name,
      state: t.state,
      excluded: true,
      at: new Date().toISOString(),
      message: `excluded: ${why}`,
    });
  }
}
