/**
 * Runbook-driven recovery. For an incident, the runbook that matches its root signal names the steps;
 * the automatic ones run in order, each traced (span), counted (metrics), audited and put on the
 * incident's timeline. Each runbook runs under its policy per (runbook, component): at most
 * `maxAttempts` in `windowMs`, the 2nd and later attempts after a doubling backoff. When the cap is hit
 * or a step fails, the incident escalates to a human: the runbook's `escalate` runbook applies and a page
 * goes out (a PagerDuty-Events-v2-like webhook with a dedup key per incident).
 */
import { DaqError } from '../../protocol/errors.js';
import type { EnvironmentTransition } from '../../protocol/states.js';
import { withSpan } from '../../lib/tracing.js';
import type { Metrics } from '../../lib/metrics.js';
import type { Correlator } from '../incidents/correlator.js';
import { componentKey, type Component, type Incident } from '../incidents/types.js';
import { runbookFor, runbookForSignal, type Runbook, type RunbookStep } from '../runbooks/runbook.js';

/** What recovery may do to an environment (the Platform). */
export interface RecoveryTarget {
  /** The tasks a component of an environment stands for, with what recovery must know of them. */
  tasksOf(
    environment: string,
    component: Incident['root']['component'],
  ): { name: string; critical: boolean; excluded: boolean }[];
  restartTask(environment: string, task: string): Promise<void>;
  excludeTask(environment: string, task: string): Promise<void>;
  moveTask(environment: string, task: string): Promise<void>;
  transition(environment: string, t: EnvironmentTransition, who: string): Promise<unknown>;
  audit(e: { who: string; action: string; target: string; result: string; detail: string }): void;
}

export interface PageOptions {
  readonly url: string;
  readonly routingKey?: string;
}

export interface RecoveryOptions {
  readonly runbooks: readonly Runbook[];
  readonly correlator: Correlator;
  readonly target: RecoveryTarget;
  readonly page?: PageOptions | undefined;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface StepOutcome {
  readonly ok: boolean;
  readonly message: string;
  /** The step failed with an error the catalogue marks retriable (a peer away for a moment, a timeout). */
  readonly retriable?: boolean;
}

/**
 * A step that failed with a retriable error (an agent reconnecting, a command that timed out) is tried
 * again this many times, after STEP_RETRY_MS, 2× that, …, before the incident escalates; any other
 * failure escalates at once (trying again cannot help).
 */
const STEP_RETRIES = 2;
const STEP_RETRY_MS = 1000;

const WHO = 'platform:recovery';

export class RecoveryEngine {
  private readonly attempts = new Map<string, number[]>();
  private readonly running = new Map<string, Promise<boolean>>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: RecoveryOptions) {
    this.now = o.now ?? (() => Date.now());
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    // Pages exist at 0 from the start: "no page sent" is a value on the dashboard, not a gap.
    for (const result of ['ok', 'error'])
      o.metrics?.counter('daq_platform_pages_total').labels({ result }).inc(0);
  }

  runbook(name: string): Runbook | undefined {
    return this.o.runbooks.find((b) => b.name === name);
  }

  /**
   * Runs the automatic steps of a runbook on an incident; resolves true when they healed the fault, false
   * when a human must act (no automatic step applies, the policy refused, or a step failed: escalated).
   * `about` is the component that failed (a task whose crash joined the incident of another); the steps
   * act on it with the runbook of its own signal — except under a lost node, whose runbook (moving and
   * excluding its tasks) acts for all of them. Default: the incident's root. One recovery per incident
   * and component at a time: a second call joins the first.
   */
  recover(incidentId: number, about?: Component): Promise<boolean> {
    const root = this.o.correlator.get(incidentId).root.component;
    const subject = about === undefined || root.kind === 'node' ? root : about;
    const key = `${incidentId}|${componentKey(subject)}`;
    const busy = this.running.get(key);
    if (busy !== undefined) return busy;
    const p = this.run(incidentId, subject)
      .catch((err: unknown) => {
        // A bug or a vanished environment must not take the platform down: say so on the incident.
        const message = err instanceof Error ? err.message : String(err);
        try {
          this.o.correlator.record(incidentId, {
            kind: 'action',
            text: `recovery failed: ${message}`,
            result: 'error',
          });
          this.o.correlator.setRecovery(incidentId, 'failed');
        } catch {
          // the incident is gone too
        }
        return false;
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, p);
    return p;
  }

  private async run(id: number, subject: Component): Promise<boolean> {
    const c = this.o.correlator;
    const inc = c.get(id);
    const own =
      componentKey(subject) === componentKey(inc.root.component)
        ? undefined
        : inc.signals.find(
            (s) => s.status === 'firing' && componentKey(s.component) === componentKey(subject),
          );
    const book =
      (own === undefined ? undefined : runbookForSignal(this.o.runbooks, own)) ??
      runbookFor(this.o.runbooks, inc);
    if (book === undefined) {
      if (inc.severity === 'error' || inc.severity === 'critical')
        await this.escalate(inc, undefined, 'no runbook matches this incident');
      return false;
    }
    if (inc.runbook !== book.name) c.setRecovery(id, inc.recovery, book.name);
    const env = inc.environment;
    const tasks = env === undefined ? [] : this.o.target.tasksOf(env, subject);
    // A step applies when it is for any of the incident's tasks (`when`: critical / non-critical / always).
    const steps = book.steps.filter(
      (s) => s.auto && (s.when === 'always' || tasks.some((t) => applies(s, t.critical))),
    );
    if (steps.length === 0) {
      c.record(id, {
        kind: 'state',
        text: `runbook ${book.name}: no automatic step applies; over to a human`,
      });
      return false;
    }
    const key = `${book.name}|${env ?? ''}|${componentKey(subject)}`;
    const recent = (this.attempts.get(key) ?? []).filter((t) => this.now() - t < book.policy.windowMs);
    if (recent.length >= book.policy.maxAttempts) {
      this.attempts.set(key, recent);
      await this.escalate(
        inc,
        book,
        `runbook ${book.name} already ran ${recent.length} times for ${subject.id} within ${Math.round(book.policy.windowMs / 60_000)} min (cap ${book.policy.maxAttempts})`,
      );
      return false;
    }
    const backoff = recent.length === 0 ? 0 : book.policy.backoffMs * 2 ** (recent.length - 1);
    recent.push(this.now());
    this.attempts.set(key, recent);
    c.setRecovery(id, 'running', book.name);
    c.record(id, {
      kind: 'action',
      text: `runbook ${book.name}: attempt ${recent.length} of ${book.policy.maxAttempts}${backoff > 0 ? ` after ${backoff} ms backoff` : ''}`,
    });
    if (backoff > 0) await this.sleep(backoff);
    for (const step of steps) {
      let out = await this.step(c.get(id), book, step, WHO, subject);
      for (let retry = 1; !out.ok && out.retriable === true && retry <= STEP_RETRIES; retry++) {
        const waitMs = STEP_RETRY_MS * 2 ** (retry - 1);
        c.record(id, {
          kind: 'action',
          text: `runbook ${book.name}: step "${step.title}" may succeed when tried again: retry ${retry} of ${STEP_RETRIES} in ${waitMs} ms`,
        });
        await this.sleep(waitMs);
        out = await this.step(c.get(id), book, step, WHO, subject);
      }
      if (!out.ok) {
        // A page that failed is not paged again: the escalation is on the timeline for the next shift.
        await this.escalate(
          c.get(id),
          book,
          `step "${step.title}" failed: ${out.message}`,
          step.action !== 'page',
        );
        return false;
      }
    }
    c.setRecovery(id, 'succeeded');
    return true;
  }

  /** Runs one step of a runbook on an incident (automatic, or a human through `daqops runbook run`). */
  async step(
    inc: Incident,
    book: Runbook,
    step: RunbookStep,
    who: string,
    subject: Component = inc.root.component,
  ): Promise<StepOutcome> {
    const c = this.o.correlator;
    const target = `incident ${inc.id}`;
    const out = await withSpan(
      `recovery ${step.action}`,
      { 'daq.incident': inc.id, 'daq.runbook': book.name, 'daq.action': step.action },
      () => this.act(inc, book, step, who, subject),
    ).catch((err: unknown): StepOutcome => ({
      ok: false,
      message: err instanceof Error ? err.message : String(err),
      retriable: err instanceof DaqError && err.retriable,
    }));
    this.o.metrics
      ?.counter('daq_platform_recovery_actions_total')
      .labels({ kind: step.action, result: out.ok ? 'ok' : 'error' })
      .inc();
    this.o.target.audit({
      who,
      action: `recovery.${step.action}`,
      target,
      result: out.ok ? 'ok' : 'error',
      detail: `${book.name}: ${step.title}: ${out.message}`,
    });
    c.record(inc.id, {
      kind: step.action === 'page' ? 'escalation' : 'action',
      text: `${step.action} (${book.name}: ${step.title}): ${out.message}`,
      who,
      result: out.ok ? 'ok' : 'error',
    });
    return out;
  }

  private async act(
    inc: Incident,
    book: Runbook,
    step: RunbookStep,
    who: string,
    subject: Component,
  ): Promise<StepOutcome> {
    const env = inc.environment;
    if (step.action === 'page') return this.page(inc, book, `runbook ${book.name}: ${step.title}`);
    if (step.action === 'manual') return { ok: true, message: step.detail ?? 'done by hand' };
    if (env === undefined) return { ok: false, message: 'the incident concerns no environment' };
    if (step.action === 'transition') {
      for (const t of step.transitions) await this.o.target.transition(env, t, who);
      return { ok: true, message: step.transitions.join(' → ') };
    }
    const tasks = this.o.target.tasksOf(env, subject);
    if (tasks.length === 0) return { ok: false, message: `no task of ${env} stands for ${subject.id}` };
    const done: string[] = [];
    for (const t of tasks.filter((x) => applies(step, x.critical))) {
      if (step.action === 'exclude-task') {
        if (t.critical) return { ok: false, message: `${t.name} is critical: it cannot be excluded` };
        if (!t.excluded) await this.o.target.excludeTask(env, t.name);
      } else if (step.action === 'restart-task') await this.o.target.restartTask(env, t.name);
      else await this.o.target.moveTask(env, t.name);
      done.push(t.name);
    }
    return { ok: true, message: `${step.action} ${done.join(', ')}` };
  }

  private async escalate(
    inc: Incident,
    book: Runbook | undefined,
    reason: string,
    page = true,
  ): Promise<void> {
    const c = this.o.correlator;
    const next = book?.escalate === undefined ? undefined : this.runbook(book.escalate);
    c.setRecovery(inc.id, 'escalated', next?.name ?? book?.name);
    c.record(inc.id, { kind: 'escalation', text: `escalated to a human: ${reason}` });
    if (!page) return;
    const pages = next?.steps.filter((s) => s.auto && s.action === 'page') ?? [];
    if (pages.length === 0) {
      const out = await this.page(c.get(inc.id), next ?? book, reason);
      c.record(inc.id, { kind: 'escalation', text: `page: ${out.message}`, result: out.ok ? 'ok' : 'error' });
    } else for (const s of pages) await this.step(c.get(inc.id), next!, s, WHO);
  }

  /** The page: a PagerDuty-Events-v2-like webhook, one dedup key per incident. */
  private async page(inc: Incident, book: Runbook | undefined, why: string): Promise<StepOutcome> {
    const p = this.o.page;
    if (p === undefined) return { ok: false, message: 'no pager configured (--page-url)' };
    const body = {
      routing_key: p.routingKey ?? 'daqops',
      event_action: 'trigger',
      dedup_key: `daqops-incident-${inc.id}`,
      payload: {
        summary: `[daqops] incident ${inc.id}: ${inc.title}`,
        source: inc.root.component.id,
        severity: inc.severity,
        component: `${inc.root.component.kind}:${inc.root.component.id}`,
        group: inc.environment ?? 'none',
        class: inc.root.name,
        custom_details: {
          why,
          runbook: book?.name,
          runbook_file: book?.file,
          signals: inc.signals.length,
          recovery: inc.recovery,
        },
      },
    };
    try {
      const r = await fetch(p.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      this.o.metrics
        ?.counter('daq_platform_pages_total')
        .labels({ result: r.ok ? 'ok' : 'error' })
        .inc();
      return r.ok
        ? { ok: true, message: `paged (dedup ${body.dedup_key})` }
        : { ok: false, message: `pager answered ${r.status}` };
    } catch (err) {
      this.o.metrics?.counter('daq_platform_pages_total').labels({ result: 'error' }).inc();
      return { ok: false, message: `pager unreachable: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}

function applies(s: RunbookStep, critical: boolean): boolean {
  return s.when === 'always' || (s.when === 'critical') === critical;
}
