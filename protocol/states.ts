/**
 * Environment and task state machines as data (AliECS names, docs/platform.md). Each table fits on
 * one screen; everything that moves an environment or a task asks these tables first.
 */
import { DaqError } from './errors.js';

export const environmentStates = ['STANDBY', 'DEPLOYED', 'CONFIGURED', 'RUNNING', 'ERROR', 'DONE'] as const;
export type EnvironmentState = (typeof environmentStates)[number];

export const environmentTransitions = [
  'DEPLOY',
  'CONFIGURE',
  'START_ACTIVITY',
  'STOP_ACTIVITY',
  'RESET',
  'EXIT',
  'GO_ERROR',
  'RECOVER',
] as const;
export type EnvironmentTransition = (typeof environmentTransitions)[number];

/** transition → (from states, to state). */
export const environmentMachine: Readonly<
  Record<EnvironmentTransition, { readonly from: readonly EnvironmentState[]; readonly to: EnvironmentState }>
> = {
  DEPLOY: { from: ['STANDBY'], to: 'DEPLOYED' },
  CONFIGURE: { from: ['DEPLOYED'], to: 'CONFIGURED' },
  START_ACTIVITY: { from: ['CONFIGURED'], to: 'RUNNING' },
  STOP_ACTIVITY: { from: ['RUNNING'], to: 'CONFIGURED' },
  RESET: { from: ['CONFIGURED'], to: 'DEPLOYED' },
  // Tearing down a broken environment must always be possible, so EXIT is allowed from ERROR too.
  EXIT: { from: ['STANDBY', 'DEPLOYED', 'CONFIGURED', 'ERROR'], to: 'DONE' },
  GO_ERROR: { from: ['DEPLOYED', 'CONFIGURED', 'RUNNING'], to: 'ERROR' },
  RECOVER: { from: ['ERROR'], to: 'DEPLOYED' },
};

/**
 * The failure edge: what a transition that failed, a critical task lost while another transition is under
 * way, or a transition cut by a platform restart does to an environment. Not a transition anyone asks for
 * (it is not offered as one): from every live state, STANDBY too — a DEPLOY that failed after starting
 * processes left some behind, and EXIT cleans them up from ERROR.
 */
export const environmentFailure: {
  readonly from: readonly EnvironmentState[];
  readonly to: EnvironmentState;
} = {
  from: ['STANDBY', 'DEPLOYED', 'CONFIGURED', 'RUNNING'],
  to: 'ERROR',
};

/** The state a failure leaves an environment in; ILLEGAL_TRANSITION from ERROR and DONE. */
export function failedEnvironmentState(state: EnvironmentState): EnvironmentState {
  if (!environmentFailure.from.includes(state))
    throw new DaqError('ILLEGAL_TRANSITION', `environment in state ${state} cannot fail (it is not live)`, {
      field: 'state',
    });
  return environmentFailure.to;
}

/**
 * LOST: the task's node is gone (its agent missed its heartbeats): the platform cannot say whether the
 * process still runs, only when it last heard of it. Never RUNNING on a node nobody speaks for.
 */
export const taskStates = ['STANDBY', 'CONFIGURED', 'RUNNING', 'ERROR', 'LOST', 'DONE'] as const;
export type TaskState = (typeof taskStates)[number];

export const taskTransitions = [
  'CONFIGURE',
  'START',
  'STOP',
  'RESET',
  'EXIT',
  'GO_ERROR',
  'RECOVER',
  'KILL',
  'LAUNCH',
  'LOSE',
] as const;
export type TaskTransition = (typeof taskTransitions)[number];

export const taskMachine: Readonly<
  Record<TaskTransition, { readonly from: readonly TaskState[]; readonly to: TaskState }>
> = {
  CONFIGURE: { from: ['STANDBY'], to: 'CONFIGURED' },
  START: { from: ['CONFIGURED'], to: 'RUNNING' },
  STOP: { from: ['RUNNING'], to: 'CONFIGURED' },
  RESET: { from: ['CONFIGURED'], to: 'STANDBY' },
  EXIT: { from: ['STANDBY', 'CONFIGURED', 'ERROR'], to: 'DONE' },
  GO_ERROR: { from: ['STANDBY', 'CONFIGURED', 'RUNNING'], to: 'ERROR' },
  RECOVER: { from: ['ERROR'], to: 'STANDBY' },
  // The process stopped from outside its state machine (its environment's EXIT, a move, a stray): done,
  // from whatever state it was in. Never sent to a task; the agent kills the process.
  KILL: { from: ['STANDBY', 'CONFIGURED', 'RUNNING', 'ERROR', 'LOST'], to: 'DONE' },
  // A `command` task (a plain program, no state machine of its own) runs as soon as its process is up.
  // Never sent to a task; the agent takes it when the program has started.
  LAUNCH: { from: ['STANDBY'], to: 'RUNNING' },
  // Its node was lost. Taken by the platform alone, never sent; what the agent reports when it is back
  // (the task still running, or gone) replaces it.
  LOSE: { from: ['STANDBY', 'CONFIGURED', 'RUNNING', 'ERROR'], to: 'LOST' },
};

/** The task transitions no task is commanded to take: the agent's own (KILL, LAUNCH), the platform's (LOSE). */
const uncommandedTransitions: readonly TaskTransition[] = ['KILL', 'LAUNCH', 'LOSE'];

/** The task transitions the platform commands a task's process to take. */
export const commandedTaskTransitions = taskTransitions.filter((t) => !uncommandedTransitions.includes(t));

/** A task that no longer does its work for the run: it failed, or its node is gone. */
export function taskDown(state: TaskState): boolean {
  return state === 'ERROR' || state === 'LOST';
}

/** Whether a task state may take a transition (the table, without throwing). */
export function taskAllows(state: TaskState, transition: TaskTransition): boolean {
  return taskMachine[transition].from.includes(state);
}

/**
 * The task transitions that bring a task in STANDBY to `target` (CONFIGURE, START …), read from the table:
 * what a task placed anew (a move) takes to catch up with its environment.
 */
export function taskPathTo(target: TaskState): ('CONFIGURE' | 'START')[] {
  const path: ('CONFIGURE' | 'START')[] = [];
  let s: TaskState = 'STANDBY';
  for (const t of ['CONFIGURE', 'START'] as const) {
    if (s === target) break;
    s = nextTaskState(s, t);
    path.push(t);
  }
  if (s !== target)
    throw new DaqError('ILLEGAL_TRANSITION', `a task in STANDBY cannot be brought to ${target}`, {
      field: 'state',
    });
  return path;
}

/** The state an environment reaches by `transition`; throws ILLEGAL_TRANSITION naming state and transition. */
export function nextEnvironmentState(
  state: EnvironmentState,
  transition: EnvironmentTransition,
): EnvironmentState {
  return step('environment', environmentMachine, state, transition);
}

/** The state a task reaches by `transition`; throws ILLEGAL_TRANSITION naming state and transition. */
export function nextTaskState(state: TaskState, transition: TaskTransition): TaskState {
  return step('task', taskMachine, state, transition);
}

/** Transitions allowed from a state, in table order (what a UI offers as buttons). */
export function allowedEnvironmentTransitions(state: EnvironmentState): EnvironmentTransition[] {
  return environmentTransitions.filter((t) => environmentMachine[t].from.includes(state));
}

export function isEnvironmentTransition(value: string): value is EnvironmentTransition {
  return (environmentTransitions as readonly string[]).includes(value);
}

function step<S extends string, T extends string>(
  kind: string,
  machine: Readonly<Record<T, { readonly from: readonly S[]; readonly to: S }>>,
  state: S,
  transition: T,
): S {
  const row = machine[transition];
  if (row === undefined) {
    throw new DaqError('ILLEGAL_TRANSITION', `${transition} is not a ${kind} transition`, {
      field: 'transition',
    });
  }
  if (!row.from.includes(state)) {
    throw new DaqError(
      'ILLEGAL_TRANSITION',
      `${kind} in state ${state} cannot take transition ${transition} (allowed from ${row.from.join(', ')})`,
      { field: 'transition' },
    );
  }
  return row.to;
}
