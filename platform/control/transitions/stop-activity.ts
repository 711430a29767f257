import type { Environment } from '../environment.js';
import { commandTasks, stages } from './command-tasks.js';

/** How far ahead of the readouts' STOP their common stop time lies (the command must reach them all). */
export const STOP_LEAD_MS = 1000;

/**
 * STOP_ACTIVITY: STOP on every running task, role by role in dataflow order, waiting between roles for
 * what the stopped ones produced to be consumed (DUNE/ALICE: stop the readout, drain, then the rest); the
 * run's end times recorded.
 */
export async function stopActivity(env: Environment): Promise<void> {
  const run = env.run ?? -1;
  env.runTimes.end = new Date().toISOString();
  env.ctx.emit({ kind: 'run', environment: env.id, run, time: 'end', at: env.runTimes.end });
  // Upstream first, and each stage drains before the next stops: nothing produced is left unprocessed.
  const all = stages(env);
  const stopped: string[] = [];
  for (const [i, stage] of all.entries()) {
    const names = new Set(stage.tasks.map((t) => t.name));
    // The readouts stop at one common time: every link ends on the same timeframe.
    const payload = i === 0 ? { stopAtMs: Date.now() + STOP_LEAD_MS } : {};
    await commandTasks(
      env,
      'STOP',
      () => payload,
      (t) => names.has(t.name),
    );
    stopped.push(...new Set(stage.tasks.map((t) => t.workload)));
    if (i < all.length - 1) await env.ctx.drain?.(env, stopped);
  }
  env.runTimes.endCompleted = new Date().toISOString();
  env.ctx.emit({
    kind: 'run',
    environment: env.id,
    run,
    time: 'end-completed',
    at: env.runTimes.endCompleted,
  });
}
