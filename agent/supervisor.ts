/**
 * The supervisor: starts each task's process with its CPUs and memory node applied and verifies the
 * placement (task-process.ts), drives the task state machine over IPC with a timeout per command
 * (task-channel.ts), turns the task's output into ERS (task-output.ts), restarts it by policy when it dies
 * and reports it failed after the cap. Orphans of a previous agent are found and stopped on start. Each
 * task's record, and its state, is a SupervisedTask (task.ts): moved only through the task table.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { DaqError, isErrorCode } from '../protocol/errors.js';
import { nextTaskState, type TaskState, type TaskTransition } from '../protocol/states.js';
import {
  taskKey,
  type TaskEvent,
  type TaskRef,
  type TaskReport,
  type TaskSpec,
} from '../protocol/agent-link.js';
import type { ErsReporter } from '../lib/ers.js';
import { traceparentOf, withSpan } from '../lib/tracing.js';
import { checkOffered, type PinningTools } from './pinning.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicyOptions } from './restart-policy.js';
import { SupervisedTask } from './task.js';
import { TaskChannel } from './task-channel.js';
import { captureOutput } from './task-output.js';
import {
  ENVIRONMENT_ENV_MARKER,
  NODE_ENV_MARKER,
  TASK_ENV_MARKER,
  awaitPlacement,
  launch,
} from './task-process.js';

export { ENVIRONMENT_ENV_MARKER, NODE_ENV_MARKER, TASK_ENV_MARKER };

export interface SupervisorOptions {
  readonly node: string;
  readonly ers: ErsReporter;
  /** Where workloads' own ERS records (read from their stderr) go. */
  readonly forwardErs: (issue: unknown) => void;
  readonly tools: PinningTools;
  /** The CPUs this node offers (its topology, cut to the agent's affinity): a task is pinned to no other. */
  readonly offeredCpus?: readonly number[] | undefined;
  readonly restart?: RestartPolicyOptions;
  readonly commandTimeoutMs?: number;
  /** How long a new process may take to report ready (start-up on a loaded node is slow). */
  readonly spawnTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  readonly now?: () => number;
  /**
   * Whether the agent restarts a crashed task by itself (its restart policy). The agent says no while
   * the platform is connected: then the platform's runbooks decide (restart, exclude, move, escalate)
   * and the crash is reported at once. Default: always restart by itself.
   */
  readonly selfRestart?: () => boolean;
}

export type { TaskEvent };

export class Supervisor extends EventEmitter<{ 'task-event': [TaskReport, TaskEvent] }> {
  private readonly tasks = new Map<string, SupervisedTask>();
  private readonly now: () => number;

  constructor(private readonly o: SupervisorOptions) {
    super();
    this.now = o.now ?? (() => Date.now());
  }

  /** Stops processes a previous agent of this node left behind (they cannot be re-attached). */
  static stopOrphans(node: string, ers: ErsReporter): number[] {
    const found: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
        if (!env.includes(`${NODE_ENV_MARKER}=${node}`)) continue;
        const marker = (m: string): string =>
          env.find((e) => e.startsWith(`${m}=`))?.slice(m.length + 1) ?? '?';
        const task = marker(TASK_ENV_MARKER);
        const environment = marker(ENVIRONMENT_ENV_MARKER);
        process.kill(Number(entry), 'SIGTERM');
        found.push(Number(entry));
        ers.raise(
          'daqops.agent.OrphanWorkload',
          `stopped task ${environment}/${task} (pid ${entry}) left by a previous agent`,
          { pid: Number(entry), task, environment },
        );
      } catch {
        // Gone, or not ours to read.
      }
    }
    return found;
  }

  reports(): TaskReport[] {
    return [...this.tasks.values()].map((t) => t.report());
  }

  get(ref: TaskRef): TaskReport | undefined {
    return this.tasks.get(taskKey(ref))?.report();
  }

  /** Starts a task's process in STANDBY. */
  async spawn(spec: TaskSpec, traceparent?: string): Promise<TaskReport> {
    const key = taskKey(spec);
    if (this.tasks.has(key))
      throw new DaqError('INVALID_CONFIG', `task ${key} already exists on ${this.o.node}`, {
        field: 'task',
      });
    checkOffered(key, spec.cpus, this.o.node, this.o.offeredCpus);
    const t = new SupervisedTask(spec, this.o.restart ?? DEFAULT_RESTART_POLICY, this.now);
    this.tasks.set(key, t);
    await withSpan(
      `agent spawn ${spec.task}`,
      { 'daq.task': spec.task, 'daq.environment': spec.environment, 'daq.node': this.o.node },
      () => this.start(t),
      traceparent,
    );
    return t.report();
  }

  /** A process for the task, ready for commands, its placement checked; a `command` task then runs. */
  private async start(t: SupervisedTask): Promise<void> {
    const { child, ready, memoryBound } = launch(t.spec, {
      node: this.o.node,
      tools: this.o.tools,
      ers: this.o.ers,
      readyTimeoutMs: this.o.spawnTimeoutMs ?? 60_000,
    });
    t.child = child;
    t.processStarted();
    captureOutput(t.spec, child, this.o.ers, this.o.forwardErs);
    t.channel = t.isWorkload
      ? new TaskChannel(t.spec.task, child, (state, message) => this.onOwnMove(t, state, message))
      : undefined;
    child.once('exit', (code, signal) => this.onExit(t, child, code, signal));
    await ready;
    if (!t.isWorkload) t.move('LAUNCH');
    const pid = child.pid;
    if (pid === undefined) return;
    const v = await awaitPlacement(pid, { cpus: t.spec.cpus, memoryNode: t.spec.memoryNode }, memoryBound);
    t.cpus = v.cpus;
    t.mems = v.mems;
    // A placement that differs is an Error issue, never silent.
    if (!v.ok) {
      this.o.ers.raise(
        'daqops.agent.PinningFailed',
        `task ${taskKey(t.spec)}: ${v.problem ?? 'placement differs'}`,
        { task: t.spec.task, environment: t.spec.environment, pid },
      );
      this.emit('task-event', t.report(), 'pinning-failed');
    }
  }

  /** The workload moved by itself (finished a bounded run, failed): mirrored through the table. */
  private onOwnMove(t: SupervisedTask, state: TaskState, message: string | undefined): void {
    if (!t.movedByItself(state)) return this.unexpected(t, state);
    t.message = message;
    this.emit('task-event', t.report(), 'state');
  }

  private timeout(): number {
    return this.o.commandTimeoutMs ?? 15_000;
  }

  private task(ref: TaskRef): SupervisedTask {
    const t = this.tasks.get(taskKey(ref));
    if (t === undefined)
      throw new DaqError('NOT_FOUND', `no task ${taskKey(ref)} on ${this.o.node}`, { field: 'task' });
    return t;
  }

  /** Drives a task transition; rejects with ILLEGAL_TRANSITION, TIMEOUT or the task's own error. */
  async transition(
    ref: TaskRef,
    transition: TaskTransition,
    payload: Readonly<Record<string, unknown>> = {},
    traceparent?: string,
    timeoutMs = this.timeout(),
  ): Promise<TaskReport> {
    const t = this.task(ref);
    const task = taskKey(ref);
    return withSpan(
      `agent ${transition} ${ref.task}`,
      {
        'daq.task': ref.task,
        'daq.environment': ref.environment,
        'daq.transition': transition,
        'daq.node': this.o.node,
      },
      async () => {
        // Refused here, before anything is sent, when the table has no such move from where the task is.
        nextTaskState(t.state, transition);
        if (t.channel !== undefined) {
          const r = await t.channel.request(
            { type: 'command', transition, payload, traceparent: traceparentOf() },
            timeoutMs,
          );
          if (r.type === 'reply' && !r.ok) {
            const code = r.error?.code;
            // The workload's own code when it is one of the catalogue (a config it refused), else TASK_FAILED.
            throw new DaqError(
              isErrorCode(code) ? code : 'TASK_FAILED',
              `task ${task} ${transition}: ${r.error?.message ?? 'failed'}`,
            );
          }
          t.commanded(transition, payload);
          if (r.type === 'reply' && r.state !== t.state) this.unexpected(t, r.state);
        } else t.commanded(transition, payload);
        if (transition === 'EXIT') await this.stop(t, 'for-good');
        return t.report();
      },
      traceparent,
    );
  }

  /** Hands a drill fault to a running readout; rejects with the task's reason when it does not take it. */
  async fault(ref: TaskRef, fault: unknown, timeoutMs = this.timeout()): Promise<TaskReport> {
    const t = this.task(ref);
    const task = taskKey(ref);
    if (t.channel === undefined)
      throw new DaqError('INVALID_FAULT', `task ${task} is a command, not a readout`, { field: 'task' });
    const r = await t.channel.request({ type: 'fault', fault }, timeoutMs);
    if (r.type === 'reply' && !r.ok)
      throw new DaqError('INVALID_FAULT', `task ${task}: ${r.error?.message ?? 'fault refused'}`, {
        field: 'fault',
      });
    return t.report();
  }

  /** Every workload's metrics (prom-client JSON), asked over IPC; a task that does not answer is skipped. */
  async metrics(timeoutMs = 2000): Promise<unknown[][]> {
    return Promise.all(
      [...this.tasks.values()].flatMap((t) =>
        t.channel === undefined || t.child?.connected !== true
          ? []
          : [
              t.channel.request({ type: 'metrics' }, timeoutMs).then(
                (r) => (r.type === 'metrics' ? r.metrics : []),
                () => [],
              ),
            ],
      ),
    );
  }

  /**
   * Stops a task's process — EXIT was sent already, or it gets SIGTERM, then SIGKILL after the timeout —
   * for good (its task is DONE) or to start it again (in ERROR until the new process is up).
   */
  private async stop(t: SupervisedTask, why: 'for-good' | 'for-restart'): Promise<void> {
    t.stopping = why;
    if (t.restartTimer !== undefined) clearTimeout(t.restartTimer);
    const child = t.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const grace = this.o.stopTimeoutMs ?? 10_000;
    const term = setTimeout(() => child.kill('SIGTERM'), Math.min(2000, grace / 2));
    const kill = setTimeout(() => child.kill('SIGKILL'), grace);
    await exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  /** Removes a task, stopping its process (SIGTERM, SIGKILL after the timeout). */
  async kill(ref: TaskRef): Promise<void> {
    const key = taskKey(ref);
    const t = this.tasks.get(key);
    if (t === undefined) return;
    t.stopping = 'for-good';
    t.child?.kill('SIGTERM');
    await this.stop(t, 'for-good');
    // A new task of the same key may have been spawned meanwhile (a kill and a spawn racing): not this one.
    if (this.tasks.get(key) === t) this.tasks.delete(key);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => this.kill(t.spec)));
  }

  private onExit(
    t: SupervisedTask,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (t.child !== child) return;
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    t.channel?.closed(signal ?? `code ${code}`);
    t.channel = undefined;
    if (t.stopping !== undefined) {
      t.child = undefined;
      if (t.stopping === 'for-restart') {
        t.moveIfAllowed('GO_ERROR');
        return;
      }
      t.moveIfAllowed('KILL');
      this.emit('task-event', t.report(), 'exited');
      return;
    }
    t.message = `exited unexpectedly (${how})`;
    this.o.ers.raise('daqops.agent.TaskExited', `task ${taskKey(t.spec)} ${t.message}`, {
      task: t.spec.task,
      environment: t.spec.environment,
      code: code ?? -1,
      signal: signal ?? '',
    });
    this.emit('task-event', t.report(), 'exited');
    t.child = undefined;
    // In ERROR from now on, until a new process is up (by policy here, or by the platform's runbook).
    t.moveIfAllowed('GO_ERROR');
    if (this.o.selfRestart?.() === false) {
      // The platform decides: the task is in ERROR until it restarts, excludes or moves it.
      this.emit('task-event', t.report(), 'failed');
      return;
    }
    const d = t.policy.onExit();
    if (d.action === 'give-up') {
      t.failed = true;
      t.message = `failed: ${d.restartsInWindow} restarts within the policy window, giving up (last: ${how})`;
      this.o.ers.raise('daqops.agent.TaskFailed', `task ${taskKey(t.spec)} ${t.message}`, {
        task: t.spec.task,
        environment: t.spec.environment,
        restarts: d.restartsInWindow,
      });
      this.emit('task-event', t.report(), 'failed');
      return;
    }
    t.restartTimer = setTimeout(() => void this.restart(t, d.attempt), d.delayMs);
  }

  /**
   * Restarts a task now (the platform's `restart-task`): stops its process if it still runs, starts it
   * again on the same cores and replays the transitions that had brought it to its state.
   */
  async restartNow(ref: TaskRef, traceparent?: string): Promise<TaskReport> {
    const t = this.task(ref);
    return withSpan(
      `agent restart ${ref.task}`,
      { 'daq.task': ref.task, 'daq.environment': ref.environment, 'daq.node': this.o.node },
      async () => {
        if (t.restartTimer !== undefined) clearTimeout(t.restartTimer);
        if (t.child !== undefined) await this.stop(t, 'for-restart');
        t.stopping = undefined;
        t.failed = false;
        await this.start(t);
        t.restarted();
        await this.replay(t);
        this.emit('task-event', t.report(), 'restarted');
        return t.report();
      },
      traceparent,
    );
  }

  /** The transitions that had brought the task to its state, sent again to its new process. */
  private async replay(t: SupervisedTask): Promise<void> {
    if (t.channel === undefined) return;
    for (const h of t.history) {
      const r = await t.channel.request(
        { type: 'command', transition: h.transition, payload: h.payload },
        this.timeout(),
      );
      if (r.type === 'reply' && !r.ok)
        throw new DaqError('TASK_FAILED', r.error?.message ?? `${h.transition} failed`);
      t.move(h.transition);
    }
  }

  /** Starts the process again and replays the transitions that had brought it to its state. */
  private async restart(t: SupervisedTask, attempt: number): Promise<void> {
    try {
      await this.start(t);
      t.restarted();
      await this.replay(t);
      this.emit('task-event', t.report(), 'restarted');
    } catch (err) {
      this.o.ers.raise(
        'daqops.agent.TaskExited',
        `task ${taskKey(t.spec)}: restart ${attempt} failed`,
        { task: t.spec.task, environment: t.spec.environment },
        { cause: err },
      );
      t.child?.kill('SIGKILL');
    }
  }

  /** The workload's state and the agent's record disagree: said, never silent. */
  private unexpected(t: SupervisedTask, reported: TaskState): void {
    this.o.ers.raise(
      'daqops.agent.UnexpectedTaskState',
      `task ${taskKey(t.spec)} reports ${reported} where the task table leads to ${t.state}`,
      { task: t.spec.task, environment: t.spec.environment, state: reported },
      { severity: 'Warning' },
    );
  }
}
