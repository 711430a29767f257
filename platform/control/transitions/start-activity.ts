import type { Environment } from '../environment.js';
import { commandTasks, stages } from './command-tasks.js';

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
  for (const stage of stages(env).reverse()) {
    const names = new Set(stage.tasks.map((t) => t.name));
    await commandTasks(
      env,
      'START',
      () => ({ run }),
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
