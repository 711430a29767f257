import { commandTasks, stages } from './command-tasks.js';
import type { TransitionContext } from './context.js';

/** How far ahead of the readouts' STOP their common stop time lies (the command must reach them all). */
export const STOP_LEAD_MS = 1000;

/**
 * STOP_ACTIVITY: STOP on every running task, role by role in dataflow order, waiting between roles for
 * what the stopped ones produced to be consumed (DUNE/ALICE: stop the readout, drain, then the rest); the
 * run's end times recorded. A task that ended its activity by itself (a readout that sent its last
 * timeframe or the end of its replay) is CONFIGURED already, where STOP would take it: it is not asked —
 * asked, it refuses (no STOP from CONFIGURED), and a refusal would exclude it from every later run.
 */
export async function stopActivity(env: TransitionContext): Promise<void> {
  env.runTime('end');
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
      (t) => names.has(t.name) && t.state !== 'CONFIGURED',
    );
    stopped.push(...new Set(stage.tasks.map((t) => t.workload)));
    if (i < all.length - 1) await env.drain(stopped);
  }
  env.runTime('end-completed');
}
