/**
 * Which open incidents a new signal could join, found without looking at the others. A component of an
 * incident is filed under the keys it can be reached through, and a new signal asks only the keys that
 * could reach it, so an alert storm about 10,000 unrelated tasks costs the same per alert as a storm about
 * one link (docs/incidents.md, "Correlation"). The keys follow DataflowTopology.connected case by case:
 *
 * - Kafka reaches every task, link and node: filed under `kafka`, asked by everything.
 * - A node reaches itself (`node:N`) and the tasks on it: a task or link is filed under `on:N` for each of
 *   its tasks' nodes; a node asks `node:N` and `on:N`, a task or link asks `node:` its tasks' nodes.
 * - Tasks and links reach each other through a task in common (`task:T`), a downstream task on either
 *   side (`downstream` for the filed one; a signal with a downstream task asks `stage0` and `downstream`).
 * - A component the topology does not know reaches nothing but Kafka.
 * - The environment (and a Kafka signal, which reaches everything) are asked of every open incident of
 *   the environment: such signals are few, and they join rather than open incidents.
 *
 * The keys only narrow the search: every candidate is checked again with `connected()` on today's
 * topology before it is taken.
 */
import type { DataflowTopology } from './topology.js';
import { componentKey, type Component, type Incident } from './types.js';

/** A component of an incident with when it was last seen (shared with the correlator's own record). */
export interface SeenComponent {
  readonly component: Component;
  lastSeenMs: number;
}

type Entries = Map<number, { inc: Incident; seen: Map<string, SeenComponent> }>;

/** The keys a component of an incident is filed under. */
export function filedUnder(c: Component, topo: DataflowTopology): string[] {
  switch (c.kind) {
    case 'environment':
      return [];
    case 'kafka':
      return ['kafka'];
    case 'node':
      return [`node:${c.id}`];
    case 'task':
    case 'link': {
      const keys = new Set<string>();
      for (const t of topo.tasksOf(c)) {
        keys.add(`task:${t.name}`);
        keys.add(`on:${t.node}`);
        keys.add(t.stage > 0 ? 'downstream' : 'stage0');
      }
      return [...keys];
    }
  }
}

/** The keys that could reach `c`; `all` for a component that reaches every incident of its environment. */
export function reaching(c: Component, topo: DataflowTopology): string[] | 'all' {
  switch (c.kind) {
    case 'environment':
    case 'kafka':
      return 'all';
    case 'node':
      return ['kafka', `node:${c.id}`, `on:${c.id}`];
    case 'task':
    case 'link': {
      const keys = new Set<string>(['kafka']);
      const tasks = topo.tasksOf(c);
      for (const t of tasks) {
        keys.add(`task:${t.name}`);
        keys.add(`node:${t.node}`);
        if (t.stage > 0) keys.add('stage0');
      }
      if (tasks.length > 0) keys.add('downstream');
      return [...keys];
    }
  }
}

export class JoinIndex {
  /** environment → key → incident id → the incident and its components filed there. */
  private readonly byEnv = new Map<string, Map<string, Entries>>();
  /** The keys each incident is filed under (to take it out when it resolves). */
  private readonly keysOf = new Map<number, Set<string>>();

  /** Files one component of `inc` (call again when it is seen again: the record is shared). */
  file(inc: Incident, seen: SeenComponent, topo: DataflowTopology): void {
    const env = inc.environment ?? '';
    let keys = this.byEnv.get(env);
    if (keys === undefined) this.byEnv.set(env, (keys = new Map<string, Entries>()));
    let mine = this.keysOf.get(inc.id);
    if (mine === undefined) this.keysOf.set(inc.id, (mine = new Set()));
    for (const key of filedUnder(seen.component, topo)) {
      let entries = keys.get(key);
      if (entries === undefined) keys.set(key, (entries = new Map() as Entries));
      let entry = entries.get(inc.id);
      if (entry === undefined) entries.set(inc.id, (entry = { inc, seen: new Map() }));
      entry.seen.set(componentKey(seen.component), seen);
      mine.add(key);
    }
  }

  /** Takes an incident out (resolved: it takes no new signal). */
  drop(inc: Incident): void {
    const keys = this.byEnv.get(inc.environment ?? '');
    for (const key of this.keysOf.get(inc.id) ?? []) {
      const entries = keys?.get(key);
      entries?.delete(inc.id);
      if (entries?.size === 0) keys?.delete(key);
    }
    this.keysOf.delete(inc.id);
  }

  /**
   * The incidents filed under a key that could reach `c`, each with its components filed there;
   * undefined when `c` reaches every incident of the environment (the caller looks at all of them).
   */
  candidates(
    environment: string | undefined,
    c: Component,
    topo: DataflowTopology,
  ): Iterable<{ inc: Incident; seen: Iterable<SeenComponent> }> | undefined {
    const asked = reaching(c, topo);
    if (asked === 'all') return undefined;
    const keys = this.byEnv.get(environment ?? '');
    const found: { inc: Incident; seen: Iterable<SeenComponent> }[] = [];
    if (keys === undefined) return found;
    for (const key of asked)
      for (const { inc, seen } of keys.get(key)?.values() ?? []) found.push({ inc, seen: seen.values() });
    return found;
  }
}
