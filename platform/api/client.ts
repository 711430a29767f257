/**
 * The typed client of the platform API, for the `daqops env|run|incidents|runbook|agents` commands and
 * for anything else that drives a platform: one method per route, the platform's own view types, and
 * every refusal as a DaqError with the code the platform answered (protocol/errors.ts).
 */
import { DaqError, isErrorCode } from '../../protocol/errors.js';
import type { FaultSpec } from '../../protocol/faults.js';
import type { MaskedCell } from '../control/types.js';
import type { AlertmanagerPayload } from '../incidents/signals.js';
import type { Incident } from '../incidents/types.js';
import type { DrainResult, EnvironmentView, RunbookSummary, RunbookView } from '../platform.js';
import type { MonitoringView, RunBalanceView } from '../views.js';
import type { StepOutcome } from '../recovery/engine.js';
import type { AuditEntry, RunRecord } from '../store/store.js';
import type { VarValue } from '../workflow/template.js';
import type { AgentSummary } from './server.js';

export type { AgentSummary, EnvironmentView, Incident, RunbookView, RunRecord };

/** How long a call may take before the client gives up (a transition waits for every task). */
const CALL_TIMEOUT_MS = 300_000;

export class PlatformClient {
  constructor(
    readonly url: string,
    private readonly token: string | undefined,
  ) {}

  environments(): Promise<EnvironmentView[]> {
    return this.call('GET', '/api/v1/environments');
  }

  environment(id: string): Promise<EnvironmentView> {
    return this.call('GET', `/api/v1/environments/${encodeURIComponent(id)}`);
  }

  /** A template by name (from the platform's template directories), or its YAML text uploaded. */
  createEnvironment(
    template: { name: string } | { yaml: string },
    vars: Readonly<Record<string, VarValue>> = {},
  ): Promise<EnvironmentView> {
    return this.call('POST', '/api/v1/environments', {
      ...('name' in template ? { template: template.name } : { templateYaml: template.yaml }),
      vars,
    });
  }

  templates(): Promise<string[]> {
    return this.call('GET', '/api/v1/templates');
  }

  transition(id: string, transition: string): Promise<EnvironmentView> {
    return this.call('POST', `/api/v1/environments/${encodeURIComponent(id)}/transitions`, { transition });
  }

  injectFault(id: string, fault: Record<string, unknown>): Promise<{ fault: FaultSpec; tasks: string[] }> {
    return this.call('POST', `/api/v1/environments/${encodeURIComponent(id)}/faults`, fault);
  }

  /** The cells to mask from the environment's next CONFIGURE on (replaces the list; [] clears it). */
  setMasks(id: string, cells: readonly MaskedCell[]): Promise<EnvironmentView> {
    return this.call('POST', `/api/v1/environments/${encodeURIComponent(id)}/masks`, { cells });
  }

  agents(): Promise<AgentSummary[]> {
    return this.call('GET', '/api/v1/agents');
  }

  drainNode(node: string, reason?: string): Promise<DrainResult> {
    return this.call(
      'POST',
      `/api/v1/nodes/${encodeURIComponent(node)}/drain`,
      reason === undefined ? {} : { reason },
    );
  }

  uncordonNode(node: string, reason?: string): Promise<{ node: string; cordoned: false }> {
    return this.call(
      'POST',
      `/api/v1/nodes/${encodeURIComponent(node)}/uncordon`,
      reason === undefined ? {} : { reason },
    );
  }

  runs(): Promise<RunRecord[]> {
    return this.call('GET', '/api/v1/runs');
  }

  run(run: number | string): Promise<RunRecord> {
    return this.call('GET', `/api/v1/runs/${encodeURIComponent(String(run))}`);
  }

  /** A run's balance: the registry's, or read to now from <ns>.monitoring while the run is open. */
  runBalance(run: number | string): Promise<RunBalanceView> {
    return this.call('GET', `/api/v1/runs/${encodeURIComponent(String(run))}/balance`);
  }

  /** What the processors' monitoring aggregates say of an environment's detector. */
  monitoring(id: string): Promise<MonitoringView> {
    return this.call('GET', `/api/v1/environments/${encodeURIComponent(id)}/monitoring`);
  }

  audit(): Promise<AuditEntry[]> {
    return this.call('GET', '/api/v1/audit');
  }

  incidents(state?: string): Promise<Incident[]> {
    return this.call(
      'GET',
      `/api/v1/incidents${state === undefined ? '' : `?state=${encodeURIComponent(state)}`}`,
    );
  }

  incident(id: number | string): Promise<Incident> {
    return this.call('GET', `/api/v1/incidents/${encodeURIComponent(String(id))}`);
  }

  acknowledge(id: number | string): Promise<Incident> {
    return this.call('POST', `/api/v1/incidents/${encodeURIComponent(String(id))}/ack`);
  }

  resolve(id: number | string, note?: string): Promise<Incident> {
    return this.call(
      'POST',
      `/api/v1/incidents/${encodeURIComponent(String(id))}/resolve`,
      note === undefined ? undefined : { note },
    );
  }

  note(id: number | string, text: string): Promise<Incident> {
    return this.call('POST', `/api/v1/incidents/${encodeURIComponent(String(id))}/notes`, { text });
  }

  runStep(
    id: number,
    step: { runbook: string; step: number; outcome?: string },
  ): Promise<StepOutcome & { incident: Incident }> {
    return this.call('POST', `/api/v1/incidents/${id}/steps`, step);
  }

  /** What Alertmanager's webhook sends (drills and tests stand in for Alertmanager with it). */
  alertmanager(payload: AlertmanagerPayload): Promise<{ incidents: number[] }> {
    return this.call('POST', '/api/v1/alerts/alertmanager', payload);
  }

  runbooks(): Promise<RunbookSummary[]> {
    return this.call('GET', '/api/v1/runbooks');
  }

  runbook(name: string): Promise<RunbookView> {
    return this.call('GET', `/api/v1/runbooks/${encodeURIComponent(name)}`);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let r: Response;
    try {
      r = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new DaqError(
        timedOut ? 'TIMEOUT' : 'UNREACHABLE',
        timedOut
          ? `the platform at ${this.url} did not answer ${method} ${path} within ${CALL_TIMEOUT_MS / 1000} s`
          : `no platform answers at ${this.url}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    let json: unknown;
    try {
      json = await r.json();
    } catch (err) {
      throw new DaqError('INTERNAL', `${method} ${path}: the platform answered ${r.status} without JSON`, {
        cause: err,
      });
    }
    if (!r.ok) {
      const e = json as { code?: unknown; message?: unknown; field?: unknown };
      throw new DaqError(
        isErrorCode(e.code) ? e.code : 'INTERNAL',
        typeof e.message === 'string' ? e.message : `HTTP ${r.status}: ${JSON.stringify(json).slice(0, 500)}`,
        typeof e.field === 'string' ? { field: e.field } : {},
      );
    }
    return json as T;
  }
}
