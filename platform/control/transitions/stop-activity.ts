import type { Environment } from '../environment.js';
import { commandTasks } from './command-tasks.js';

/** STOP_ACTIVITY: STOP on every running task, the run's end times recorded. */
export async function stopActivity(env: Environment): Promise<void> {
  const run = env.run ?? -1;
  env.runTimes.end = new Date().toISOString();
  env.ctx.emit({ kind: 'run', environment: env.id, run, time: 'end', at: env.runTimes.end });
  await commandTasks(env, 'STOP');
  env.runTimes.endCompleted = new Date().toISOString();
  env.ctx.emit({
    kind: 'run',
    environment: env.id,
    run,
    time: 'end-completed',
    at: env.runTimes.endCompleted,
  });
}
