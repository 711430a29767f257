import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DaqError } from '../../../protocol/index.js';
import { ersIssueCatalogue } from '../../../protocol/ers.js';
import { metricCatalogue } from '../../../protocol/metrics.js';
import { globMatch, loadRunbooks, parseRunbook, runbookFor } from '../../../platform/runbooks/runbook.js';
import type { Incident } from '../../../platform/incidents/types.js';

/** Signal names run control emits (platform/incidents/signals.ts). */
const CONTROL_SIGNALS = [
  'TaskFailed',
  'TaskExited',
  'TransitionFailed',
  'TransitionTimeout',
  'HookFailed',
  'AgentLost',
  'KafkaUnreachable',
  'CrashLoop',
  'DataflowStalled',
  'ConsumerLagGrowing',
];

const incident = (name: string, source: 'control' | 'ers' | 'alertmanager', taskKind?: string): Incident => ({
  id: 1,
  environment: 'e',
  state: 'open',
  severity: 'error',
  root: { component: { kind: 'task', id: 't' }, signal: 'f', name, taskKind },
  title: '',
  signals: [
    {
      fingerprint: 'f',
      source,
      name,
      severity: 'error',
      environment: 'e',
      component: { kind: 'task', id: 't' },
      taskKind,
      summary: '',
      at: '',
      status: 'firing',
      point: true,
      firstSeen: '',
      lastSeen: '',
      count: 1,
      resolvedAt: undefined,
    },
  ],
  timeline: [],
  runbook: undefined,
  recovery: 'none',
  openedAt: '',
  updatedAt: '',
  acknowledgedBy: undefined,
  resolvedAt: undefined,
  resolvedBy: undefined,
});

describe('platform/runbooks', () => {
  const books = loadRunbooks('runbooks');

  it('has a runbook for everything the system detects', () => {
    assert.deepEqual(
      books.map((b) => b.name),
      [
        'AgentDown',
        'AgentLost',
        'ConsumerLagGrowing',
        'CrashLoop',
        'DataflowStalled',
        'DeadChamber',
        'DeadChannel',
        'DeadletterRate',
        'ErsFatal',
        'HitRateDrift',
        'KafkaUnreachable',
        'LayerEfficiencyLow',
        'LinkStalled',
        'MonitoringBlind',
        'NoiseRising',
        'NoisyChannel',
        'PlatformDown',
        'TaskRestarted',
        'TimeframesIncomplete',
        'TransitionSlow',
        'TransitionTimeout',
        'WorkloadCrash',
        'WriterDiskFilling',
      ],
    );
    for (const b of books) assert.ok(b.body.length > 200, `${b.name} has a body for the human`);
  });

  it('matches only ERS issues, signals and metrics that exist', () => {
    const ersNames = Object.keys(ersIssueCatalogue);
    for (const b of books) {
      for (const p of b.matches.ers)
        assert.ok(
          ersNames.some((n) => globMatch(p, n)),
          `${b.name}: ERS pattern ${p} matches a catalogued issue`,
        );
      for (const s of b.matches.signals) assert.ok(CONTROL_SIGNALS.includes(s), `${b.name}: signal ${s}`);
      for (const a of b.matches.alerts) assert.match(a, /^Daq[A-Z]\w+$/, `${b.name}: alert ${a}`);
      const text = readFileSync(b.file, 'utf8');
      for (const m of text.matchAll(/\bdaq_[a-z_]+/g))
        assert.ok(
          metricCatalogue.some((c) => c.name === m[0]),
          `${b.name} names metric ${m[0]}`,
        );
    }
  });

  it('finds the runbook for an incident by its root signal, task kinds first', () => {
    assert.equal(runbookFor(books, incident('TaskExited', 'control', 'processor'))?.name, 'WorkloadCrash');
    assert.equal(runbookFor(books, incident('daqops.agent.TaskFailed', 'ers'))?.name, 'CrashLoop');
    assert.equal(runbookFor(books, incident('DaqDeadChamber', 'alertmanager'))?.name, 'DeadChamber');
    assert.equal(runbookFor(books, incident('daqops.processor.CorruptWord', 'ers'))?.name, 'DeadletterRate');
    assert.equal(runbookFor(books, incident('SomethingElse', 'alertmanager')), undefined);
  });

  it('names the file, the path and the problem of a broken runbook', () => {
    const ok = readFileSync('runbooks/WorkloadCrash.md', 'utf8');
    const bad = (text: string, path: string, problem: RegExp) =>
      assert.throws(
        () => parseRunbook(text, 'runbooks/WorkloadCrash.md'),
        (e: unknown) =>
          e instanceof DaqError &&
          e.code === 'INVALID_RUNBOOK' &&
          e.field === path &&
          e.message.startsWith(`runbooks/WorkloadCrash.md: ${path}: `) &&
          problem.test(e.message),
      );
    bad('# no front matter', '$', /front matter/);
    bad(ok.replace('action: restart-task', 'action: reboot'), '$.steps[0].action', /not one of/);
    bad(ok.replace('name: WorkloadCrash', 'name: Other'), '$.name', /must match the file name/);
    bad(ok.replace('maxAttempts: 5', 'maxAttempts: 0'), '$.policy.maxAttempts', /integer ≥ 1/);
    bad(
      ok.replace('    when: critical\n', '    when: sometimes\n'),
      '$.steps[0].when',
      /always, critical or non-critical/,
    );
    bad(ok.replace(/matches:[\s\S]*?policy/, 'policy'), '$.matches', /at least one/);
  });
});
