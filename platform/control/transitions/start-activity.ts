import { DaqError } from '../../../protocol/errors.js';
import { commandTasks, stages } from './command-tasks.js';
import type { TransitionContext } from './context.js';

/** How far ahead of the readouts' START the run's timeframe 0 begins. */
export const EPOCH_LEAD_MS = 2000;

/**
 * A task's START payload: the run number, and for the first role (the readouts) the run's common clock —
 * the same for a task started later in the run (a move), so it numbers timeframes as the others do.
 */
export function startPayload(env: TransitionContext, task: string): Readonly<Record<string, unknown>> {
  if (env.run === undefined)
    throw new DaqError('ILLEGAL_TRANSITION', `environment ${env.id} has no run to start ${task} in`, {
      field: 'run',
    });
  const first = env.template.tasks[0]?.role;
  const role = env.template.tasks.find((t) => t.name === task)?.role;
  return role === first && env.epochMs !== undefined
    ? { run: env.run, epochMs: env.epochMs }
    : { run: env.run };
}

/**
 * START_ACTIVITY: the next run number, recorded with the run's start times, then START on every task, role
 * by role from the end of the dataflow back to the readout.
 */
export async function startActivity(env: TransitionContext): Promise<void> {
  // The readouts get the run's common clock: timeframe 0 starts two seconds after they are told, so every
  // link is ready for it and all agree on timeframe numbers (a detector's common orbit clock).
  await env.beginRun(Date.now() + EPOCH_LEAD_MS);
  // Downstream first: the writer and the processors are consuming before the first hit is produced.
  for (const stage of stages(env).reverse()) {
    const names = new Set(stage.tasks.map((t) => t.name));
    await commandTasks(
      env,
      'START',
      (t) => startPayload(env, t.name),
      (t) => names.has(t.name),
    );
  }
  env.runTime('start-completed');
}
