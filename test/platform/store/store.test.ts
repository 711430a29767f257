import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformStore } from '../../../platform/store/store.js';
import { reconcile } from '../../../protocol/balance.js';

describe('platform/store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('hands out run numbers that keep increasing across restarts', () => {
    const file = join(dir, 'platform.db');
    const a = new PlatformStore(file);
    assert.deepEqual([a.nextRun(), a.nextRun(), a.nextRun()], [1, 2, 3]);
    a.close();
    const b = new PlatformStore(file);
    assert.equal(b.nextRun(), 4);
    b.close();
  });

  it('keeps each run with its template, variables, starter, four times and reconciliation', () => {
    const s = new PlatformStore(join(dir, 'p.db'));
    const run = s.nextRun();
    s.startRun({
      run,
      environment: 'env-1',
      template: 'testbed',
      vars: { muonRateHz: 1000 },
      startedBy: 'shifter:alice',
      start: '2026-11-22T01:00:00.000Z',
    });
    s.runTime(run, 'startCompleted', '2026-11-22T01:00:01.000Z');
    s.runTime(run, 'end', '2026-11-22T01:10:00.000Z');
    s.runTime(run, 'endCompleted', '2026-11-22T01:10:02.000Z');
    s.runReconciliation(run, reconcile(run, []));
    const r = s.run(run)!;
    assert.equal(r.startedBy, 'shifter:alice');
    assert.deepEqual(r.vars, { muonRateHz: 1000 });
    assert.deepEqual(
      [r.start, r.startCompleted, r.end, r.endCompleted],
      [
        '2026-11-22T01:00:00.000Z',
        '2026-11-22T01:00:01.000Z',
        '2026-11-22T01:10:00.000Z',
        '2026-11-22T01:10:02.000Z',
      ],
    );
    assert.equal(r.reconciliation?.lost, 0);
    assert.deepEqual(
      s.runs().map((x) => x.run),
      [run],
    );
    assert.equal(s.run(999), undefined);
    s.close();
  });

  it('saves environments (upserting their state) and an append-only audit log', () => {
    const file = join(dir, 'p.db');
    const s = new PlatformStore(file);
    const base = {
      id: 'env-1',
      namespace: 'env-1',
      templateFile: 'template testbed',
      templateText: 'name: testbed',
      vars: {},
      transition: null,
      run: null,
      epochMs: null,
      masks: [],
      tasks: [],
      createdBy: 'expert:bob',
      createdAt: '2026-11-22T01:00:00Z',
      updatedAt: '2026-11-22T01:00:00Z',
    };
    s.saveEnvironment({ ...base, state: 'STANDBY' });
    s.saveEnvironment({
      ...base,
      state: 'CONFIGURED',
      transition: 'START_ACTIVITY',
      run: 7,
      tasks: [{ name: 'proc', node: 'n1' }],
      updatedAt: '2026-11-22T01:05:00Z',
    });
    s.audit({ who: 'expert:bob', action: 'env.transition', target: 'env-1', result: 'ok', detail: 'DEPLOY' });
    s.audit({
      who: 'viewer:eve',
      action: 'env.transition',
      target: 'env-1',
      result: 'forbidden',
      detail: 'START_ACTIVITY',
    });
    s.close();
    const again = new PlatformStore(file);
    const e = again.environment('env-1')!;
    assert.equal(e.state, 'CONFIGURED');
    assert.equal(e.transition, 'START_ACTIVITY', 'a transition under way is on record');
    assert.equal(e.run, 7);
    assert.deepEqual(e.tasks, [{ name: 'proc', node: 'n1' }]);
    assert.equal(e.createdBy, 'expert:bob');
    assert.deepEqual(
      again.auditLog().map((a) => [a.who, a.result]),
      [
        ['viewer:eve', 'forbidden'],
        ['expert:bob', 'ok'],
      ],
    );
    again.close();
  });

  it('keeps incidents whole, newest first, filtered by state', () => {
    const s = new PlatformStore(join(dir, 'p.db'));
    const inc = (id: number, state: string) =>
      ({
        id,
        state,
        severity: 'warning',
        openedAt: 'a',
        updatedAt: 'a',
        environment: 'e',
        signals: [],
      }) as never;
    s.saveIncident(inc(1, 'open'));
    s.saveIncident(inc(2, 'resolved'));
    s.saveIncident(inc(3, 'open'));
    assert.deepEqual(
      s.incidents().map((i) => i.id),
      [3, 2, 1],
    );
    assert.deepEqual(
      s.incidents({ state: 'open' }).map((i) => i.id),
      [3, 1],
    );
    assert.deepEqual(
      s.incidents({ state: 'open', limit: 1 }).map((i) => i.id),
      [3],
    );
    assert.deepEqual(
      s.unresolvedIncidents().map((i) => i.id),
      [1, 3],
    );
    assert.equal(s.lastIncidentId(), 3);
    s.close();
  });

  it('opens a store written before the transition column existed', () => {
    const file = join(dir, 'old.db');
    const old = new Database(file);
    old.exec(
      'CREATE TABLE environments (id TEXT PRIMARY KEY, namespace TEXT NOT NULL, template_file TEXT NOT NULL, vars TEXT NOT NULL, state TEXT NOT NULL, run INTEGER, tasks TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)',
    );
    old
      .prepare('INSERT INTO environments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run('e', 'e', 't.yaml', '{}', 'RUNNING', 3, '[]', 'admin', 'x', 'x');
    old.close();
    const s = new PlatformStore(file);
    assert.equal(s.environment('e')?.state, 'RUNNING');
    assert.equal(s.environment('e')?.transition, null);
    s.close();
  });
});
