import type { Environment } from '../environment.js';
import { commandTasks, stages } from './command-tasks.js';

/** How far ahead of the readouts' START the run's timeframe 0 begins. */
export const EPOCH_LEAD_MS = 2000;

/**
 * START_ACTIVITY: the next run number, recorded with the run's start times, then START on every task, role
 * by role from the end of the dataflow back to the readout.
 */
export async function startActivity(env: Environment): Promise<void> {
  const run = await env.ctx.nextRun();
  env.run = run;
  env.runTimes = { start: new Date().toISOString() };
  env.ctx.emit({ kind: 'run', environment: env.id, run, time: 'start', at: env.runTimes.start! });
  // Downstream first: the writer and the processors are consuming before the first hit is produced.
  // The readouts get the run's common clock: timeframe 0 starts two seconds after they are told, so every
  // link is ready for it and all agree on timeframe numbers (a detector's common orbit clock).
  const all = stages(env);
  for (const [i, stage] of [...all.entries()].reverse()) {
    const names = new Set(stage.tasks.map((t) => t.name));
    const payload = i === 0 ? { run, epochMs: Date.now() + EPOCH_LEAD_MS } : { run };
    await commandTasks(
      env,
      'START',
      () => payload,
      (t) => names.has(t.name),
    );
  }
  env.runTimes.startCompleted = new Date().toISOString();
  env.ctx.emit({
    kind: 'run',
    environment: env.id,
    run,
    time: 'start-completed',
    at: env.runTimes.startCompleted,
  });
}
