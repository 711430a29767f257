/**
 * The supervisor: starts each task as a child process (argv arrays, never a shell) with its CPUs and
 * memory node applied, verifies the placement from /proc, drives the task state machine over IPC with a
 * timeout per command, turns the task's output into ERS records, restarts it by policy when it dies and
 * reports it failed after the cap. Orphans of a previous agent are found and stopped on start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { DaqError } from '../protocol/errors.js';
import { nextTaskState, type TaskState, type TaskTransition } from '../protocol/states.js';
import type { TaskEvent, TaskReport, TaskSpec } from '../protocol/agent-link.js';
import type { ErsIssue } from '../protocol/ers.js';
import type { ErsReporter } from '../lib/ers.js';
import { daqopsCommand } from '../lib/paths.js';
import { traceparentOf, withSpan } from '../lib/tracing.js';
import { pinnedArgv, verifyPlacement, type PinningTools } from './pinning.js';
import { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
import type { AgentToTask, TaskToAgent } from './workloads/task-ipc.js';

export const NODE_ENV_MARKER = 'DAQOPS_AGENT_NODE';
export const TASK_ENV_MARKER = 'DAQOPS_TASK';

export interface SupervisorOptions {
  readonly node: string;
  readonly ers: ErsReporter;
  /** Where workloads' own ERS records (read from their stderr) go. */
  readonly forwardErs: (issue: unknown) => void;
  readonly tools: PinningTools;
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

interface Managed {
  readonly spec: TaskSpec;
  child: ChildProcess | undefined;
  state: TaskState;
  /** Transitions that brought the task to its state, replayed after a restart. */
  history: { transition: TaskTransition; payload: Readonly<Record<string, unknown>> }[];
  readonly policy: RestartPolicy;
  restarts: number;
  failed: boolean;
  stopping: boolean;
  cpus: string | undefined;
  mems: string | undefined;
  message: string | undefined;
  nextId: number;
  readonly pending: Map<
    number,
    { resolve: (m: TaskToAgent) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >;
  ready: Promise<void> | undefined;
  restartTimer: NodeJS.Timeout | undefined;
}

export type { TaskEvent };

export class Supervisor extends EventEmitter<{ 'task-event': [TaskReport, TaskEvent] }> {
  private readonly tasks = new Map<string, Managed>();
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
        const task =
          env.find((e) => e.startsWith(`${TASK_ENV_MARKER}=`))?.slice(TASK_ENV_MARKER.length + 1) ?? '?';
        process.kill(Number(entry), 'SIGTERM');
        found.push(Number(entry));
        ers.raise(
          'daqops.agent.OrphanWorkload',
          `stopped task ${task} (pid ${entry}) left by a previous agent`,
          { pid: Number(entry), task },
        );
      } catch {
        // Gone, or not ours to read.
      }
    }
    return found;
  }

  reports(): TaskReport[] {
    return [...this.tasks.values()].map((m) => this.report(m));
  }

  report(m: Managed): TaskReport {
    return {
      task: m.spec.task,
      environment: m.spec.environment,
      kind: m.spec.kind,
      state: m.state,
      pid: m.child?.pid,
      restarts: m.restarts,
      cpus: m.cpus,
      mems: m.mems,
      failed: m.failed,
      message: m.message,
    };
  }

  get(task: string): TaskReport | undefined {
    const m = this.tasks.get(task);
    return m === undefined ? undefined : this.report(m);
  }

  /** Starts a task's process in STANDBY. */
  async spawn(spec: TaskSpec, traceparent?: string): Promise<TaskReport> {
    if (this.tasks.has(spec.task))
      throw new DaqError('INVALID_CONFIG', `task ${spec.task} already exists on ${this.o.node}`, {
        field: 'task',
      });
    const m: Managed = {
      spec,
      child: undefined,
      state: 'STANDBY',
      history: [],
      policy: new RestartPolicy(this.o.restart ?? DEFAULT_RESTART_POLICY, this.now),
      restarts: 0,
      failed: false,
      stopping: false,
      cpus: undefined,
      mems: undefined,
      message: undefined,
      nextId: 1,
      pending: new Map(),
      ready: undefined,
      restartTimer: undefined,
    };
    this.tasks.set(spec.task, m);
    await withSpan(
      `agent spawn ${spec.task}`,
      { 'daq.task': spec.task, 'daq.node': this.o.node },
      () => this.start(m),
      traceparent,
    );
    return this.report(m);
  }

  private isWorkload(spec: TaskSpec): boolean {
    return spec.kind !== 'command';
  }

  private async start(m: Managed): Promise<void> {
    const spec = m.spec;
    const base = this.isWorkload(spec)
      ? (() => {
          const c = daqopsCommand();
          return [c.command, ...c.args, 'workload', spec.kind, '--ipc'];
        })()
      : [...(spec.argv ?? [])];
    if (base.length === 0)
      throw new DaqError('INVALID_CONFIG', `task ${spec.task}: a command task needs argv`, { field: 'argv' });
    const pinned = pinnedArgv(base, { cpus: spec.cpus, memoryNode: spec.memoryNode }, this.o.tools);
    if (pinned.warning !== undefined) {
      this.o.ers.raise('daqops.agent.MemoryBindingUnavailable', `task ${spec.task}: ${pinned.warning}`, {
        task: spec.task,
      });
    }
    const [cmd, ...args] = pinned.argv;
    const child = spawn(cmd!, args, {
      stdio: this.isWorkload(spec) ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [NODE_ENV_MARKER]: this.o.node, [TASK_ENV_MARKER]: spec.task },
    });
    m.child = child;
    m.state = 'STANDBY';
    m.message = undefined;
    this.captureOutput(m, child);
    child.on('message', (msg: TaskToAgent) => this.onMessage(m, msg));
    child.once('exit', (code, signal) => this.onExit(m, child, code, signal));
    m.ready = this.isWorkload(spec)
      ? new Promise<void>((resolve, reject) => {
          const limit = this.o.spawnTimeoutMs ?? 60_000;
          const t = setTimeout(
            () =>
              reject(new DaqError('TIMEOUT', `task ${spec.task} did not report ready within ${limit} ms`)),
            limit,
          );
          child.once('message', () => {
            clearTimeout(t);
            resolve();
          });
          child.once('exit', () => {
            clearTimeout(t);
            reject(new DaqError('TASK_FAILED', `task ${spec.task} exited before it was ready`));
          });
        })
      : new Promise<void>((resolve, reject) => {
          child.once('spawn', () => resolve());
          child.once('error', reject);
        });
    await m.ready;
    if (!this.isWorkload(spec)) m.state = 'RUNNING';
    await this.verify(m, pinned.memoryBound);
  }

  /** Reads back the placement; a mismatch is an Error issue, never silent. */
  private async verify(m: Managed, memoryBound: boolean): Promise<void> {
    const pid = m.child?.pid;
    if (pid === undefined) return;
    let v = verifyPlacement(pid, { cpus: m.spec.cpus, memoryNode: m.spec.memoryNode }, memoryBound);
    // numactl/taskset exec the target: give the exec a moment before calling it wrong.
    for (let i = 0; i < 20 && !v.ok; i++) {
      await new Promise((r) => setTimeout(r, 25));
      v = verifyPlacement(pid, { cpus: m.spec.cpus, memoryNode: m.spec.memoryNode }, memoryBound);
    }
    m.cpus = v.cpus;
    m.mems = v.mems;
    if (!v.ok) {
      this.o.ers.raise(
        'daqops.agent.PinningFailed',
        `task ${m.spec.task}: ${v.problem ?? 'placement differs'}`,
        { task: m.spec.task, pid },
      );
      this.emit('task-event', this.report(m), 'pinning-failed');
    }
  }

  private timeout(): number {
    return this.o.commandTimeoutMs ?? 15_000;
  }

  private captureOutput(m: Managed, child: ChildProcess): void {
    for (const [stream, severity] of [
      [child.stdout, 'Information'],
      [child.stderr, 'Warning'],
    ] as const) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (line.trim() === '' || line.includes('Unknown user config')) return;
        // A workload's own ERS record: forward it as is. Anything else becomes a WorkloadOutput record.
        if (line.startsWith('{"ers":')) {
          try {
            this.o.forwardErs((JSON.parse(line) as { ers: ErsIssue }).ers);
            return;
          } catch {
            // not an ERS record after all
          }
        }
        this.o.ers.raise(
          'daqops.agent.WorkloadOutput',
          line.slice(0, 2000),
          { task: m.spec.task, stream: severity === 'Warning' ? 'stderr' : 'stdout' },
          { severity },
        );
      });
    }
  }

  private onMessage(m: Managed, msg: TaskToAgent): void {
    if (msg.type === 'reply' || msg.type === 'metrics') {
      const p = m.pending.get(msg.id);
      if (p !== undefined) {
        clearTimeout(p.timer);
        m.pending.delete(msg.id);
        p.resolve(msg);
      }
      if (msg.type === 'reply') m.state = msg.state;
    } else if (msg.type === 'state') {
      m.state = msg.state;
      m.message = msg.message;
      this.emit('task-event', this.report(m), 'state');
    }
  }

  private request(
    m: Managed,
    msg:
      | Omit<Extract<AgentToTask, { type: 'command' }>, 'id'>
      | { type: 'metrics' }
      | Omit<Extract<AgentToTask, { type: 'fault' }>, 'id'>,
    timeoutMs: number,
  ): Promise<TaskToAgent> {
    const child = m.child;
    if (child?.connected !== true)
      return Promise.reject(new DaqError('TASK_FAILED', `task ${m.spec.task} has no running process`));
    const id = m.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        m.pending.delete(id);
        reject(
          new DaqError(
            'TIMEOUT',
            `task ${m.spec.task}: ${msg.type === 'command' ? msg.transition : msg.type} not answered within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      m.pending.set(id, { resolve, reject, timer });
      child.send({ ...msg, id });
    });
  }

  /** Drives a task transition; rejects with ILLEGAL_TRANSITION, TIMEOUT or the task's own error. */
  async transition(
    task: string,
    transition: TaskTransition,
    payload: Readonly<Record<string, unknown>> = {},
    traceparent?: string,
    timeoutMs = this.timeout(),
  ): Promise<TaskReport> {
    const m = this.tasks.get(task);
    if (m === undefined)
      throw new DaqError('NOT_FOUND', `no task ${task} on ${this.o.node}`, { field: 'task' });
    return withSpan(
      `agent ${transition} ${task}`,
      { 'daq.task': task, 'daq.transition': transition, 'daq.node': this.o.node },
      async () => {
        nextTaskState(m.state, transition);
        if (!this.isWorkload(m.spec)) {
          m.state = nextTaskState(m.state, transition);
        } else {
          const r = await this.request(
            m,
            { type: 'command', transition, payload, traceparent: traceparentOf() },
            timeoutMs,
          );
          if (r.type === 'reply' && !r.ok) {
            throw new DaqError(
              r.error?.code === 'ILLEGAL_TRANSITION' ? 'ILLEGAL_TRANSITION' : 'INVALID_CONFIG',
              `task ${task} ${transition}: ${r.error?.message ?? 'failed'}`,
            );
          }
        }
        m.history = historyAfter(m.history, transition, payload);
        if (transition === 'EXIT') await this.stop(m);
        return this.report(m);
      },
      traceparent,
    );
  }

  /** Hands a drill fault to a running readout; rejects with the task's reason when it does not take it. */
  async fault(task: string, fault: unknown, timeoutMs = this.timeout()): Promise<TaskReport> {
    const m = this.tasks.get(task);
    if (m === undefined)
      throw new DaqError('NOT_FOUND', `no task ${task} on ${this.o.node}`, { field: 'task' });
    if (!this.isWorkload(m.spec))
      throw new DaqError('INVALID_FAULT', `task ${task} is a command, not a readout`, { field: 'task' });
    const r = await this.request(m, { type: 'fault', fault }, timeoutMs);
    if (r.type === 'reply' && !r.ok)
      throw new DaqError('INVALID_FAULT', `task ${task}: ${r.error?.message ?? 'fault refused'}`, {
        field: 'fault',
      });
    return this.report(m);
  }

  /** Every workload's metrics (prom-client JSON), asked over IPC; a task that does not answer is skipped. */
  async metrics(timeoutMs = 2000): Promise<unknown[][]> {
    const out = await Promise.all(
      [...this.tasks.values()]
        .filter((m) => this.isWorkload(m.spec) && m.child?.connected === true)
        .map((m) =>
          this.request(m, { type: 'metrics' }, timeoutMs).then(
            (r) => (r.type === 'metrics' ? r.metrics : []),
            () => [],
          ),
        ),
    );
    return out;
  }

  /** Stops a task's process: EXIT was sent already or the process gets SIGTERM, then SIGKILL after the timeout. */
  private async stop(m: Managed): Promise<void> {
    m.stopping = true;
    if (m.restartTimer !== undefined) clearTimeout(m.restartTimer);
    const child = m.child;
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
  async kill(task: string): Promise<void> {
    const m = this.tasks.get(task);
    if (m === undefined) return;
    m.stopping = true;
    m.child?.kill('SIGTERM');
    await this.stop(m);
    this.tasks.delete(task);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.tasks.keys()].map((t) => this.kill(t)));
  }

  private onExit(m: Managed, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (m.child !== child) return;
    for (const p of m.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DaqError('TASK_FAILED', `task ${m.spec.task} exited (${signal ?? `code ${code}`})`));
    }
    m.pending.clear();
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    if (m.stopping) {
      m.state = 'DONE';
      m.child = undefined;
      this.emit('task-event', this.report(m), 'exited');
      return;
    }
    m.message = `exited unexpectedly (${how})`;
    this.o.ers.raise('daqops.agent.TaskExited', `task ${m.spec.task} ${m.message}`, {
      task: m.spec.task,
      code: code ?? -1,
      signal: signal ?? '',
    });
    this.emit('task-event', this.report(m), 'exited');
    if (this.o.selfRestart?.() === false) {
      // The platform decides: the task is in ERROR until it restarts, excludes or moves it.
      m.state = 'ERROR';
      m.child = undefined;
      this.emit('task-event', this.report(m), 'failed');
      return;
    }
    const d = m.policy.onExit();
    if (d.action === 'give-up') {
      m.failed = true;
      m.state = 'ERROR';
      m.child = undefined;
      m.message = `failed: ${d.restartsInWindow} restarts within the policy window, giving up (last: ${how})`;
      this.o.ers.raise('daqops.agent.TaskFailed', `task ${m.spec.task} ${m.message}`, {
        task: m.spec.task,
        restarts: d.restartsInWindow,
      });
      this.emit('task-event', this.report(m), 'failed');
      return;
    }
    m.restartTimer = setTimeout(() => void this.restart(m, d.attempt), d.delayMs);
  }

  /**
   * Restarts a task now (the platform's `restart-task`): stops its process if it still runs, starts it
   * again on the same cores and replays the transitions that had brought it to its state.
   */
  async restartNow(task: string, traceparent?: string): Promise<TaskReport> {
    const m = this.tasks.get(task);
    if (m === undefined)
      throw new DaqError('NOT_FOUND', `no task ${task} on ${this.o.node}`, { field: 'task' });
    return withSpan(
      `agent restart ${task}`,
      { 'daq.task': task, 'daq.node': this.o.node },
      async () => {
        if (m.restartTimer !== undefined) clearTimeout(m.restartTimer);
        if (m.child !== undefined) {
          await this.stop(m);
          m.child = undefined;
        }
        m.stopping = false;
        m.failed = false;
        await this.start(m);
        m.restarts++;
        await this.replay(m);
        this.emit('task-event', this.report(m), 'restarted');
        return this.report(m);
      },
      traceparent,
    );
  }

  private async replay(m: Managed): Promise<void> {
    for (const h of m.history) {
      if (!this.isWorkload(m.spec)) break;
      const r = await this.request(
        m,
        { type: 'command', transition: h.transition, payload: h.payload },
        this.timeout(),
      );
      if (r.type === 'reply' && !r.ok)
        throw new DaqError('TASK_FAILED', r.error?.message ?? `${h.transition} failed`);
    }
  }

  /** Starts the process again and replays the transitions that had brought it to its state. */
  private async restart(m: Managed, attempt: number): Promise<void> {
    try {
      await this.start(m);
      m.restarts++;
      await this.replay(m);
      this.emit('task-event', this.report(m), 'restarted');
    } catch (err) {
      this.o.ers.raise(
        'daqops.agent.TaskExited',
        `task ${m.spec.task}: restart ${attempt} failed`,
        { task: m.spec.task },
        { cause: err },
      );
      m.child?.kill('SIGKILL');
    }
  }
}

/** The shortest list of transitions that leads from STANDBY to where `transition` leaves the task. */
function historyAfter(
  history: { transition: TaskTransition; payload: Readonly<Record<string, unknown>> }[],
  transition: TaskTransition,
  payload: Readonly<Record<string, unknown>>,
): { transition: TaskTransition; payload: Readonly<Record<string, unknown>> }[] {
  switch (transition) {
    case 'CONFIGURE':
      return [{ transition, payload }];
    case 'START':
      return [...history.filter((h) => h.transition === 'CONFIGURE'), { transition, payload }];
    case 'STOP':
      return history.filter((h) => h.transition === 'CONFIGURE');
    default:
      return [];
  }
}
