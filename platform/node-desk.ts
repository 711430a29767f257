/**
 * The nodes' lifecycle (docs/platform.md "Draining a node"), reached as `platform.nodes`: drain a node —
 * no new task, its tasks moved off it (a processor stoplessly), a readout bound to its board excluded or
 * the drain refused — and uncordon it. Audited; the cordons are kept in the store.
 */
import { DaqError } from '../protocol/errors.js';
import { failedReport } from './agents/reconciler.js';
import { errorMessage, type Auditor } from './audit.js';
import type { Environment } from './control/environment.js';
import type { EnvironmentRepository } from './control/repository.js';
import type { TaskDriver } from './control/types.js';
import type { ResourceLedger } from './placement/ledger.js';
import type { PlatformStore } from './store/store.js';
import type { Change } from './views.js';

/** What a drain did: tasks moved (with their new node), excluded, and moves that failed (with why). */
export interface DrainResult {
  readonly node: string;
  readonly cordoned: true;
  readonly moved: string[];
  readonly excluded: string[];
  readonly failed: string[];
}

export interface NodeDeskOptions {
  readonly environments: EnvironmentRepository;
  readonly ledger: ResourceLedger;
  readonly store: PlatformStore;
  readonly driver: TaskDriver;
  readonly auditor: Auditor;
  readonly changed: (c: Change) => void;
  readonly updateGauges: () => void;
}

export class NodeDesk {
  constructor(private readonly o: NodeDeskOptions) {}

  /**
   * Drains a node (docs/platform.md "Draining a node"): it takes no new task, and the tasks of
   * environments that hold resources leave it — a movable one is placed on another node and brought to
   * its environment's state before its old process stops (a processor joins its group there first); one
   * bound to the node's hardware (a readout whose link is wired only there) is excluded when not critical.
   * Refused, with each reason and nothing changed, when a critical task is bound to the node. Audited.
   */
  drain(node: string, who: string, reason?: string): Promise<DrainResult> {
    return this.o.auditor.auditedAsync(who, 'node.drain', node, async () => {
      const plan = this.drainPlan(node);
      if (plan.refused.length > 0)
        throw new DaqError('PLACEMENT_FAILED', `node ${node} cannot be drained: ${plan.refused.join('; ')}`, {
          field: 'node',
        });
      this.o.ledger.cordon(node);
      this.o.store.setCordon(node, who);
      const result: DrainResult = { node, cordoned: true, moved: [], excluded: [], failed: [] };
      for (const { env, task } of plan.exclude) {
        env.exclude(task, `node ${node} drained: its link is wired there alone`);
        await this.o.driver.kill(node, { environment: env.id, task }).catch(() => undefined);
        result.excluded.push(`${env.id}/${task}`);
      }
      for (const { env, task } of plan.move) {
        try {
          // A processor joins its group on the new node before the old one leaves; any other task stops
          // first (a writer's run files belong to one process at a time; its events wait in Kafka).
          await env.moveTask(task, env.task(task)?.workload === 'processor');
          result.moved.push(`${env.id}/${task} → ${env.task(task)?.node ?? '?'}`);
        } catch (err) {
          // Its new copy did not come up (and the old one is stopped): a failed task, with the failure
          // semantics of any (recovery, exclusion, or the environment to ERROR).
          const message = `moved off drained node ${node}, it did not start: ${errorMessage(err)}`;
          result.failed.push(`${env.id}/${task}: ${errorMessage(err)}`);
          const t = env.task(task);
          // Refused before it was placed anew (its environment in ERROR): it still runs where it was.
          if (t !== undefined && t.node !== node) await env.onTaskReport(failedReport(env.id, t, message));
        }
      }
      for (const env of new Set([...plan.exclude, ...plan.move].map((x) => x.env))) {
        this.o.environments.save(env, who);
        this.o.changed({ kind: 'environment', id: env.id });
      }
      this.o.updateGauges();
      return {
        result,
        detail: `moved ${result.moved.length}, excluded ${result.excluded.length}, failed ${result.failed.length}${reason === undefined ? '' : `; ${reason}`}`,
      };
    });
  }

  /** Lets a drained node take tasks again (tasks moved off it stay where they are). Audited. */
  uncordon(node: string, who: string, reason?: string): { node: string; cordoned: false } {
    return this.o.auditor.audited(who, 'node.uncordon', node, () => {
      this.o.ledger.cordon(node, false);
      this.o.store.setCordon(node, undefined);
      return {
        result: { node, cordoned: false as const },
        detail: `takes tasks again${reason === undefined ? '' : `; ${reason}`}`,
      };
    });
  }

  /** What draining `node` would do to each task there: move it, exclude it, or refuse the drain. */
  private drainPlan(node: string): {
    move: { env: Environment; task: string }[];
    exclude: { env: Environment; task: string }[];
    refused: string[];
  } {
    const plan = {
      move: [] as { env: Environment; task: string }[],
      exclude: [] as { env: Environment; task: string }[],
      refused: [] as string[],
    };
    for (const env of this.o.environments.all()) {
      if (!env.holdsResources()) continue;
      for (const t of env.taskList()) {
        if (t.node !== node || t.state === 'DONE' || t.state === 'LOST') continue;
        const tt = env.template.tasks.find((x) => x.name === t.name);
        const links = tt?.resources.links ?? [];
        const bound = links.filter((l) => {
          const at = this.o.ledger.linkNodes(l);
          return at.length > 0 && at.every((n) => n === node);
        });
        if (bound.length > 0) {
          if (t.excluded) continue;
          if (t.critical)
            plan.refused.push(
              `${env.id}/${t.name} is critical and reads link(s) ${bound.join(', ')}, wired only to ${node}`,
            );
          else plan.exclude.push({ env, task: t.name });
        } else if (!t.excluded) plan.move.push({ env, task: t.name });
      }
    }
    return plan;
  }

  /** Drained nodes, as the store keeps them. */
  cordons(): { node: string; who: string; at: string }[] {
    return this.o.store.cordons();
  }
}
