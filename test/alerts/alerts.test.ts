import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  alertsDir,
  amtoolCheckConfig,
  loadRules,
  metricsOfExpr,
  promtoolAvailable,
  promtoolCheckRules,
  promtoolTestRules,
  ruleFiles,
  ruleTestFiles,
} from '../../alerts/rules.js';
import { isCatalogued, metricCatalogue } from '../../protocol/metrics.js';
import { loadRunbooks } from '../../platform/runbooks/runbook.js';
import { projectRoot } from '../../lib/paths.js';

/** Series Prometheus itself exports that daqops rules may read. */
const PROMETHEUS_OWN = new Set(['up', 'prometheus_rule_evaluation_failures_total']);
const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

function catalogued(name: string): boolean {
  if (isCatalogued(name)) return true;
  const base = name.replace(HISTOGRAM_SUFFIX, '');
  return metricCatalogue.some((m) => m.name === base && m.type === 'histogram');
}

describe('alerts (Prometheus rules and Alertmanager configuration)', function () {
  this.timeout(30_000);
  const rules = loadRules();
  const runbooks = loadRunbooks(join(projectRoot(), 'runbooks'));

  before(function () {
    if (!promtoolAvailable()) {
      // .ci/run installs the prometheus package; a developer machine without it is told so.
      throw new Error('promtool not found: apt-get install prometheus prometheus-alertmanager');
    }
  });

  it('pass promtool check rules', () => {
    const r = promtoolCheckRules();
    assert.ok(r.ok, r.output);
    assert.match(r.output, /SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests', () => {
    const r = promtoolTestRules();
    assert.ok(r.ok, r.output);
    assert.doesNotMatch(r.output, /FAILED/);
  });

  it('ship an Alertmanager configuration that amtool accepts', () => {
    const r = amtoolCheckConfig();
    assert.ok(r.ok, r.output);
  });

  it('refuse a rule file that does not parse, naming it and the problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqops-rules-'));
    try {
      const bad = join(dir, 'bad.rules.yml');
      writeFileSync(
        bad,
        'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: rate(daq_readout_hits_total[5m] > 1\n',
      );
      const r = promtoolCheckRules([bad]);
      assert.equal(r.ok, false);
      assert.match(r.output, /bad\.rules\.yml/);
      assert.match(r.output, /parse error|unclosed|expected/i);
      const notYaml = join(dir, 'notyaml.rules.yml');
      writeFileSync(notYaml, 'groups: [\n');
      assert.throws(() => loadRules([notYaml]), /notyaml\.rules\.yml: not YAML/);
      const badAm = join(dir, 'alertmanager.yml');
      writeFileSync(badAm, 'route:\n  receiver: nobody\n');
      assert.equal(amtoolCheckConfig(badAm).ok, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('read only catalogued metrics, recording rules of their own, or Prometheus’ own series', () => {
    const recorded = new Set(rules.records.map((r) => r.record));
    const unknown: string[] = [];
    for (const r of [...rules.alerts, ...rules.records]) {
      for (const m of metricsOfExpr(r.expr)) {
        const ok = m.includes(':') ? recorded.has(m) : catalogued(m) || PROMETHEUS_OWN.has(m);
        if (!ok) unknown.push(`${'alert' in r ? r.alert : r.record}: ${m}`);
      }
    }
    assert.deepEqual(unknown, []);
    // The extraction itself is not vacuous: it finds the metric of a known rule.
    const stalled = rules.alerts.find((a) => a.alert === 'DaqLinkStalled');
    assert.deepEqual(metricsOfExpr(stalled!.expr).sort(), [
      'daq_dq_findings',
      'daq_platform_environment_state',
      'daq_readout_hits_total',
    ]);
  });

  it('give every alert a severity, summary, description, a for: and a runbook that matches it', () => {
    assert.ok(rules.alerts.length >= 15, `only ${rules.alerts.length} alerts`);
    const byName = new Map(runbooks.map((b) => [b.name, b]));
    for (const a of rules.alerts) {
      assert.match(a.alert, /^Daq[A-Z]\w+$/, a.alert);
      assert.ok(['critical', 'warning', 'info'].includes(a.labels['severity'] ?? ''), `${a.alert}: severity`);
      assert.ok((a.annotations['summary'] ?? '').length > 10, `${a.alert}: summary`);
      assert.ok((a.annotations['description'] ?? '').length > 10, `${a.alert}: description`);
      assert.ok(a.for !== undefined, `${a.alert}: say its for: duration, even 0m`);
      const url = a.annotations['runbook_url'] ?? '';
      const m = /^runbooks\/([A-Za-z0-9]+)\.md$/.exec(url);
      assert.ok(m, `${a.alert}: runbook_url ${url} is not runbooks/<Name>.md`);
      const book = byName.get(m[1]!);
      assert.ok(book, `${a.alert}: no runbook ${m[1]}`);
      assert.ok(book.matches.alerts.includes(a.alert), `${a.alert}: runbook ${book.name} does not match it`);
    }
  });

  it('have a rule for every alert a runbook matches', () => {
    const names = new Set(rules.alerts.map((a) => a.alert));
    const missing = runbooks.flatMap((b) =>
      b.matches.alerts.filter((a) => !names.has(a)).map((a) => `${b.name}: ${a}`),
    );
    assert.deepEqual(missing, []);
  });

  it('test every alert with a case that fires and a case that stays silent', () => {
    const fires = new Set<string>();
    const silent = new Set<string>();
    for (const f of ruleTestFiles()) {
      const doc = parseYaml(readFileSync(f, 'utf8')) as {
        rule_files: string[];
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      };
      assert.deepEqual(
        doc.rule_files.map((r) => basename(r)),
        ruleFiles().map((r) => basename(r)),
        `${f} loads the shipped rules`,
      );
      for (const t of doc.tests)
        for (const c of t.alert_rule_test ?? [])
          ((c.exp_alerts ?? []).length > 0 ? fires : silent).add(c.alertname);
    }
    const untested = rules.alerts
      .map((a) => a.alert)
      .filter((a) => !fires.has(a) || !silent.has(a))
      .map((a) => `${a}:${fires.has(a) ? '' : ' never fires'}${silent.has(a) ? '' : ' never silent'}`);
    assert.deepEqual(untested, []);
  });

  it('route every alert to the platform, grouped by environment', () => {
    const am = parseYaml(readFileSync(join(alertsDir(), 'alertmanager.yml'), 'utf8')) as {
      route: { receiver: string; group_by: string[] };
      receivers: { name: string; webhook_configs?: { url: string; send_resolved: boolean }[] }[];
    };
    assert.ok(am.route.group_by.includes('environment'));
    const receiver = am.receivers.find((r) => r.name === am.route.receiver);
    assert.match(receiver?.webhook_configs?.[0]?.url ?? '', /\/api\/v1\/alerts\/alertmanager$/);
    assert.equal(receiver?.webhook_configs?.[0]?.send_resolved, true);
  });
});
