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

export const taskStates = ['STANDBY', 'CONFIGURED', 'RUNNING', 'ERROR', 'DONE'] as const;
export type TaskState = (typeof taskStates)[number];

export const taskTransitions = [
  'CONFIGURE',
  'START',
  'STOP',
  'RESET',
  'EXIT',
  'GO_ERROR',
  'RECOVER',
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
};

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
