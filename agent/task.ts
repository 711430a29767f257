/**
 * A task as its agent holds it: its spec, its state — moved only through the task table of
 * protocol/states.ts — the transitions that brought it there (replayed after a restart), its restarts
 * and where its process runs. The supervisor decides; this type keeps the record straight.
 */
import type { ChildProcess } from 'node:child_process';
import type { TaskReport, TaskSpec } from '../protocol/agent-link.js';
import {
  nextTaskState,
  taskAllows,
  taskMachine,
  type TaskState,
  type TaskTransition,
} from '../protocol/states.js';
import { RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';
import type { TaskChannel } from './task-channel.js';

/** A transition that brought the task to its state, with the payload it was sent with. */
export interface Step {
  readonly transition: TaskTransition;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** What a workload may do by itself (without a command): finish a bounded run, or fail. */
const ON_ITS_OWN: readonly TaskTransition[] = ['STOP', 'GO_ERROR'];

export class SupervisedTask {
  private current: TaskState = 'STANDBY';
  private steps: Step[] = [];
  private restartCount = 0;
  readonly policy: RestartPolicy;
  /** The restart policy gave up on it: it stays in ERROR until the platform acts. */
  failed = false;
  /** Its process is being stopped on purpose — for good, or to start it again: an exit is not a crash. */
  stopping: 'for-good' | 'for-restart' | undefined;
  message: string | undefined;
  /** Where its process runs, as read back from /proc. */
  cpus: string | undefined;
  mems: string | undefined;
  child: ChildProcess | undefined;
  /** The IPC channel to a workload's process (none for a `command` task). */
  channel: TaskChannel | undefined;
  restartTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: TaskSpec,
    policy: RestartPolicyOptions,
    now: () => number,
  ) {
    this.policy = new RestartPolicy(policy, now);
  }

  get state(): TaskState {
    return this.current;
  }

  get restarts(): number {
    return this.restartCount;
  }

  /** A workload (it has a state machine of its own, driven over IPC), or a plain `command`. */
  get isWorkload(): boolean {
    return this.spec.kind !== 'command';
  }

  /** The transitions to replay on a new process to bring it where this one was. */
  get history(): readonly Step[] {
    return this.steps;
  }

  /** Moves through the table; ILLEGAL_TRANSITION naming state and transition when it has no such move. */
  move(transition: TaskTransition): void {
    this.current = nextTaskState(this.current, transition);
  }

  /** Moves when the table allows it from here; says whether it did. */
  moveIfAllowed(transition: TaskTransition): boolean {
    if (!taskAllows(this.current, transition)) return false;
    this.move(transition);
    return true;
  }

  /** A command was carried out: the state moves by it and the history keeps what a restart replays. */
  commanded(transition: TaskTransition, payload: Readonly<Record<string, unknown>>): void {
    this.move(transition);
    this.steps = historyAfter(this.steps, transition, payload);
  }

  /**
   * The workload says it moved by itself (a bounded readout finished, a run failed): the move of the
   * table that leads there from here, if it is one a workload may take on its own. Returns whether it did.
   */
  movedByItself(reported: TaskState): boolean {
    const t = ON_ITS_OWN.find((x) => taskAllows(this.current, x) && taskMachine[x].to === reported);
    if (t === undefined) return false;
    this.move(t);
    return true;
  }

  /** A new process came up for the task (a restart): from ERROR through RECOVER, to STANDBY. */
  processStarted(): void {
    if (this.current === 'ERROR') this.move('RECOVER');
    this.message = undefined;
  }

  /** Counts a restart that brought the task back. */
  restarted(): void {
    this.restartCount++;
  }

  report(): TaskReport {
    return {
      task: this.spec.task,
      environment: this.spec.environment,
      kind: this.spec.kind,
      state: this.current,
      pid: this.child?.pid,
      restarts: this.restartCount,
      cpus: this.cpus,
      mems: this.mems,
      failed: this.failed,
      message: this.message,
      generation: this.spec.generation,
    };
  }
}

/** The shortest list of transitions that leads from STANDBY to where `transition` leaves the task. */
function historyAfter(
  history: readonly Step[],
  transition: TaskTransition,
  payload: Step['payload'],
): Step[] {
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
