/**
 * What a control event (environment, hook, task, run) sets off at the platform: the ERS issue a failure
 * stands for (docs/incidents.md: an ERS issue for every failure), the signal it is for the incidents, and
 * the run registry's times. Then it goes on to whoever publishes it (Kafka `<ns>.control`).
 */
import type { ErsReporter } from '../../lib/ers.js';
import { controlSignal } from '../incidents/signals.js';
import type { SignalInput } from '../incidents/types.js';
import type { PlatformStore } from '../store/store.js';
import type { EnvironmentRepository } from './repository.js';
import type { ControlEvent } from './types.js';

export interface EventSinkOptions {
  readonly store: PlatformStore;
  readonly environments: EnvironmentRepository;
  readonly signal: (s: SignalInput) => void;
  /** Who started each environment's current run (set by the platform before START_ACTIVITY). */
  readonly startedBy: (environment: string) => string;
  readonly ers?: ErsReporter | undefined;
  readonly next?: ((e: ControlEvent) => void) | undefined;
}

/** Control events kept per environment for the web page's transition log (newest last). */
const RECENT_EVENTS = 100;

export class ControlEventSink {
  private readonly recentEvents = new Map<string, ControlEvent[]>();

  constructor(private readonly o: EventSinkOptions) {}

  /** An environment's latest RECENT_EVENTS control events, newest last. */
  recent(environment: string): ControlEvent[] {
    return [...(this.recentEvents.get(environment) ?? [])];
  }

  on(e: ControlEvent): void {
    const log = this.recentEvents.get(e.environment) ?? [];
    log.push(e);
    if (log.length > RECENT_EVENTS) log.splice(0, log.length - RECENT_EVENTS);
    this.recentEvents.set(e.environment, log);
    this.raiseFor(e);
    if (e.kind !== 'task' || !e.excluded) {
      const t = e.kind === 'task' ? this.o.environments.find(e.environment)?.task(e.task) : undefined;
      const s = controlSignal(
        e,
        t === undefined ? undefined : { workload: t.workload, critical: t.critical },
      );
      if (s !== undefined) this.o.signal(s);
    }
    if (e.kind === 'run') this.record(e);
    this.o.next?.(e);
  }

  private record(e: Extract<ControlEvent, { kind: 'run' }>): void {
    if (e.time === 'start') {
      const env = this.o.environments.find(e.environment);
      if (env === undefined) return;
      this.o.store.startRun({
        run: e.run,
        environment: e.environment,
        template: env.template.name,
        vars: env.template.vars,
        startedBy: this.o.startedBy(e.environment),
        start: e.at,
      });
    } else {
      this.o.store.runTime(
        e.run,
        e.time === 'start-completed' ? 'startCompleted' : e.time === 'end' ? 'end' : 'endCompleted',
        e.at,
      );
    }
  }

  private raiseFor(e: ControlEvent): void {
    const ers = this.o.ers;
    if (ers === undefined) return;
    if (e.kind === 'environment' && e.status !== 'STARTED' && e.status !== 'DONE_OK')
      ers.raise(
        'daqops.platform.TransitionFailed',
        `environment ${e.environment}: ${e.transition} failed: ${e.error ?? e.status}`,
        { environment: e.environment, transition: e.transition },
      );
    else if (e.kind === 'hook' && (e.status === 'DONE_ERROR' || e.status === 'DONE_TIMEOUT'))
      ers.raise(
        'daqops.platform.HookFailed',
        `environment ${e.environment}: hook ${e.hook} at ${e.step}_${e.transition}: ${e.error ?? e.status}`,
        { environment: e.environment, hook: e.hook, transition: e.transition },
      );
    else if (e.kind === 'task' && e.excluded && e.message?.startsWith('excluded') === true)
      ers.raise(
        'daqops.platform.TaskExcluded',
        `environment ${e.environment}: non-critical task ${e.task} taken out of the run (${e.message})`,
        { environment: e.environment, task: e.task },
      );
    else if (e.kind === 'task' && (e.state === 'ERROR' || e.state === 'LOST') && !e.excluded)
      ers.raise(
        'daqops.platform.TaskFailed',
        `environment ${e.environment}: task ${e.task} ${e.state === 'LOST' ? 'lost' : 'failed'}: ${e.message ?? e.state}`,
        { environment: e.environment, task: e.task },
      );
  }
}
