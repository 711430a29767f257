/**
 * The platform's persistent state in SQLite (better-sqlite3, WAL): monotonic run numbers that survive
 * restarts, the run registry (template, variables, who started it, the four run times, the data-path
 * reconciliation), environments with their tasks and resource placement, and the audit log of every
 * state-changing call. Writes are synchronous and transactional: a crash never leaves half a record.
 */
import Database from 'better-sqlite3';
import type { Reconciliation } from '../../protocol/accounting.js';
import type { EnvironmentState } from '../../protocol/states.js';
import type { Incident } from '../incidents/types.js';
import type { FeedState } from '../monitoring/feed.js';

export interface RunRecord {
  readonly run: number;
  readonly environment: string;
  readonly template: string;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly startedBy: string;
  readonly start: string | null;
  readonly startCompleted: string | null;
  readonly end: string | null;
  readonly endCompleted: string | null;
  readonly reconciliation: Reconciliation | null;
}

export interface EnvironmentRecord {
  readonly id: string;
  readonly namespace: string;
  /** Where the template came from, as messages name it (`template testbed`, `uploaded template`). */
  readonly templateFile: string;
  /** The template's YAML as the environment was created from it (restored from this, not re-read). */
  readonly templateText: string | null;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly state: EnvironmentState;
  /** The transition under way when this was written (null when none): a platform killed mid-transition. */
  readonly transition: string | null;
  readonly run: number | null;
  /** The run's common clock given to its readouts (ms since the epoch), null outside a run. */
  readonly epochMs: number | null;
  /** Cells masked from the next CONFIGURE on, as JSON ([] when none). */
  readonly masks: unknown;
  /** Tasks with their node, CPUs, NUMA node and state, as JSON. */
  readonly tasks: unknown;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AuditEntry {
  readonly at: string;
  readonly who: string;
  readonly action: string;
  readonly target: string;
  readonly result: string;
  readonly detail: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  run INTEGER PRIMARY KEY, environment TEXT NOT NULL, template TEXT NOT NULL, vars TEXT NOT NULL,
  started_by TEXT NOT NULL, t_start TEXT, t_start_completed TEXT, t_end TEXT, t_end_completed TEXT,
  reconciliation TEXT);
CREATE TABLE IF NOT EXISTS environments (
  id TEXT PRIMARY KEY, namespace TEXT NOT NULL, template_file TEXT NOT NULL, vars TEXT NOT NULL,
  state TEXT NOT NULL, run INTEGER, tasks TEXT NOT NULL, created_by TEXT NOT NULL,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY, environment TEXT, state TEXT NOT NULL, severity TEXT NOT NULL,
  opened_at TEXT NOT NULL, updated_at TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (namespace TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cordons (node TEXT PRIMARY KEY, who TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT NOT NULL);
`;

export class PlatformStore {
  private readonly db: Database.Database;

  /** Opens (creating if needed) the store; `:memory:` for tests. */
  constructor(readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.migrate();
  }

  /** Columns added after the first release, for stores written by it. */
  private migrate(): void {
    const cols = this.db
      .prepare<[], { name: string }>('PRAGMA table_info(environments)')
      .all()
      .map((c) => c.name);
    if (!cols.includes('transition')) this.db.exec('ALTER TABLE environments ADD COLUMN transition TEXT');
    if (!cols.includes('template_text'))
      this.db.exec('ALTER TABLE environments ADD COLUMN template_text TEXT');
    if (!cols.includes('epoch_ms')) this.db.exec('ALTER TABLE environments ADD COLUMN epoch_ms INTEGER');
    if (!cols.includes('masks'))
      this.db.exec("ALTER TABLE environments ADD COLUMN masks TEXT NOT NULL DEFAULT '[]'");
  }

  close(): void {
    this.db.close();
  }

  /** The next run number: strictly increasing across restarts, never reused. */
  nextRun(): number {
    return this.db.transaction(() => {
      const row = this.db
        .prepare<[], { value: number }>("SELECT value FROM counters WHERE name = 'run'")
        .get();
      const next = (row?.value ?? 0) + 1;
      this.db
        .prepare(
          "INSERT INTO counters (name, value) VALUES ('run', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        )
        .run(next);
      return next;
    })();
  }

  startRun(r: {
    run: number;
    environment: string;
    template: string;
    vars: Readonly<Record<string, unknown>>;
    startedBy: string;
    start: string;
  }): void {
    this.db
      .prepare(
        'INSERT INTO runs (run, environment, template, vars, started_by, t_start) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(r.run, r.environment, r.template, JSON.stringify(r.vars), r.startedBy, r.start);
  }

  /** Records one of the run's times (start-completed, end, end-completed). */
  runTime(run: number, which: 'startCompleted' | 'end' | 'endCompleted', at: string): void {
    const column = { startCompleted: 't_start_completed', end: 't_end', endCompleted: 't_end_completed' }[
      which
    ];
    this.db.prepare(`UPDATE runs SET ${column} = ? WHERE run = ?`).run(at, run);
  }

  runReconciliation(run: number, r: Reconciliation): void {
    this.db.prepare('UPDATE runs SET reconciliation = ? WHERE run = ?').run(JSON.stringify(r), run);
  }

  /** Where the platform's read of a namespace's <ns>.monitoring ended, and its balances (monitoring/feed.ts). */
  feedState(namespace: string): FeedState | undefined {
    const row = this.db
      .prepare<[string], { state: string }>('SELECT state FROM feeds WHERE namespace = ?')
      .get(namespace);
    return row === undefined ? undefined : (JSON.parse(row.state) as FeedState);
  }

  saveFeedState(namespace: string, state: FeedState): void {
    this.db
      .prepare(
        'INSERT INTO feeds (namespace, state, updated_at) VALUES (?, ?, ?) ON CONFLICT(namespace) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
      )
      .run(namespace, JSON.stringify(state), new Date().toISOString());
  }

  /** Nodes drained (cordoned): they take no new task until uncordoned, across platform restarts. */
  cordons(): { node: string; who: string; at: string }[] {
    return this.db
      .prepare<[], { node: string; who: string; at: string }>(
        'SELECT node, who, at FROM cordons ORDER BY node',
      )
      .all();
  }

  setCordon(node: string, who: string | undefined): void {
    if (who === undefined) this.db.prepare('DELETE FROM cordons WHERE node = ?').run(node);
    else
      this.db
        .prepare('INSERT OR REPLACE INTO cordons (node, who, at) VALUES (?, ?, ?)')
        .run(node, who, new Date().toISOString());
  }

  run(run: number): RunRecord | undefined {
    const row = this.db.prepare<[number], RunRow>('SELECT * FROM runs WHERE run = ?').get(run);
    return row === undefined ? undefined : runFromRow(row);
  }

  runs(limit = 100): RunRecord[] {
    return this.db
      .prepare<[number], RunRow>('SELECT * FROM runs ORDER BY run DESC LIMIT ?')
      .all(limit)
      .map(runFromRow);
  }

  saveEnvironment(e: EnvironmentRecord): void {
    this.db
      .prepare(
        `INSERT INTO environments (id, namespace, template_file, template_text, vars, state, transition, run, epoch_ms, masks, tasks, created_by, created_at, updated_at)
         VALUES (@id, @namespace, @templateFile, @templateText, @vars, @state, @transition, @run, @epochMs, @masks, @tasks, @createdBy, @createdAt, @updatedAt)
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, transition = excluded.transition, run = excluded.run, epoch_ms = excluded.epoch_ms, masks = excluded.masks, tasks = excluded.tasks, updated_at = excluded.updated_at`,
      )
      .run({
        ...e,
        vars: JSON.stringify(e.vars),
        masks: JSON.stringify(e.masks ?? []),
        tasks: JSON.stringify(e.tasks),
      });
  }

  environments(): EnvironmentRecord[] {
    return this.db
      .prepare<[], EnvRow>('SELECT * FROM environments ORDER BY created_at')
      .all()
      .map(envFromRow);
  }

  environment(id: string): EnvironmentRecord | undefined {
    const row = this.db.prepare<[string], EnvRow>('SELECT * FROM environments WHERE id = ?').get(id);
    return row === undefined ? undefined : envFromRow(row);
  }

  /** Writes an incident whole (its signals and timeline as JSON). */
  saveIncident(i: Incident): void {
    this.saveIncidents([i]);
  }

  /** Several incidents in one transaction (an alert storm's slice: one commit, not one per incident). */
  saveIncidents(incidents: Iterable<Incident>): void {
    const upsert = this.db.prepare(
      `INSERT INTO incidents (id, environment, state, severity, opened_at, updated_at, data)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
         updated_at = excluded.updated_at, data = excluded.data`,
    );
    this.db.transaction(() => {
      for (const i of incidents)
        upsert.run(
          i.id,
          i.environment ?? null,
          i.state,
          i.severity,
          i.openedAt,
          i.updatedAt,
          JSON.stringify(i),
        );
    })();
  }

  /** Incidents, newest first; only those in `state` when given. */
  incidents(o: { state?: string; limit?: number } = {}): Incident[] {
    return this.db
      .prepare<[{ state: string | null; limit: number }], { data: string }>(
        'SELECT data FROM incidents WHERE @state IS NULL OR state = @state ORDER BY id DESC LIMIT @limit',
      )
      .all({ state: o.state ?? null, limit: o.limit ?? 200 })
      .map((r) => JSON.parse(r.data) as Incident);
  }

  incident(id: number): Incident | undefined {
    const row = this.db
      .prepare<[number], { data: string }>('SELECT data FROM incidents WHERE id = ?')
      .get(id);
    return row === undefined ? undefined : (JSON.parse(row.data) as Incident);
  }

  /** Incidents not resolved yet (taken back after a restart). */
  unresolvedIncidents(): Incident[] {
    return this.db
      .prepare<[], { data: string }>("SELECT data FROM incidents WHERE state != 'resolved' ORDER BY id")
      .all()
      .map((r) => JSON.parse(r.data) as Incident);
  }

  lastIncidentId(): number {
    return this.db.prepare<[], { id: number | null }>('SELECT MAX(id) AS id FROM incidents').get()?.id ?? 0;
  }

  audit(e: Omit<AuditEntry, 'at'> & { at?: string }): void {
    this.db
      .prepare('INSERT INTO audit (at, who, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.at ?? new Date().toISOString(), e.who, e.action, e.target, e.result, e.detail);
  }

  auditLog(limit = 200): AuditEntry[] {
    return this.db
      .prepare<[number], AuditEntry>(
        'SELECT at, who, action, target, result, detail FROM audit ORDER BY id DESC LIMIT ?',
      )
      .all(limit);
  }
}

interface RunRow {
  run: number;
  environment: string;
  template: string;
  vars: string;
  started_by: string;
  t_start: string | null;
  t_start_completed: string | null;
  t_end: string | null;
  t_end_completed: string | null;
  reconciliation: string | null;
}

interface EnvRow {
  id: string;
  namespace: string;
  template_file: string;
  template_text: string | null;
  vars: string;
  state: string;
  transition: string | null;
  run: number | null;
  epoch_ms: number | null;
  masks: string | null;
  tasks: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

function runFromRow(r: RunRow): RunRecord {
  return {
    run: r.run,
    environment: r.environment,
    template: r.template,
    vars: JSON.parse(r.vars) as Record<string, unknown>,
    startedBy: r.started_by,
    start: r.t_start,
    startCompleted: r.t_start_completed,
    end: r.t_end,
    endCompleted: r.t_end_completed,
    reconciliation: r.reconciliation === null ? null : (JSON.parse(r.reconciliation) as Reconciliation),
  };
}

function envFromRow(r: EnvRow): EnvironmentRecord {
  return {
    id: r.id,
    namespace: r.namespace,
    templateFile: r.template_file,
    templateText: r.template_text,
    vars: JSON.parse(r.vars) as Record<string, unknown>,
    state: r.state as EnvironmentState,
    transition: r.transition,
    run: r.run,
    epochMs: r.epoch_ms,
    masks: JSON.parse(r.masks ?? '[]') as unknown,
    tasks: JSON.parse(r.tasks) as unknown,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
