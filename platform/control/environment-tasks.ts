/**
 * The tasks of one environment, as the environment keeps them (environment.ts is their only owner): placed,
 * placed anew, released, mirrored from their agents' reports, failed, excluded. A task's state moves
 * through the task table of protocol/states.ts where the platform moves it itself; what an agent reports
 * is mirrored as reported (its supervisor moved it through the same table). Every change a shifter would
 * want in the transition log is a task event.
 */
import { DaqError } from '../../protocol/errors.js';
import type { TaskReport } from '../../protocol/agent-link.js';
import { nextTaskState, taskAllows, type TaskState, type TaskTransition } from '../../protocol/states.js';
import type { Placed } from '../placement/ledger.js';
import type { WorkflowTemplate } from '../workflow/template.js';
import type { ControlEvent, TaskStatus } from './types.js';

export class EnvironmentTasks {
  private readonly map = new Map<string, TaskStatus>();

  constructor(
    private readonly environment: string,
    private readonly emit: (e: ControlEvent) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(name: string): Readonly<TaskStatus> | undefined {
    return this.map.get(name);
  }

  /** Every task, excluded ones too, in placement order. */
  list(): Readonly<TaskStatus>[] {
    return [...this.map.values()];
  }

  /** Copies, as the store keeps them. */
  saved(): TaskStatus[] {
    return this.list().map((t) => ({ ...t }));
  }

  load(tasks: readonly TaskStatus[]): void {
    this.map.clear();
    for (const t of tasks) this.map.set(t.name, { ...t });
  }

  /** Every task of the template where the ledger placed it, in STANDBY (the template's order). */
  place(template: WorkflowTemplate, placed: readonly Placed[]): Readonly<TaskStatus>[] {
    const before = new Map([...this.map].map(([name, t]) => [name, t.generation ?? 0]));
    this.map.clear();
    for (const [i, p] of placed.entries()) {
      const t = template.tasks[i]!;
      this.map.set(t.name, {
        generation: (before.get(t.name) ?? 0) + 1,
        name: t.name,
        workload: t.workload,
        node: p.node,
        cpus: p.cpus,
        numa: p.numa,
        memoryMiB: p.memoryMiB,
        placement: p.reason,
        critical: t.critical,
        state: 'STANDBY',
        excluded: false,
        pid: undefined,
        message: undefined,
      });
    }
    return this.list();
  }

  /** Where each task is, as the ledger keeps placements (taken back after a platform restart). */
  placed(template: WorkflowTemplate): Placed[] {
    const roles = new Map(template.tasks.map((x) => [x.name, x.role]));
    return this.list().map((t) => ({
      task: t.name,
      node: t.node,
      numa: t.numa,
      cpus: t.cpus,
      memoryMiB: t.memoryMiB,
      role: roles.get(t.name),
      reason: t.placement,
    }));
  }

  /** One task at its new place, in STANDBY, its process yet to start. */
  replace(name: string, p: Placed): Readonly<TaskStatus> {
    const old = this.required(name);
    const moved: TaskStatus = {
      ...old,
      generation: (old.generation ?? 0) + 1,
      node: p.node,
      cpus: p.cpus,
      numa: p.numa,
      placement: p.reason,
      state: 'STANDBY',
      pid: undefined,
      message: undefined,
      lostAt: undefined,
    };
    this.map.set(name, moved);
    return moved;
  }

  /** Every task whose process is gone (its environment's EXIT): DONE through KILL. */
  killAll(): void {
    for (const t of this.map.values()) if (taskAllows(t.state, 'KILL')) this.move(t, 'KILL');
  }

  /**
   * A task's state, process and message as its agent reported them; a task event when the state changed.
   * Returns the state it was in before; undefined for a task the environment does not have.
   */
  mirror(r: TaskReport): TaskState | undefined {
    const t = this.map.get(r.task);
    if (t === undefined) return undefined;
    const before = t.state;
    t.message = r.message;
    t.state = r.state;
    t.pid = r.pid;
    if (r.state !== 'LOST') t.lostAt = undefined;
    if (before !== r.state) this.event(t, t.message === undefined ? {} : { message: t.message });
    return before;
  }

  /** The platform's verdict that a task failed: ERROR through the table's failure edge, with why. */
  fail(name: string, message: string): Readonly<TaskStatus> {
    const t = this.required(name);
    t.message = message;
    if (taskAllows(t.state, 'GO_ERROR')) this.move(t, 'GO_ERROR');
    return t;
  }

  /** Its node is gone: LOST through the table, with when and why; undefined when it was DONE already. */
  lose(name: string, message: string, at: string): Readonly<TaskStatus> | undefined {
    const t = this.required(name);
    if (!taskAllows(t.state, 'LOSE')) return undefined;
    t.message = message;
    t.lostAt = at;
    this.move(t, 'LOSE');
    this.event(t, { message });
    return t;
  }

  /** Takes a non-critical task out of the run: no longer commanded, not in the roll-up. */
  exclude(name: string, why: string): void {
    const t = this.required(name);
    if (t.critical) throw new DaqError('INVALID_CONFIG', `task ${t.name} is critical: it cannot be excluded`);
    if (t.excluded) return;
    t.excluded = true;
    this.event(t, { message: `excluded: ${why}` });
  }

  /** A task of the environment; NOT_FOUND naming it when there is none. */
  required(name: string): TaskStatus {
    const t = this.map.get(name);
    if (t === undefined)
      throw new DaqError('NOT_FOUND', `no task ${name} in ${this.environment}`, { field: 'task' });
    return t;
  }

  private move(t: TaskStatus, transition: TaskTransition): void {
    t.state = nextTaskState(t.state, transition);
  }

  private event(t: TaskStatus, more: { message?: string }): void {
    this.emit({
      kind: 'task',
      environment: this.environment,
      task: t.name,
      state: t.state,
      excluded: t.excluded,
      at: new Date().toISOString(),
      ...more,
    });
  }
}
