/**
 * The central platform: environments created from templates, placed on the agents' nodes, driven through
 * their transitions, with run numbers and the run registry in the store and every state-changing call
 * audited. The HTTP API (api/server.ts) is a thin layer over this class.
 */
import { randomBytes } from 'node:crypto';
import { DaqError } from '../protocol/errors.js';
import type { EnvironmentState, EnvironmentTransition } from '../protocol/states.js';
import type { HookActions } from './control/hooks.js';
import { Environment } from './control/environment.js';
import type { ControlEvent, TaskDriver } from './control/types.js';
import { ResourceLedger } from './placement/ledger.js';
import type { PlatformStore } from './store/store.js';
import { loadTemplate, type VarValue } from './workflow/template.js';
import { environmentStates, taskStates } from '../protocol/states.js';
import type { Metrics } from '../lib/metrics.js';

export interface PlatformOptions {
  readonly store: PlatformStore;
  readonly driver: TaskDriver;
  readonly ledger?: ResourceLedger;
  readonly brokers: readonly string[];
  readonly actions?: HookActions;
  readonly onControlEvent?: (e: ControlEvent) => void;
  /** Where the platform counts (environment states, transition durations, tasks by state). */
  readonly metrics?: Metrics;
}

export interface EnvironmentView {
  readonly id: string;
  readonly template: string;
  readonly state: EnvironmentState;
  readonly run: number | undefined;
  readonly rollUp: string;
  readonly tasks: readonly {
    name: string;
    node: string;
    cpus: readonly number[];
    state: string;
    critical: boolean;
    excluded: boolean;
  }[];
}

export class Platform {
  readonly ledger: ResourceLedger;
  readonly environments = new Map<string, Environment>();
  private readonly startedBy = new Map<string, string>();

  constructor(readonly o: PlatformOptions) {
    this.ledger = o.ledger ?? new ResourceLedger();
  }

  createEnvironment(
    templateFile: string,
    vars: Readonly<Record<string, VarValue>>,
    who: string,
  ): Environment {
    const template = loadTemplate(templateFile, vars);
    const id = `${template.name}-${randomBytes(3).toString('hex')}`;
    const namespace =
      typeof template.vars['namespace'] === 'string' ? `${template.vars['namespace']}-${id.slice(-6)}` : id;
    const env = new Environment(
      id,
      template,
      {
        driver: this.o.driver,
        ledger: this.ledger,
        nextRun: () => Promise.resolve(this.o.store.nextRun()),
        brokers: this.o.brokers,
        actions: this.o.actions ?? {},
        emit: (e) => this.onEvent(e),
      },
      namespace,
    );
    this.environments.set(id, env);
    this.save(env, who, templateFile, vars);
    this.o.store.audit({ who, action: 'env.create', target: id, result: 'ok', detail: templateFile });
    return env;
  }

  get(id: string): Environment {
    const env = this.environments.get(id);
    if (env === undefined) throw new DaqError('INVALID_CONFIG', `no environment ${id}`, { field: 'id' });
    return env;
  }

  async transition(
    id: string,
    t: EnvironmentTransition,
    who: string,
    traceparent?: string,
  ): Promise<EnvironmentState> {
    const env = this.get(id);
    if (t === 'START_ACTIVITY') this.startedBy.set(id, who);
    const end = this.o.metrics
      ?.histogram('daq_platform_transition_duration_seconds')
      .startTimer({ transition: t });
    try {
      const state = await env.transition(t, traceparent === undefined ? {} : { traceparent });
      end?.({ result: 'ok' });
      this.o.store.audit({ who, action: 'env.transition', target: id, result: 'ok', detail: t });
      return state;
    } catch (err) {
      end?.({ result: 'error' });
      this.o.store.audit({
        who,
        action: 'env.transition',
        target: id,
        result: 'error',
        detail: `${t}: ${err instanceof Error ? err.message : String(err)}`,
      });
      throw err;
    } finally {
      this.save(env, who);
      this.updateGauges();
    }
  }

  /** Environments and tasks by state, for the platform's /metrics. */
  updateGauges(): void {
    const m = this.o.metrics;
    if (m === undefined) return;
    const envs = [...this.environments.values()];
    const tasks = envs.flatMap((e) => [...e.tasks.values()]);
    for (const s of environmentStates)
      m.gauge('daq_platform_environments')
        .labels({ state: s })
        .set(envs.filter((e) => e.state === s).length);
    for (const s of taskStates)
      m.gauge('daq_platform_tasks')
        .labels({ state: s })
        .set(tasks.filter((t) => t.state === s).length);
  }

  view(env: Environment): EnvironmentView {
    return {
      id: env.id,
      template: env.template.name,
      state: env.state,
      run: env.run,
      rollUp: env.rollUp(),
      tasks: [...env.tasks.values()].map((t) => ({
        name: t.name,
        node: t.node,
        cpus: t.cpus,
        state: t.state,
        critical: t.critical,
        excluded: t.excluded,
      })),
    };
  }

  private onEvent(e: ControlEvent): void {
    if (e.kind === 'run') {
      const env = this.environments.get(e.environment);
      if (e.time === 'start' && env !== undefined) {
        this.o.store.startRun({
          run: e.run,
          environment: e.environment,
          template: env.template.name,
          vars: env.template.vars,
          startedBy: this.startedBy.get(e.environment) ?? 'unknown',
          start: e.at,
        });
      } else if (e.time !== 'start') {
        this.o.store.runTime(
          e.run,
          e.time === 'start-completed' ? 'startCompleted' : e.time === 'end' ? 'end' : 'endCompleted',
          e.at,
        );
      }
    }
    this.o.onControlEvent?.(e);
  }

  private save(
    env: Environment,
    who: string,
    templateFile?: string,
    vars?: Readonly<Record<string, VarValue>>,
  ): void {
    const prev = this.o.store.environment(env.id);
    const now = new Date().toISOString();
    this.o.store.saveEnvironment({
      id: env.id,
      namespace: env.namespace,
      templateFile: templateFile ?? prev?.templateFile ?? env.template.file,
      vars: vars ?? prev?.vars ?? {},
      state: env.state,
      run: env.run ?? null,
      tasks: this.view(env).tasks,
      createdBy: prev?.createdBy ?? who,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    });
  }
}
