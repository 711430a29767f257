/**
 * Simulated agents for run-control tests and the control-plane bench: each node keeps its tasks' states
 * and answers commands through the protocol's task machine, in-process, without processes.
 */
import type { TaskRef, TaskReport, TaskSpec } from '../../protocol/agent-link.js';
import type { NodeTopology } from '../../protocol/agent-link.js';
import { nextTaskState, type TaskState, type TaskTransition } from '../../protocol/states.js';
import type { TaskDriver } from '../../platform/control/types.js';

export function simulatedNode(name: string, numaNodes = 2, coresPerNuma = 8): NodeTopology {
  return {
    node: name,
    numa: Array.from({ length: numaNodes }, (_, id) => ({
      id,
      cpus: Array.from({ length: coresPerNuma }, (__, c) => id * coresPerNuma + c),
      memoryBytes: 64 * 1024 ** 3,
    })),
    memoryBytes: numaNodes * 64 * 1024 ** 3,
    disks: [],
    nics: [],
    devices: [],
    simulated: true,
  };
}

export class SimulatedDriver implements TaskDriver {
  /** Every task process, keyed as agents key them, by node: `node/environment/task`. */
  readonly tasks = new Map<string, { node: string; spec: TaskSpec; state: TaskState; pid: number }>();
  readonly log: string[] = [];
  /** task → transition that fails (e.g. to inject a CONFIGURE error). */
  readonly failOn = new Map<string, TaskTransition>();
  keepLog = true;
  private pid = 1000;

  /** The process of a task by its name, on whichever node (tests of one environment). */
  find(task: string): { node: string; spec: TaskSpec; state: TaskState; pid: number } | undefined {
    return [...this.tasks.values()].find((t) => t.spec.task === task);
  }

  private key(node: string, ref: TaskRef): string {
    return `${node}/${ref.environment}/${ref.task}`;
  }

  private report(key: string): TaskReport {
    const t = this.tasks.get(key)!;
    return {
      task: t.spec.task,
      environment: t.spec.environment,
      kind: t.spec.kind,
      state: t.state,
      pid: t.pid,
      restarts: 0,
      cpus: t.spec.cpus.join(','),
      mems: String(t.spec.memoryNode ?? ''),
      failed: false,
    };
  }

  spawn(node: string, spec: TaskSpec): Promise<TaskReport> {
    const key = this.key(node, spec);
    if (this.tasks.has(key)) return Promise.reject(new Error(`task ${spec.task} exists on ${node}`));
    this.tasks.set(key, { node, spec, state: 'STANDBY', pid: this.pid++ });
    if (this.keepLog) this.log.push(`${node} spawn ${spec.task}`);
    return Promise.resolve(this.report(key));
  }

  /** The payload of every transition sent, in order (what a moved task was told, its epoch included). */
  readonly payloads: {
    task: string;
    transition: TaskTransition;
    payload: Readonly<Record<string, unknown>>;
  }[] = [];

  transition(
    node: string,
    ref: TaskRef,
    t: TaskTransition,
    payload: Readonly<Record<string, unknown>> = {},
  ): Promise<TaskReport> {
    const { task } = ref;
    const s = this.tasks.get(this.key(node, ref));
    if (s === undefined) return Promise.reject(new Error(`no task ${task} on ${node}`));
    if (this.failOn.get(task) === t) return Promise.reject(new Error(`${task} refuses ${t}`));
    s.state = nextTaskState(s.state, t);
    if (this.keepLog) {
      this.log.push(`${node} ${t} ${task}`);
      this.payloads.push({ task, transition: t, payload });
    }
    return Promise.resolve(this.report(this.key(node, ref)));
  }

  /** A new process (new pid) back in the state the task had. */
  restart(node: string, ref: TaskRef): Promise<TaskReport> {
    const s = this.tasks.get(this.key(node, ref));
    if (s === undefined) return Promise.reject(new Error(`no task ${ref.task} on ${node}`));
    s.pid = this.pid++;
    if (this.keepLog) this.log.push(`${node} restart ${ref.task}`);
    return Promise.resolve(this.report(this.key(node, ref)));
  }

  /** Faults handed to tasks, in order (`task: kind`). A task not RUNNING refuses, as a real one does. */
  readonly faults: { task: string; fault: object }[] = [];

  fault(node: string, ref: TaskRef, fault: object): Promise<void> {
    const { task } = ref;
    const s = this.tasks.get(this.key(node, ref));
    if (s === undefined) return Promise.reject(new Error(`no task ${task} on ${node}`));
    if (s.state !== 'RUNNING') return Promise.reject(new Error(`task ${task} is ${s.state}`));
    this.faults.push({ task, fault });
    if (this.keepLog) this.log.push(`${node} fault ${task}`);
    return Promise.resolve();
  }

  kill(node: string, ref: TaskRef): Promise<void> {
    this.tasks.delete(this.key(node, ref));
    if (this.keepLog) this.log.push(`${node} kill ${ref.task}`);
    return Promise.resolve();
  }
}
