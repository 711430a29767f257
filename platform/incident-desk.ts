/**
 * The incidents and runbooks as the API, the CLI and the page see them (docs/platform.md "Parts"): what
 * people do to incidents, each audited; the Alertmanager webhook; the runbooks to read. The work is done by
 * incidents/intake.ts; this is its audited face, reached as `platform.incidents`.
 */
import type { Auditor } from './audit.js';
import type { IncidentIntake } from './incidents/intake.js';
import type { AlertmanagerPayload } from './incidents/signals.js';
import type { Incident, IncidentState, SignalInput } from './incidents/types.js';
import type { StepOutcome } from './recovery/engine.js';
import type { RunbookSummary, RunbookView } from './views.js';

export class IncidentDesk {
  constructor(
    private readonly intake: IncidentIntake,
    private readonly auditor: Auditor,
  ) {}

  list(state?: IncidentState): Incident[] {
    return this.intake.list(state);
  }

  /** One incident; NOT_FOUND when there is none. */
  get(id: number): Incident {
    return this.intake.get(id);
  }

  /** Open incidents. */
  open(): Incident[] {
    return this.intake.open();
  }

  acknowledge(id: number, who: string): Incident {
    return this.auditor.audited(who, 'incident.ack', `incident ${id}`, () => ({
      result: this.intake.acknowledge(id, who),
    }));
  }

  resolve(id: number, who: string, note?: string): Incident {
    return this.auditor.audited(who, 'incident.resolve', `incident ${id}`, () => ({
      result: this.intake.resolve(id, who, note),
      detail: note ?? '',
    }));
  }

  note(id: number, who: string, text: string): Incident {
    return this.auditor.audited(who, 'incident.note', `incident ${id}`, () => ({
      result: this.intake.note(id, who, text),
      detail: text,
    }));
  }

  /** One runbook step by hand on an incident; the recovery engine audits the action it takes. */
  step(
    id: number,
    req: { runbook: string; step: number; outcome?: string | undefined },
    who: string,
  ): Promise<StepOutcome & { incident: Incident }> {
    return this.intake.step(id, req, who);
  }

  runbooks(): RunbookSummary[] {
    return this.intake
      .runbooks()
      .map((b) => ({ name: b.name, title: b.title, matches: b.matches, steps: b.steps }));
  }

  runbook(name: string): RunbookView {
    const { file: _file, ...rest } = this.intake.runbook(name);
    return rest;
  }

  /** An Alertmanager webhook: one signal per alert, the incidents they went to. */
  alertmanager(p: AlertmanagerPayload, who: string): Promise<{ incidents: number[] }> {
    return this.auditor.auditedAsync(who, 'alerts.alertmanager', p.groupKey, async () => {
      const incidents = await this.intake.alertmanager(p);
      return {
        result: { incidents },
        detail: `${p.alerts.length} alert(s) ${p.status} → incident(s) ${incidents.join(', ') || 'none'}`,
      };
    });
  }

  /** Takes a signal into the incidents (also what tests and the hosting process feed in). */
  signal(s: SignalInput): { incident: Incident } | undefined {
    return this.intake.signal(s);
  }
}
