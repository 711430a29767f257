/**
 * Folds signals into incidents. A signal whose fingerprint is already in an unresolved incident is a
 * duplicate (counted, not repeated). Otherwise it joins the latest unresolved incident of its environment
 * that has a signal within `windowMs` on a connected component (DataflowTopology.connected), or opens a
 * new one. The root cause is the most upstream, earliest failing component; the severity the highest of
 * the signals. An incident resolves by itself when every signal with a state has resolved and its
 * recovery (if any) succeeded, after `settleMs` without news — so a crash loop stays one incident — or,
 * when it only holds point signals and nobody acted, after `quietMs` of quiet. A fault that comes back
 * within `reopenMs` of its incident resolving by itself (a broker sluggish again just after an outage,
 * an alert that flaps) reopens that incident: one incident per fault, not one per flap. One a human
 * resolved stays resolved; the fault coming back then is news.
 */
import { DaqError } from '../../protocol/errors.js';
import { JoinIndex, type SeenComponent } from './join-index.js';
import { DataflowTopology } from './topology.js';
import { label, titleOf } from './format.js';
import {
  componentKey,
  incidentSeverities,
  type Incident,
  type IncidentSeverity,
  type Signal,
  type SignalInput,
  type TimelineEntry,
} from './types.js';

export interface CorrelatorOptions {
  readonly windowMs?: number;
  readonly settleMs?: number;
  readonly quietMs?: number;
  /** How long after resolving by itself an incident is reopened by its own signal firing again (default `settleMs`). */
  readonly reopenMs?: number;
  readonly now?: () => number;
  /** The environment's dataflow now (undefined for an unknown environment). */
  readonly topology: (environment: string) => DataflowTopology | undefined;
  /** Every change of an incident (to store it, count it, act on it). */
  readonly onChange?: (incident: Incident, change: IncidentChange) => void;
  readonly firstId?: number;
}

export type IncidentChange = 'opened' | 'signal' | 'duplicate' | 'updated' | 'resolved';

export interface Ingested {
  readonly incident: Incident;
  readonly change: IncidentChange;
}

const EMPTY = new DataflowTopology('', []);

/** How long a resolved incident stays in memory (a late signal may still join it) before only the store has it. */
const RESOLVED_KEPT_MS = 3_600_000;

export class Correlator {
  /** Signals not on the root's component, per incident (kept so a join needs no recount). */
  private readonly symptoms = new Map<number, number>();
  /** Open incidents and those resolved within RESOLVED_KEPT_MS (the store keeps every one). */
  readonly incidents = new Map<number, Incident>();
  /**
   * Indexes that keep the cost of a signal independent of the incident's size (an alert storm folds
   * 10,000 signals into one incident): each signal by fingerprint, and per incident each component it
   * has signals about with when it was last seen.
   */
  private readonly byFingerprint = new Map<string, { inc: Incident; signal: Signal }>();
  private readonly components = new Map<number, Map<string, SeenComponent>>();
  /** Which incidents a new signal could join, by what its component can reach (join-index.ts). */
  private readonly joins = new JoinIndex();
  private nextId: number;
  private readonly now: () => number;

  constructor(private readonly o: CorrelatorOptions) {
    this.now = o.now ?? (() => Date.now());
    this.nextId = o.firstId ?? 1;
  }

  /** Takes back incidents from the store (platform restart). */
  load(incidents: readonly Incident[]): void {
    for (const i of incidents) {
      this.incidents.set(i.id, i);
      for (const s of i.signals) this.index(i, s, this.topologyOf(i.environment));
      this.nextId = Math.max(this.nextId, i.id + 1);
    }
  }

  open(): Incident[] {
    return [...this.incidents.values()].filter((i) => i.state !== 'resolved');
  }

  /** Takes one signal; undefined for a resolved signal nobody had seen firing. */
  ingest(s: SignalInput): Ingested | undefined {
    const at = new Date(this.now()).toISOString();
    const hit = this.byFingerprint.get(s.fingerprint);
    if (hit !== undefined && hit.inc.state !== 'resolved' && this.incidents.has(hit.inc.id)) {
      const { inc, signal: known } = hit;
      if (s.status === 'resolved') {
        if (known.status === 'resolved') return { incident: inc, change: 'duplicate' };
        known.status = 'resolved';
        known.resolvedAt = at;
        this.entry(inc, { at, kind: 'signal', text: `resolved: ${known.name} on ${label(known)}` });
        return this.changed(inc, 'signal');
      }
      known.count++;
      known.lastSeen = at;
      this.index(inc, known, this.topologyOf(inc.environment));
      if (known.status === 'resolved') {
        known.status = 'firing';
        known.resolvedAt = undefined;
        this.entry(inc, { at, kind: 'signal', text: `firing again: ${known.name} on ${label(known)}` });
        return this.changed(inc, 'signal');
      }
      return this.changed(inc, 'duplicate');
    }
    if (s.status === 'resolved') return undefined;
    if (hit !== undefined && this.reopens(hit.inc)) return this.reopen(hit.inc, hit.signal, at);
    const signal: Signal = { ...s, firstSeen: at, lastSeen: at, count: 1, resolvedAt: undefined };
    const topo = this.topologyOf(s.environment);
    const joined = this.joinable(s, topo);
    if (joined !== undefined) {
      joined.signals.push(signal);
      this.index(joined, signal, topo);
      this.entry(joined, {
        at,
        kind: 'signal',
        text: `${s.severity}: ${s.name} on ${label(s)} — ${s.summary}`,
      });
      this.rankJoined(joined, signal, topo);
      return this.changed(joined, 'signal');
    }
    const inc: Incident = {
      id: this.nextId++,
      environment: s.environment,
      state: 'open',
      severity: s.severity,
      root: { component: s.component, signal: s.fingerprint, name: s.name, taskKind: s.taskKind },
      title: '',
      signals: [signal],
      timeline: [],
      runbook: undefined,
      recovery: 'none',
      openedAt: at,
      updatedAt: at,
      acknowledgedBy: undefined,
      resolvedAt: undefined,
      resolvedBy: undefined,
    };
    this.entry(inc, { at, kind: 'signal', text: `${s.severity}: ${s.name} on ${label(s)} — ${s.summary}` });
    this.rank(inc, topo);
    this.incidents.set(inc.id, inc);
    this.index(inc, signal, topo);
    return this.changed(inc, 'opened');
  }

  /** Whether a firing signal of `inc` reopens it: it resolved by itself, within `reopenMs`, and is still held. */
  private reopens(inc: Incident): boolean {
    if (inc.state !== 'resolved' || inc.resolvedBy !== 'platform' || !this.incidents.has(inc.id))
      return false;
    return this.now() - Date.parse(inc.resolvedAt ?? '') <= (this.o.reopenMs ?? this.o.settleMs ?? 60_000);
  }

  /** Open again, its signal firing, its components joinable again as before it resolved. */
  private reopen(inc: Incident, known: Signal, at: string): Ingested {
    const after = Math.round((Date.parse(at) - Date.parse(inc.resolvedAt!)) / 1000);
    inc.state = 'open';
    inc.resolvedAt = undefined;
    inc.resolvedBy = undefined;
    known.status = 'firing';
    known.resolvedAt = undefined;
    known.count++;
    known.lastSeen = at;
    const topo = this.topologyOf(inc.environment);
    this.index(inc, known, topo);
    for (const seen of this.components.get(inc.id)?.values() ?? []) this.joins.file(inc, seen, topo);
    this.entry(inc, {
      at,
      kind: 'state',
      text: `reopened: ${known.name} on ${label(known)} fired again ${after} s after the incident resolved`,
    });
    return this.changed(inc, 'signal');
  }

  /**
   * The latest updated unresolved incident of the signal's environment with a component seen within the
   * window that is connected to the signal's. An environment-wide signal (a failed transition) joins a
   * task's incident as its symptom; a task's fault does not join an incident that only a failed
   * transition opened. Only the incidents the join index names are looked at.
   */
  private joinable(s: SignalInput, topo: DataflowTopology): Incident | undefined {
    const cutoffMs = this.now() - (this.o.windowMs ?? 120_000);
    const candidates =
      this.joins.candidates(s.environment, s.component, topo) ??
      [...this.incidents.values()].map((inc) => ({ inc, seen: this.components.get(inc.id)?.values() ?? [] }));
    let best: Incident | undefined;
    for (const { inc, seen } of candidates) {
      if (inc.state === 'resolved' || inc.environment !== s.environment) continue;
      if (best !== undefined && !updatedLater(inc, best)) continue;
      for (const x of seen)
        if (
          x.lastSeenMs >= cutoffMs &&
          (x.component.kind !== 'environment' || s.component.kind === 'environment') &&
          topo.connected(x.component, s.component)
        ) {
          best = inc;
          break;
        }
    }
    return best;
  }

  private index(inc: Incident, s: Signal, topo: DataflowTopology): void {
    this.byFingerprint.set(s.fingerprint, { inc, signal: s });
    let seen = this.components.get(inc.id);
    if (seen === undefined) this.components.set(inc.id, (seen = new Map<string, SeenComponent>()));
    const key = componentKey(s.component);
    const last = Date.parse(s.lastSeen);
    let prev = seen.get(key);
    if (prev === undefined) seen.set(key, (prev = { component: s.component, lastSeenMs: last }));
    else if (last > prev.lastSeenMs) prev.lastSeenMs = last;
    this.joins.file(inc, prev, topo);
  }

  /**
   * The root cause and title after one more signal joined: only the newcomer can displace the root, and
   * only it adds to the severity and the symptoms — no re-sort of every signal (an alert storm folds
   * thousands of signals into one incident, one at a time).
   */
  private rankJoined(inc: Incident, s: Signal, topo: DataflowTopology): void {
    const hit = this.byFingerprint.get(inc.root.signal);
    const root = hit?.inc === inc ? hit.signal : inc.signals.find((x) => x.fingerprint === inc.root.signal);
    if (
      root === undefined ||
      topo.depth(s.component) < topo.depth(root.component) ||
      (topo.depth(s.component) === topo.depth(root.component) &&
        Date.parse(s.firstSeen) < Date.parse(root.firstSeen))
    ) {
      this.rank(inc, topo);
      return;
    }
    if (incidentSeverities.indexOf(s.severity) > incidentSeverities.indexOf(inc.severity))
      inc.severity = s.severity;
    const symptoms =
      (this.symptoms.get(inc.id) ?? this.countSymptoms(inc, root)) +
      (componentKey(s.component) === componentKey(root.component) ? 0 : 1);
    this.symptoms.set(inc.id, symptoms);
    inc.title = titleOf(root, symptoms);
  }

  private countSymptoms(inc: Incident, root: Signal): number {
    // Without the newcomer (the caller adds it): every signal but the last one.
    return inc.signals.slice(0, -1).filter((x) => componentKey(x.component) !== componentKey(root.component))
      .length;
  }

  private rank(inc: Incident, topo: DataflowTopology): void {
    const ordered = [...inc.signals].sort(
      (a, b) =>
        topo.depth(a.component) - topo.depth(b.component) ||
        Date.parse(a.firstSeen) - Date.parse(b.firstSeen),
    );
    const root = ordered[0]!;
    if (root.fingerprint !== inc.root.signal) {
      const moved = inc.signals.length > 1;
      inc.root = {
        component: root.component,
        signal: root.fingerprint,
        name: root.name,
        taskKind: root.taskKind,
      };
      if (moved)
        this.entry(inc, {
          at: new Date(this.now()).toISOString(),
          kind: 'state',
          text: `root cause is now ${root.name} on ${label(root)} (more upstream)`,
        });
    }
    inc.severity = inc.signals.reduce<IncidentSeverity>(
      (m, s) => (incidentSeverities.indexOf(s.severity) > incidentSeverities.indexOf(m) ? s.severity : m),
      'info',
    );
    const symptoms = inc.signals.filter(
      (s) => componentKey(s.component) !== componentKey(root.component),
    ).length;
    this.symptoms.set(inc.id, symptoms);
    inc.title = titleOf(root, symptoms);
  }

  acknowledge(id: number, who: string): Incident {
    const inc = this.get(id);
    if (inc.state === 'open') {
      inc.state = 'acknowledged';
      inc.acknowledgedBy = who;
      this.entry(inc, { at: new Date(this.now()).toISOString(), kind: 'state', text: 'acknowledged', who });
      this.changed(inc, 'updated');
    }
    return inc;
  }

  resolve(id: number, who: string, why = 'resolved by hand'): Incident {
    const inc = this.get(id);
    if (inc.state !== 'resolved') {
      const at = new Date(this.now()).toISOString();
      inc.state = 'resolved';
      inc.resolvedAt = at;
      inc.resolvedBy = who;
      this.joins.drop(inc);
      this.entry(inc, { at, kind: 'state', text: why, who });
      this.changed(inc, 'resolved');
    }
    return inc;
  }

  note(id: number, who: string, text: string): Incident {
    const inc = this.get(id);
    this.entry(inc, { at: new Date(this.now()).toISOString(), kind: 'note', text, who });
    this.changed(inc, 'updated');
    return inc;
  }

  /** Adds an entry (an action, an escalation) and reports the change. */
  record(id: number, e: Omit<TimelineEntry, 'at'>): Incident {
    const inc = this.get(id);
    this.entry(inc, { at: new Date(this.now()).toISOString(), ...e });
    this.changed(inc, 'updated');
    return inc;
  }

  setRecovery(id: number, recovery: Incident['recovery'], runbook?: string): void {
    const inc = this.get(id);
    inc.recovery = recovery;
    if (runbook !== undefined) inc.runbook = runbook;
    this.changed(inc, 'updated');
    this.tick();
  }

  /** Resolves what has settled and forgets what was resolved long ago; call it every second or so. */
  tick(): Incident[] {
    const resolved: Incident[] = [];
    // Memory holds what may still change: the store has every incident, so a year of them is not here.
    for (const inc of this.incidents.values())
      if (inc.resolvedAt !== undefined && this.now() - Date.parse(inc.resolvedAt) > RESOLVED_KEPT_MS) {
        this.incidents.delete(inc.id);
        this.symptoms.delete(inc.id);
        this.components.delete(inc.id);
        for (const s of inc.signals)
          if (this.byFingerprint.get(s.fingerprint)?.inc === inc) this.byFingerprint.delete(s.fingerprint);
      }
    for (const inc of this.open()) {
      const settled = inc.signals.every((s) => s.point || s.status === 'resolved');
      if (!settled || (inc.recovery !== 'none' && inc.recovery !== 'succeeded')) continue;
      const last = Math.max(...inc.signals.map((s) => Date.parse(s.resolvedAt ?? s.lastSeen)));
      const stateful = inc.signals.some((s) => !s.point);
      const wait =
        inc.recovery === 'succeeded' || stateful ? (this.o.settleMs ?? 60_000) : (this.o.quietMs ?? 900_000);
      if (this.now() - last < wait) continue;
      resolved.push(
        this.resolve(
          inc.id,
          'platform',
          inc.recovery === 'succeeded'
            ? 'resolved: recovered and every signal resolved'
            : stateful
              ? 'resolved: every signal resolved'
              : `resolved: quiet for ${Math.round(wait / 1000)} s`,
        ),
      );
    }
    return resolved;
  }

  get(id: number): Incident {
    const inc = this.incidents.get(id);
    if (inc === undefined) throw new DaqError('NOT_FOUND', `no open incident ${id}`, { field: 'id' });
    return inc;
  }

  /** An incident held in memory (open, or resolved not long ago). */
  find(id: number): Incident | undefined {
    return this.incidents.get(id);
  }

  private topologyOf(env: string | undefined): DataflowTopology {
    return (env === undefined ? undefined : this.o.topology(env)) ?? EMPTY;
  }

  private entry(inc: Incident, e: TimelineEntry): void {
    inc.timeline.push(e);
    inc.updatedAt = e.at;
  }

  private changed(inc: Incident, change: IncidentChange): Ingested {
    this.o.onChange?.(inc, change);
    return { incident: inc, change };
  }
}

/** Later `updatedAt`, or the same and opened first (the order a stable sort of the open ones gives). */
function updatedLater(a: Incident, b: Incident): boolean {
  const ta = Date.parse(a.updatedAt);
  const tb = Date.parse(b.updatedAt);
  return ta > tb || (ta === tb && a.id < b.id);
}
