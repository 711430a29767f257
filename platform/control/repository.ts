/**
 * The environments the platform holds and their record in the store: created from a template, saved at
 * every change (before a transition too, so a restarted platform knows what was cut), loaded back after a
 * restart from the template text they were created with (docs/platform.md "Platform restart and agent reconciliation").
 */
import { randomBytes } from 'node:crypto';
import { DaqError } from '../../protocol/errors.js';
import type { EnvironmentTransition } from '../../protocol/states.js';
import type { PlatformStore } from '../store/store.js';
import type { TemplateText } from '../workflow/library.js';
import { loadTemplate, parseTemplate, type VarValue, type WorkflowTemplate } from '../workflow/template.js';
import type { Environment } from './environment.js';
import type { MaskedCell, TaskStatus } from './types.js';

/** What a restart found in the store and made of it. */
export interface RestoreSummary {
  readonly environments: number;
  readonly holdingResources: number;
  /** Environments whose transition was cut by the restart: now in ERROR, named with the transition. */
  readonly interrupted: readonly string[];
  /** Environments whose template could not be read again: kept in the store, not loaded. */
  readonly unreadable: readonly string[];
}

export interface RestoreHandlers {
  readonly unreadable: (id: string, label: string, err: unknown) => void;
  /** An environment that holds resources again: its placements to lock in the ledger. */
  readonly holds: (env: Environment) => void;
}

export class EnvironmentRepository {
  private readonly envs = new Map<string, Environment>();

  constructor(
    private readonly store: PlatformStore,
    private readonly make: (id: string, template: WorkflowTemplate, namespace: string) => Environment,
  ) {}

  /** One environment; NOT_FOUND naming the id when there is none. */
  get(id: string): Environment {
    const env = this.envs.get(id);
    if (env === undefined) throw new DaqError('NOT_FOUND', `no environment ${id}`, { field: 'id' });
    return env;
  }

  find(id: string): Environment | undefined {
    return this.envs.get(id);
  }

  all(): Environment[] {
    return [...this.envs.values()];
  }

  /** A new environment from a parsed template, on record before anyone can act on it. */
  create(
    source: TemplateText & { template: WorkflowTemplate },
    vars: Readonly<Record<string, VarValue>>,
    who: string,
  ): Environment {
    const template = source.template;
    const id = `${template.name}-${randomBytes(3).toString('hex')}`;
    const namespace =
      typeof template.vars['namespace'] === 'string' ? `${template.vars['namespace']}-${id.slice(-6)}` : id;
    const env = this.make(id, template, namespace);
    this.envs.set(id, env);
    this.save(env, who, { label: source.label, text: source.text, vars });
    return env;
  }

  /** Writes an environment's state, run, run clock and tasks (its template and creator are kept). */
  save(
    env: Environment,
    who: string,
    created?: { label: string; text: string; vars: Readonly<Record<string, VarValue>> },
  ): void {
    const prev = this.store.environment(env.id);
    const now = new Date().toISOString();
    const saved = env.saved();
    this.store.saveEnvironment({
      id: env.id,
      namespace: env.namespace,
      templateFile: created?.label ?? prev?.templateFile ?? env.template.file,
      templateText: created?.text ?? prev?.templateText ?? null,
      vars: created?.vars ?? prev?.vars ?? {},
      state: saved.state,
      transition: env.transitionUnderWay ?? null,
      run: saved.run ?? null,
      epochMs: saved.epochMs ?? null,
      masks: saved.masks,
      tasks: saved.tasks,
      createdBy: prev?.createdBy ?? who,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    });
  }

  /**
   * After a restart: every environment of the store back in memory with its state, run, run clock and
   * tasks. One cut in the middle of a transition takes the table's failure edge to ERROR — what its tasks
   * really did is only known from the agents, and RECOVER or EXIT lead on from there. Task states come back
   * with the agents' first reports; process ids too.
   */
  restore(on: RestoreHandlers): RestoreSummary {
    const interrupted: string[] = [];
    const unreadable: string[] = [];
    let holding = 0;
    for (const rec of this.store.environments()) {
      if (this.envs.has(rec.id)) continue;
      const vars = rec.vars as Record<string, VarValue>;
      let template: WorkflowTemplate;
      try {
        // Stores written before templates were kept with the environment name a file.
        template =
          rec.templateText === null
            ? loadTemplate(rec.templateFile, vars)
            : parseTemplate(rec.templateText, rec.templateFile, vars);
      } catch (err) {
        unreadable.push(rec.id);
        on.unreadable(rec.id, rec.templateFile, err);
        continue;
      }
      const env = this.make(rec.id, template, rec.namespace);
      this.envs.set(rec.id, env);
      const run = rec.run === null ? undefined : this.store.run(rec.run);
      env.load({
        masks: Array.isArray(rec.masks) ? (rec.masks as MaskedCell[]) : [],
        state: rec.state,
        run: rec.run ?? undefined,
        epochMs: rec.epochMs ?? undefined,
        runTimes: {
          ...(run?.start == null ? {} : { start: run.start }),
          ...(run?.startCompleted == null ? {} : { startCompleted: run.startCompleted }),
          ...(run?.end == null ? {} : { end: run.end }),
          ...(run?.endCompleted == null ? {} : { endCompleted: run.endCompleted }),
        },
        // The stored view of a task is its status; its process id comes back with the agent's report.
        tasks: (rec.tasks as TaskStatus[]).map((t) => ({ ...t, pid: undefined })),
      });
      // Its control event (an ERS issue, a signal for an incident) says so, as a failed transition would.
      if (rec.transition !== null && env.cutByRestart(rec.transition as EnvironmentTransition)) {
        interrupted.push(rec.id);
        this.save(env, 'platform');
      }
      if (env.holdsResources()) {
        holding++;
        on.holds(env);
      }
    }
    return { environments: this.envs.size, holdingResources: holding, interrupted, unreadable };
  }
}
