/**
 * Hooks around transitions (AliECS integrated-service calls): at each step of a transition the hooks of
 * that trigger start in weight order; each is awaited at its `await` point (by default its own trigger),
 * within its timeout. A critical hook that fails or times out fails the transition; a non-critical one is
 * reported and ignored.
 */
import { DaqError } from '../../protocol/errors.js';
import type { EnvironmentTransition } from '../../protocol/states.js';
import { withSpan } from '../../lib/tracing.js';
import { hooksAt, type HookStep, type HookTemplate, type WorkflowTemplate } from '../workflow/template.js';
import type { ControlEvent } from './types.js';

/** Built-in hook actions (`call: { action: name }`), given by the platform. */
export type HookActions = Readonly<
  Record<
    string,
    (
      args: Readonly<Record<string, unknown>>,
      ctx: { environment: string; run: number | undefined },
    ) => Promise<unknown>
  >
>;

/**
 * A critical hook failed (HOOK_FAILED) or did not finish in its timeout (TIMEOUT): the transition fails
 * with it, and the API answers with the code's status, naming the hook in `field`.
 */
export class HookFailure extends DaqError {
  constructor(
    readonly hook: string,
    message: string,
    readonly timedOut: boolean,
    cause?: unknown,
  ) {
    super(timedOut ? 'TIMEOUT' : 'HOOK_FAILED', message, { field: `hooks.${hook}`, cause });
  }
}

export class HookRunner {
  private readonly pending = new Map<string, { hook: HookTemplate; promise: Promise<void> }[]>();

  constructor(
    private readonly template: WorkflowTemplate,
    private readonly actions: HookActions,
    private readonly emit: (e: ControlEvent) => void,
    private readonly environment: string,
  ) {}

  /** Starts this step's hooks, then awaits every hook whose await point is this step. */
  async step(step: HookStep, transition: EnvironmentTransition, run: number | undefined): Promise<void> {
    for (const h of hooksAt(this.template, step, transition)) {
      const key = `${h.await.step}_${h.await.transition}`;
      const list = this.pending.get(key) ?? [];
      list.push({ hook: h, promise: this.call(h, run) });
      this.pending.set(key, list);
    }
    const due = this.pending.get(`${step}_${transition}`) ?? [];
    this.pending.delete(`${step}_${transition}`);
    for (const { promise } of due) await promise;
  }

  private event(
    h: HookTemplate,
    status: 'STARTED' | 'DONE_OK' | 'DONE_ERROR' | 'DONE_TIMEOUT',
    error?: string,
  ): void {
    this.emit({
      kind: 'hook',
      environment: this.environment,
      hook: h.name,
      transition: h.transition,
      step: h.step,
      status,
      at: new Date().toISOString(),
      ...(error === undefined ? {} : { error }),
    });
  }

  private async call(h: HookTemplate, run: number | undefined): Promise<void> {
    this.event(h, 'STARTED');
    try {
      await withSpan(`hook ${h.name}`, { 'daq.hook': h.name, 'daq.environment': this.environment }, () =>
        withTimeout(this.invoke(h, run), h.timeoutMs, h.name),
      );
      this.event(h, 'DONE_OK');
    } catch (err) {
      const timedOut = err instanceof HookFailure && err.timedOut;
      const message = err instanceof Error ? err.message : String(err);
      this.event(h, timedOut ? 'DONE_TIMEOUT' : 'DONE_ERROR', message);
      if (h.critical)
        throw err instanceof HookFailure
          ? err
          : new HookFailure(h.name, `hook ${h.name}: ${message}`, false, err);
    }
  }

  private async invoke(h: HookTemplate, run: number | undefined): Promise<void> {
    if ('http' in h.call) {
      const { url, method, body } = h.call.http;
      const r = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'GET'
          ? {}
          : {
              body: JSON.stringify({
                environment: this.environment,
                run,
                transition: h.transition,
                step: h.step,
                ...(body === undefined ? {} : { body }),
              }),
            }),
      });
      if (!r.ok)
        throw new HookFailure(h.name, `hook ${h.name}: ${method} ${url} answered ${r.status}`, false);
      return;
    }
    const fn = this.actions[h.call.action];
    if (fn === undefined)
      throw new HookFailure(h.name, `hook ${h.name}: no built-in action "${h.call.action}"`, false);
    await fn(h.call.args, { environment: this.environment, run });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new HookFailure(name, `hook ${name} did not finish within ${ms} ms`, true)),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
