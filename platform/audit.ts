/**
 * The one place audit records are written (docs/platform.md "Parts"): every state-changing call of the
 * facade and its desks, refused ones too, with who, what, on what, the result and a detail.
 */
import type { PlatformStore } from './store/store.js';

export interface AuditRecord {
  readonly who: string;
  readonly action: string;
  readonly target: string;
  readonly result: string;
  readonly detail: string;
}

export class Auditor {
  constructor(private readonly store: Pick<PlatformStore, 'audit'>) {}

  record(e: AuditRecord): void {
    this.store.audit(e);
  }

  /** Runs `f` and audits it: `ok` with its detail, or `error` with the error's message (then rethrows). */
  audited<T>(
    who: string,
    action: string,
    target: string,
    f: () => { result: T; target?: string; detail?: string },
  ): T {
    try {
      const r = f();
      this.record({ who, action, target: r.target ?? target, result: 'ok', detail: r.detail ?? '' });
      return r.result;
    } catch (err) {
      this.record({ who, action, target, result: 'error', detail: errorMessage(err) });
      throw err;
    }
  }

  async auditedAsync<T>(
    who: string,
    action: string,
    target: string,
    f: () => Promise<{ result: T; detail?: string }>,
  ): Promise<T> {
    try {
      const r = await f();
      this.record({ who, action, target, result: 'ok', detail: r.detail ?? '' });
      return r.result;
    } catch (err) {
      this.record({ who, action, target, result: 'error', detail: errorMessage(err) });
      throw err;
    }
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
