/**
 * An environment (a partition / session, after AliECS): its state machine, its tasks and their roll-up,
 * and the failure semantics of docs/platform.md — a non-critical task that fails is excluded and the run goes
 * on; a critical one sends the environment to ERROR unless the recovery hook heals it. Each transition
 * lives in its own file under transitions/ and runs between hook steps before → leave → enter → after.
 *
 * The environment is the only writer of its own state. Transitions act through the narrow context of
 * transitions/context.ts; the rest of the platform reads it through read-only accessors and changes it
 * only through the methods below (a transition, a task report, an exclusion, a move, the masks).
 */
import { DaqError, isDaqError } from '../../protocol/errors.js';
import type { TaskReport } from '../../protocol/agent-link.js';
import {
  environmentFailure,
  failedEnvironmentState,
  nextEnvironmentState,
  type EnvironmentState,
  type EnvironmentTransition,
  type TaskState,
  taskDown,
} from '../../protocol/states.js';
import { topicNames, validateNamespace } from '../../protocol/topics.js';
import { withSpan } from '../../lib/tracing.js';
import type { WorkflowTemplate } from '../workflow/template.js';
import { HookRunner } from './hooks.js';
import { moveTask, transitionActions, type RunTime, type TransitionContext } from './transitions/index.js';
import { EnvironmentTasks } from './environment-tasks.js';
import { placementRequest } from '../placement/candidates.js';
import type { Placed } from '../placement/ledger.js';
import type { EnvironmentContext, MaskedCell, RunTimes, SavedEnvironment, TaskStatus } from './types.js';

export type { DrainSubject, EnvironmentContext, RunTimes, SavedEnvironment } from './types.js';

const RUN_TIME_FIELD: Readonly<Record<RunTime, keyof RunTimes>> = {
  'start-completed': 'startCompleted',
  end: 'end',
  'end-completed': 'endCompleted',
};

export class Environment {
  private current: EnvironmentState = 'STANDBY';
  private runNumber: number | undefined;
  private runClockMs: number | undefined;
  private times: RunTimes = {};
  private maskedCells: readonly MaskedCell[] = [];
  private readonly tasks: EnvironmentTasks;
  private busy: EnvironmentTransition | undefined;
  private readonly hooks: HookRunner;
  /** What transitions may do (transitions/context.ts): the only way they change this environment. */
  private readonly acts: TransitionContext;
  readonly topics;

  constructor(
    readonly id: string,
    readonly template: WorkflowTemplate,
    private readonly ctx: EnvironmentContext,
    readonly namespace: string = id,
  ) {
    validateNamespace(namespace);
    this.topics = topicNames(namespace);
    this.hooks = new HookRunner(template, ctx.actions, ctx.emit, id);
    this.tasks = new EnvironmentTasks(id, ctx.emit);
    this.acts = this.transitionContext();
  }

  // ---- what others read ------------------------------------------------------------------------------

  /** The environment's state; it changes only through the table (transition, fail). */
  get state(): EnvironmentState {
    return this.current;
  }

  get run(): number | undefined {
    return this.runNumber;
  }

  /** The run's common clock (timeframe 0, ms since the epoch) given to readouts at START_ACTIVITY. */
  get epochMs(): number | undefined {
    return this.runClockMs;
  }

  get runTimes(): RunTimes {
    return this.times;
  }

  /** Cells to mask from the next CONFIGURE on (readouts do not send them, data quality skips them). */
  get masks(): readonly MaskedCell[] {
    return this.maskedCells;
  }

  /** The transition under way, if any. */
  get transitionUnderWay(): EnvironmentTransition | undefined {
    return this.busy;
  }

  task(name: string): Readonly<TaskStatus> | undefined {
    return this.tasks.get(name);
  }

  /** Every task, excluded ones too, in placement order. */
  taskList(): Readonly<TaskStatus>[] {
    return this.tasks.list();
  }

  /** Where its tasks are, as the ledger keeps placements. */
  placed(): Placed[] {
    return this.tasks.placed(this.template);
  }

  /** Tasks still taking part (not excluded). */
  activeTasks(): Readonly<TaskStatus>[] {
    return this.taskList().filter((t) => !t.excluded);
  }

  /** The tasks' states rolled up: ERROR wins, then LOST; otherwise the common state, or MIXED. */
  rollUp(): TaskState | 'MIXED' | 'NONE' {
    const active = this.activeTasks();
    if (active.length === 0) return 'NONE';
    if (active.some((t) => t.state === 'ERROR')) return 'ERROR';
    if (active.some((t) => t.state === 'LOST')) return 'LOST';
    const first = active[0]!.state;
    return active.every((t) => t.state === first) ? first : 'MIXED';
  }

  /** Whether its tasks hold cores and memory on their nodes (deployed and not yet exited). */
  holdsResources(): boolean {
    return this.current !== 'STANDBY' && this.current !== 'DONE' && this.tasks.size > 0;
  }

  /** What the store keeps of it. */
  saved(): SavedEnvironment {
    return {
      masks: this.maskedCells,
      state: this.current,
      run: this.runNumber,
      epochMs: this.runClockMs,
      runTimes: { ...this.times },
      tasks: this.tasks.saved(),
    };
  }

  // ---- what changes it -------------------------------------------------------------------------------

  /** Back as the store kept it (a platform restart): a load, not a transition. */
  load(saved: SavedEnvironment): void {
    this.current = saved.state;
    this.maskedCells = saved.masks;
    this.runNumber = saved.run;
    this.runClockMs = saved.epochMs;
    this.times = { ...saved.runTimes };
    this.tasks.load(saved.tasks);
  }

  /** The cells to mask from the next CONFIGURE on (checked by the caller against the detector). */
  setMasks(cells: readonly MaskedCell[]): void {
    this.maskedCells = cells.map((c) => ({ ...c }));
  }

  /**
   * The failure edge of protocol/states.ts taken without running the transition — a transition that
   * failed, a critical task lost while another transition is under way. Returns whether the state changed
   * (ERROR and DONE stay as they are).
   */
  fail(): boolean {
    if (!environmentFailure.from.includes(this.current)) return false;
    this.current = failedEnvironmentState(this.current);
    return true;
  }

  /**
   * A platform restart found this environment in the middle of `transition`: what its tasks really did is
   * only known from the agents, so it takes the failure edge to ERROR, from where RECOVER or EXIT lead on,
   * and the transition log says so. Returns whether the state changed.
   */
  cutByRestart(transition: EnvironmentTransition): boolean {
    if (!this.fail()) return false;
    this.ctx.emit({
      kind: 'environment',
      environment: this.id,
      transition,
      step: 'after',
      status: 'DONE_ERROR',
      state: this.current,
      at: new Date().toISOString(),
      error: 'cut by a platform restart; RECOVER or EXIT',
    });
    return true;
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
        at: new Date().toISOString(),
        ...(error === undefined ? {} : { error }),
      });
    try {
      return await withSpan(
        `environment ${t}`,
        { 'daq.environment': this.id, 'daq.transition': t, 'daq.from': from },
        async () => {
          event('before', 'STARTED');
          await this.hooks.step('before', t, this.run);
          await transitionActions[t](this.acts);
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

  /** Takes a task report from its agent (heartbeat, task event) and applies the failure semantics. */
  async onTaskReport(r: TaskReport): Promise<void> {
    const before = this.tasks.mirror(r);
    if (before === undefined) return;
    const t = this.tasks.required(r.task);
    if (r.state === 'ERROR' && !taskDown(before) && !t.excluded) await this.taskFailed(t);
  }

  /** Its node is lost: LOST with the time, excluded or not; one taking part fails as any task does. */
  async onTaskLost(name: string, message: string): Promise<void> {
    const t = this.tasks.lose(name, message, new Date().toISOString());
    if (t !== undefined && !t.excluded) await this.taskFailed(t);
  }

  /** Takes a non-critical task out of the run: no longer commanded, not in the roll-up. */
  exclude(name: string, why: string): void {
    this.tasks.exclude(name, why);
  }

  /**
   * Places a task again away from its node and brings it to the environment's state there
   * (transitions/move-task.ts); its last report is applied as any report is.
   */
  async moveTask(name: string, stopless = false): Promise<void> {
    await this.onTaskReport(await moveTask(this.acts, name, stopless));
  }

  // ---- inside ----------------------------------------------------------------------------------------

  /** A task failed: recovery first; else exclude it if it is not critical, or take the environment to ERROR. */
  private async taskFailed(t: Readonly<TaskStatus>): Promise<void> {
    const up = this.state === 'RUNNING' || this.state === 'CONFIGURED' || this.state === 'DEPLOYED';
    if (up && this.busy === undefined && this.ctx.onTaskFailure !== undefined) {
      const handled = await this.ctx.onTaskFailure(this, t);
      if (handled || t.excluded || !taskDown(t.state)) return;
    }
    if (!t.critical) {
      this.exclude(t.name, t.message ?? 'failed');
      return;
    }
    if (!up) return;
    if (this.busy === undefined) await this.transition('GO_ERROR').catch(() => undefined);
    else this.fail();
  }

  private emitRun(time: 'start' | RunTime, at: string): void {
    this.ctx.emit({ kind: 'run', environment: this.id, run: this.runNumber ?? -1, time, at });
  }

  private transitionContext(): TransitionContext {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the context's getters read this environment
    const env = this;
    const { ctx } = this;
    const requestOf = (name: string) => {
      const tt = env.template.tasks.find((x) => x.name === name);
      if (tt === undefined)
        throw new DaqError('NOT_FOUND', `no task ${name} in the template of ${env.id}`, { field: 'task' });
      return placementRequest(tt);
    };
    return {
      id: env.id,
      namespace: env.namespace,
      template: env.template,
      brokers: ctx.brokers,
      get state() {
        return env.current;
      },
      get masks() {
        return env.maskedCells;
      },
      get run() {
        return env.runNumber;
      },
      get epochMs() {
        return env.runClockMs;
      },
      tasks: () => env.taskList(),
      activeTasks: () => env.activeTasks(),
      placeTasks: () =>
        env.tasks.place(
          env.template,
          ctx.ledger.allocate(
            env.id,
            env.template.tasks.map((t) => requestOf(t.name)),
          ),
        ),
      releaseTasks: () => {
        env.tasks.killAll();
        ctx.ledger.release(env.id);
      },
      replaceTask: async (name, keepOld = false) => {
        const t = env.tasks.required(name);
        const p = ctx.ledger.move(env.id, name, t.node, requestOf(name));
        if (!keepOld)
          await ctx.driver.kill(t.node, { environment: env.id, task: name }).catch(() => undefined);
        return env.tasks.replace(name, p);
      },
      killOn: (node, name) =>
        ctx.driver.kill(node, { environment: env.id, task: name }).catch(() => undefined),
      beginRun: async (epochMs) => {
        const run = await ctx.nextRun();
        env.runNumber = run;
        const start = new Date().toISOString();
        env.times = { start };
        env.emitRun('start', start);
        env.runClockMs = epochMs;
        return run;
      },
      runTime: (time) => {
        const at = new Date().toISOString();
        env.times = { ...env.times, [RUN_TIME_FIELD[time]]: at };
        env.emitRun(time, at);
      },
      spawn: (name, spec, traceparent) => ctx.driver.spawn(env.tasks.required(name).node, spec, traceparent),
      command: (name, transition, payload, traceparent) =>
        ctx.driver.transition(
          env.tasks.required(name).node,
          { environment: env.id, task: name },
          transition,
          payload,
          traceparent,
        ),
      kill: (name) => ctx.driver.kill(env.tasks.required(name).node, { environment: env.id, task: name }),
      answered: (name, report) => {
        env.tasks.mirror({ ...report, task: name });
      },
      taskFailed: async (name, message) => {
        const t = env.tasks.fail(name, message);
        if (!t.critical) await env.taskFailed(t);
      },
      drain: (stopped) =>
        ctx.drain?.(
          {
            id: env.id,
            namespace: env.namespace,
            run: env.runNumber,
            readoutExcluded: env.taskList().some((t) => t.workload === 'readout' && t.excluded),
          },
          stopped,
        ) ?? Promise.resolve(),
      prepareTopics: () => ctx.prepareTopics?.({ id: env.id, namespace: env.namespace }) ?? Promise.resolve(),
    };
  }
}
