import { taskAllows } from '../../../protocol/states.js';
import { moveTaskState, type Environment } from '../environment.js';

/** EXIT: every task process stopped (also excluded ones) and the environment's resources released. */
export async function exit(env: Environment): Promise<void> {
  await Promise.all(
    [...env.tasks.values()].map((t) => env.ctx.driver.kill(t.node, t.name).catch(() => undefined)),
  );
  for (const t of env.tasks.values()) if (taskAllows(t.state, 'KILL')) moveTaskState(t, 'KILL');
  env.ctx.ledger.release(env.id);
}
