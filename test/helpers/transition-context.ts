/**
 * A fake TransitionContext (platform/control/transitions/context.ts) for testing one transition on its
 * own: tasks in memory, every call the transition makes written down in order, and the answers a test
 * chooses (a task may refuse a command or fail to start).
 */
import type { TaskReport, TaskSpec } from '../../protocol/agent-link.js';
import { DaqError } from '../../protocol/errors.js';
import type { EnvironmentState, TaskState, TaskTransition } from '../../protocol/states.js';
import type { RunTime, TransitionContext } from '../../platform/control/transitions/context.js';
import type { MaskedCell, TaskStatus } from '../../platform/control/types.js';
import { parseTemplate, type WorkflowTemplate } from '../../platform/workflow/template.js';

/** Three roles, one task each apart from two processors; the readout is not critical. */
export const STAGED = `
name: staged
roles:
  - name: readout
    tasks:
      - { name: ro-0, workload: readout, critical: false, resources: { cores: 1, links: [0] }, config: { link: 0 } }
  - name: processing
    tasks:
      - { name: proc-0, workload: processor, resources: { cores: 1 } }
      - { name: proc-1, workload: processor, resources: { cores: 1 } }
  - name: storage
    tasks:
      - { name: writer, workload: writer, resources: { cores: 0 }, config: { dir: /tmp/x } }
`;

const AFTER: Partial<Record<TaskTransition, TaskState>> = {
  CONFIGURE: 'CONFIGURED',
  START: 'RUNNING',
  STOP: 'CONFIGURED',
  RESET: 'STANDBY',
};

export interface FakeOptions {
  readonly state?: EnvironmentState;
  readonly masks?: readonly MaskedCell[];
  readonly run?: number;
  readonly epochMs?: number;
  /** Tasks already placed (as after DEPLOY), in this state. */
  readonly placedIn?: TaskState;
  /** `task TRANSITION` (or `task spawn`, or `topics`) → the error that command fails with. */
  readonly refuse?: Readonly<Record<string, string>>;
}

export class FakeTransitionContext implements TransitionContext {
  readonly id = 'env-1';
  readonly namespace = 'ns-1';
  readonly brokers = ['127.0.0.1:9092'];
  readonly template: WorkflowTemplate;
  state: EnvironmentState;
  masks: readonly MaskedCell[];
  run: number | undefined;
  epochMs: number | undefined;
  /** Every call, in order: `place`, `spawn ro-0`, `CONFIGURE proc-0`, `drain readout`, `run end`, … */
  readonly calls: string[] = [];
  readonly payloads: {
    task: string;
    transition: TaskTransition;
    payload: Readonly<Record<string, unknown>>;
  }[] = [];
  readonly failed: string[] = [];
  private readonly map = new Map<string, TaskStatus>();
  private nextRun = 41;

  constructor(
    yaml = STAGED,
    private readonly o: FakeOptions = {},
  ) {
    this.template = parseTemplate(yaml, 'fake.yaml');
    this.state = o.state ?? 'STANDBY';
    this.masks = o.masks ?? [];
    this.run = o.run;
    this.epochMs = o.epochMs;
    if (o.placedIn !== undefined) for (const t of this.place()) t.state = o.placedIn;
  }

  task(name: string): TaskStatus {
    const t = this.map.get(name);
    if (t === undefined) throw new DaqError('NOT_FOUND', `no task ${name}`, { field: 'task' });
    return t;
  }

  tasks(): readonly TaskStatus[] {
    return [...this.map.values()];
  }

  activeTasks(): readonly TaskStatus[] {
    return this.tasks().filter((t) => !t.excluded);
  }

  placeTasks(): readonly TaskStatus[] {
    this.calls.push('place');
    return this.place();
  }

  releaseTasks(): void {
    this.calls.push('release');
    for (const t of this.map.values()) t.state = 'DONE';
  }

  killOn(node: string, name: string): Promise<void> {
    this.calls.push(`kill ${name} on ${node}`);
    return Promise.resolve();
  }

  replaceTask(name: string, keepOld = false): Promise<TaskStatus> {
    this.calls.push(`replace ${name}${keepOld ? ' keeping the old' : ''}`);
    const t = this.task(name);
    const moved = {
      ...t,
      node: t.node === 'n1' ? 'n2' : 'n1',
      state: 'STANDBY' as const,
      pid: undefined,
      generation: (t.generation ?? 0) + 1,
    };
    this.map.set(name, moved);
    return Promise.resolve(moved);
  }

  beginRun(epochMs: number): Promise<number> {
    this.run = ++this.nextRun;
    this.epochMs = epochMs;
    this.calls.push('run start');
    return Promise.resolve(this.run);
  }

  runTime(time: RunTime): void {
    this.calls.push(`run ${time}`);
  }

  spawn(task: string, spec: TaskSpec): Promise<TaskReport> {
    this.calls.push(`spawn ${task}`);
    const why = this.o.refuse?.[`${task} spawn`];
    if (why !== undefined) return Promise.reject(new DaqError('TASK_FAILED', why));
    return Promise.resolve(this.report(spec.task, 'STANDBY'));
  }

  command(
    task: string,
    transition: TaskTransition,
    payload: Readonly<Record<string, unknown>>,
  ): Promise<TaskReport> {
    this.calls.push(`${transition} ${task}`);
    this.payloads.push({ task, transition, payload });
    const why = this.o.refuse?.[`${task} ${transition}`];
    if (why !== undefined) return Promise.reject(new DaqError('TASK_FAILED', why));
    return Promise.resolve(this.report(task, AFTER[transition] ?? this.task(task).state));
  }

  kill(task: string): Promise<void> {
    this.calls.push(`kill ${task}`);
    return Promise.resolve();
  }

  answered(task: string, report: TaskReport): void {
    this.task(task).state = report.state;
  }

  taskFailed(task: string, message: string): Promise<void> {
    const t = this.task(task);
    t.state = 'ERROR';
    t.message = message;
    this.failed.push(task);
    // As the environment does: a non-critical task that fails is taken out.
    if (!t.critical) t.excluded = true;
    return Promise.resolve();
  }

  prepareTopics(): Promise<void> {
    this.calls.push('topics');
    const why = this.o.refuse?.['topics'];
    return why === undefined ? Promise.resolve() : Promise.reject(new DaqError('INVALID_CONFIG', why));
  }

  drain(stopped: readonly string[]): Promise<void> {
    this.calls.push(`drain ${stopped.join(',')}`);
    return Promise.resolve();
  }

  private place(): TaskStatus[] {
    this.map.clear();
    for (const [i, t] of this.template.tasks.entries())
      this.map.set(t.name, {
        name: t.name,
        workload: t.workload,
        node: 'n1',
        cpus: t.resources.cores > 0 ? [i] : [],
        numa: 0,
        memoryMiB: t.resources.memoryMiB,
        critical: t.critical,
        state: 'STANDBY',
        excluded: false,
        pid: undefined,
        message: undefined,
        generation: 1,
      });
    return [...this.map.values()];
  }

  private report(task: string, state: TaskState): TaskReport {
    return {
      task,
      environment: this.id,
      kind: this.task(task).workload,
      state,
      pid: 100,
      restarts: 0,
      cpus: undefined,
      mems: undefined,
      failed: false,
    };
  }
}
