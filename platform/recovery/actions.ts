/**
 * What runbooks may do to an environment's tasks (the RecoveryTarget of recovery/engine.ts): find the tasks
 * a component stands for, restart one in place, exclude a non-critical one, move one to another node.
 */
import { DaqError } from '../../protocol/errors.js';
import type { EnvironmentTransition } from '../../protocol/states.js';
import { traceparentOf } from '../../lib/tracing.js';
import type { EnvironmentRepository } from '../control/repository.js';
import type { TaskDriver, TaskStatus } from '../control/types.js';
import { topologyOf } from '../incidents/intake.js';
import type { Component } from '../incidents/types.js';
import type { RecoveryTarget } from './engine.js';

export interface RunbookActionsOptions {
  readonly environments: EnvironmentRepository;
  readonly driver: TaskDriver;
  /** The platform's transition (audited, saved) for runbook steps that take one. */
  readonly transition: (environment: string, t: EnvironmentTransition, who: string) => Promise<unknown>;
  readonly audit: RecoveryTarget['audit'];
}

export class RunbookActions implements RecoveryTarget {
  constructor(private readonly o: RunbookActionsOptions) {}

  tasksOf(envId: string, c: Component): { name: string; critical: boolean; excluded: boolean }[] {
    const env = this.o.environments.find(envId);
    if (env === undefined) return [];
    return topologyOf(env)
      .tasksOf(c)
      .flatMap((x) => {
        const t = env.task(x.name);
        // Not placed yet (a DEPLOY that failed) — nothing to act on; for the environment, only failed tasks.
        return t === undefined || (c.kind === 'environment' && t.state !== 'ERROR') ? [] : [t];
      });
  }

  async restartTask(envId: string, task: string): Promise<void> {
    const env = this.o.environments.get(envId);
    const t = this.task(envId, task);
    await env.onTaskReport(
      await this.o.driver.restart(t.node, { environment: envId, task: t.name }, traceparentOf()),
    );
  }

  // async: a refusal (a critical task) rejects the promise rather than throwing at the caller.
  // eslint-disable-next-line @typescript-eslint/require-await
  async excludeTask(envId: string, task: string): Promise<void> {
    this.o.environments.get(envId).exclude(this.task(envId, task).name, 'by runbook');
  }

  /** Places a task again away from its node and brings it to the environment's state there. */
  async moveTask(envId: string, task: string): Promise<void> {
    await this.o.environments.get(envId).moveTask(task);
  }

  transition(environment: string, t: EnvironmentTransition, who: string): Promise<unknown> {
    return this.o.transition(environment, t, who);
  }

  audit(e: { who: string; action: string; target: string; result: string; detail: string }): void {
    this.o.audit(e);
  }

  private task(envId: string, task: string): TaskStatus {
    const t = this.o.environments.get(envId).task(task);
    if (t === undefined) throw new DaqError('NOT_FOUND', `no task ${task} in ${envId}`, { field: 'task' });
    return t;
  }
}
