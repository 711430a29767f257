/**
 * What the platform makes of agents coming and going (docs/agent.md "Link to the platform"): a node that registers
 * brings its resources and its tasks' states, reconciled with what the environments expect; one that
 * misses its heartbeats takes its resources with it and its tasks fail.
 */
import type { NodeTopology, TaskReport } from '../../protocol/agent-link.js';
import type { ErsReporter } from '../../lib/ers.js';
import type { EnvironmentRepository } from '../control/repository.js';
import type { TaskDriver, TaskStatus } from '../control/types.js';
import type { IncidentIntake } from '../incidents/intake.js';
import { agentLostSignal } from '../incidents/signals.js';
import type { ResourceLedger } from '../placement/ledger.js';

export interface ReconcilerOptions {
  readonly environments: EnvironmentRepository;
  readonly ledger: ResourceLedger;
  readonly driver: TaskDriver;
  readonly intake: IncidentIntake;
  readonly ers?: ErsReporter | undefined;
}

export class AgentReconciler {
  constructor(private readonly o: ReconcilerOptions) {}

  /**
   * An agent registered (first time, back after a loss, or after a platform restart): its resources go
   * into the ledger with the locks of the tasks placed there, and what it runs is reconciled with what the
   * environments expect — a task it no longer has has failed; a task it runs that no environment holds
   * there (left from before a loss or an EXIT it missed) is stopped.
   */
  async registered(topology: NodeTopology, reports: readonly TaskReport[]): Promise<void> {
    this.o.ledger.addNode(topology);
    const node = topology.node;
    for (const inc of this.o.intake.openWith('AgentLost', node))
      this.o.intake.signal(agentLostSignal(node, inc.environment, false));
    // A copy of an older placement than the environment's is one the platform superseded while the node
    // was away (moved elsewhere and back): not the task, whatever it says.
    const current = reports.filter((r) => !this.superseded(r));
    const reported = new Map(current.map((r) => [`${r.environment}/${r.task}`, r]));
    for (const env of this.o.environments.all()) {
      if (env.state === 'STANDBY' || env.state === 'DONE' || env.transitionUnderWay === 'DEPLOY') continue;
      // Each task as it is now: a report about one may move others (a runbook places them anew).
      for (const name of env.taskList().map((x) => x.name)) {
        const t = env.task(name);
        if (t === undefined || t.node !== node || t.excluded) continue;
        const r = reported.get(`${env.id}/${t.name}`);
        if (r !== undefined) await env.onTaskReport(r);
        else if (t.state !== 'ERROR')
          await env.onTaskReport(
            failedReport(env.id, t, `not running on node ${node} when its agent registered`),
          );
      }
    }
    for (const r of reports) {
      const t = this.o.environments.find(r.environment)?.task(r.task);
      const superseded = this.superseded(r);
      const held = t !== undefined && t.node === node && !t.excluded && t.state !== 'DONE' && !superseded;
      // A superseded copy is stopped whatever its state: one in ERROR (a writer that found its run fenced
      // by its successor) is still a process of a task that runs elsewhere.
      if (held || r.state === 'DONE' || r.pid === undefined || (r.state === 'ERROR' && !superseded)) continue;
      const elsewhere = t !== undefined && t.state !== 'DONE' && (t.node !== node || superseded);
      if (elsewhere) {
        // Split brain averted: the platform placed this task anew while it could not reach this node.
        const why = `node ${node} runs ${r.environment}/${r.task} (pid ${r.pid}, placement ${r.generation ?? 'unknown'}), superseded by placement ${t.generation ?? '?'} on ${t.node}; stopping it`;
        this.o.ers?.raise('daqops.platform.TaskSuperseded', why, {
          node,
          environment: r.environment,
          task: r.task,
        });
        for (const inc of this.o.intake.openWith('AgentLost', node))
          this.o.intake.note(inc.id, 'platform', why);
      } else
        this.o.ers?.raise(
          'daqops.platform.StrayTask',
          `node ${node} runs ${r.environment}/${r.task} (pid ${r.pid}), which no environment holds there; stopping it`,
          { node, environment: r.environment, task: r.task },
        );
      await this.o.driver.kill(node, r).catch(() => undefined);
    }
  }

  /** A report of a copy older than the task's placement (both generations known). */
  private superseded(r: TaskReport): boolean {
    const t = this.o.environments.find(r.environment)?.task(r.task);
    return t?.generation !== undefined && r.generation !== undefined && r.generation < t.generation;
  }

  /** Task states from an agent's heartbeat or task event (only for tasks placed on that node). */
  async reports(node: string, reports: readonly TaskReport[]): Promise<void> {
    for (const r of reports) {
      const env = this.o.environments.find(r.environment);
      if (env?.task(r.task)?.node === node && !this.superseded(r)) await env.onTaskReport(r);
    }
  }

  /**
   * An agent missed its heartbeats: its node's resources are released and each task there is LOST with
   * the time (excluded ones too: nobody can say they still run); one taking part has failed — recovery
   * first (the AgentLost runbook moves it), else excluded when not critical, the environment to ERROR when
   * critical.
   */
  async lost(node: string): Promise<void> {
    this.o.ledger.removeNode(node);
    this.o.ers?.raise('daqops.platform.AgentLost', `agent of node ${node} lost (missed heartbeats)`, {
      node,
    });
    const envs = this.o.environments.all();
    const hit = envs.filter((e) => e.taskList().some((t) => t.node === node && t.state !== 'DONE'));
    if (hit.length === 0) this.o.intake.signal(agentLostSignal(node, undefined, true));
    for (const env of hit) this.o.intake.signal(agentLostSignal(node, env.id, true));
    for (const env of envs) {
      // Each task as it is now: the first failure's runbook may already have moved the others away.
      for (const name of env.taskList().map((x) => x.name)) {
        const t = env.task(name);
        if (t === undefined || t.node !== node || t.state === 'DONE' || t.state === 'LOST') continue;
        await env.onTaskLost(t.name, `agent of node ${node} lost`);
      }
    }
  }
}

/** The report the platform writes for a task its agent cannot speak for (gone, lost, or never started). */
export function failedReport(environment: string, t: Readonly<TaskStatus>, message: string): TaskReport {
  return {
    task: t.name,
    environment,
    kind: t.workload,
    state: 'ERROR',
    pid: undefined,
    restarts: 0,
    cpus: undefined,
    mems: undefined,
    failed: true,
    message,
  };
}
