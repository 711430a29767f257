import type { Environment } from '../environment.js';
import { commandTasks } from './command-tasks.js';

/** START_ACTIVITY: the next run number, recorded with the run's start times, then START on every task. */
export async function startActivity(env: Environment): Promise<void> {
  const run = await env.ctx.nextRun();
  env.run = run;
  env.runTimes = { start: new Date().toISOString() };
  env.ctx.emit({ kind: 'run', environment: env.id, run, time: 'start', at: env.runTimes.start! });
  await commandTasks(env, 'START', () => ({ run }));
  env.runTimes.startCompleted = new Date().toISOString();
  env.ctx.emit({
    kind: 'run',
    environment: env.id,
    run,
    time: 'start-completed',
    at: env.runTimes.startCompleted,
  });
}
