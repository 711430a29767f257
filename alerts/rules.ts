/**
 * The shipped Prometheus rules and Alertmanager configuration, as data: where they are, what they
 * alert on, which metrics they read, and promtool/amtool checks (used by the testbed before it starts
 * Prometheus, and by the tests). docs/alerts.md describes the rules themselves.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DaqError } from '../protocol/errors.js';
import { projectRoot } from '../lib/paths.js';

export const alertsDir = (): string => join(projectRoot(), 'alerts');
export const ruleFiles = (): string[] =>
  readdirSync(alertsDir())
    .filter((f) => f.endsWith('.rules.yml'))
    .sort()
    .map((f) => join(alertsDir(), f));
export const ruleTestFiles = (): string[] =>
  readdirSync(join(alertsDir(), 'tests'))
    .filter((f) => f.endsWith('.test.yml'))
    .sort()
    .map((f) => join(alertsDir(), 'tests', f));
export const alertmanagerConfigFile = (): string => join(alertsDir(), 'alertmanager.yml');

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly group: string;
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly group: string;
}

export interface RuleSet {
  readonly alerts: AlertRule[];
  readonly records: RecordingRule[];
}

/** Reads rule files (Prometheus' format); a file that does not parse throws naming the file. */
export function loadRules(files: readonly string[] = ruleFiles()): RuleSet {
  const alerts: AlertRule[] = [];
  const records: RecordingRule[] = [];
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new DaqError('INVALID_RULES', `${file}: not YAML: ${(err as Error).message}`, { field: file });
    }
    const groups = (doc as { groups?: unknown } | null)?.groups;
    if (!Array.isArray(groups))
      throw new DaqError('INVALID_RULES', `${file}: needs a list "groups"`, { field: `${file}:groups` });
    for (const g of groups as { name: string; rules?: Record<string, unknown>[] }[]) {
      for (const r of g.rules ?? []) {
        if (typeof r['alert'] === 'string') {
          alerts.push({
            alert: r['alert'],
            expr: String(r['expr']),
            ...(typeof r['for'] === 'string' ? { for: r['for'] } : {}),
            labels: (r['labels'] ?? {}) as Record<string, string>,
            annotations: (r['annotations'] ?? {}) as Record<string, string>,
            group: g.name,
          });
        } else if (typeof r['record'] === 'string') {
          records.push({ record: r['record'], expr: String(r['expr']), group: g.name });
        }
      }
    }
  }
  return { alerts, records };
}

const PROMQL_WORDS = new Set([
  // aggregations and their modifiers
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  // functions used by daqops rules and panels
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'predict_linear',
  'histogram_quantile',
  'absent',
  'absent_over_time',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'quantile_over_time',
  'changes',
  'resets',
  'clamp_min',
  'clamp_max',
  'abs',
  'ceil',
  'floor',
  'round',
  'time',
  'timestamp',
  'vector',
  'scalar',
  'label_replace',
  'label_join',
  'sort',
  'sort_desc',
  'inf',
  'nan',
]);

/**
 * Metric names an expression reads (series selectors), without label matchers, strings, ranges or
 * function names; recording-rule names (with a colon) included. Grafana's `$__rate_interval` and
 * other `$` variables are skipped.
 */
export function metricsOfExpr(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges and subqueries
    .replace(/\$\{?\w+\}?/g, '') // dashboard variables
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const w = m[0];
    const after = stripped.slice((m.index ?? 0) + w.length).trimStart();
    if (after.startsWith('(') && !w.includes(':')) continue; // a function call
    if (PROMQL_WORDS.has(w) || /^\d/.test(w) || /^[smhdwy]$/.test(w) || w === 'e') continue;
    names.add(w);
  }
  return [...names];
}

export interface ToolResult {
  readonly ok: boolean;
  readonly output: string;
}

function run(command: string, args: readonly string[], cwd?: string): ToolResult {
  const r = spawnSync(command, args, { encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }) });
  if (r.error !== undefined) return { ok: false, output: `${command}: ${r.error.message}` };
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

export function promtoolAvailable(): boolean {
  return spawnSync('promtool', ['--version']).error === undefined;
}

/** `promtool check rules`: the syntax and PromQL of rule files. */
export function promtoolCheckRules(files: readonly string[] = ruleFiles()): ToolResult {
  return run('promtool', ['check', 'rules', ...files]);
}

/** `promtool test rules`: the unit tests of the rules (run from the tests' directory). */
export function promtoolTestRules(files: readonly string[] = ruleTestFiles()): ToolResult {
  return run('promtool', ['test', 'rules', ...files]);
}

/** `amtool check-config`: an Alertmanager configuration. */
export function amtoolCheckConfig(file: string = alertmanagerConfigFile()): ToolResult {
  return run('amtool', ['check-config', file]);
}
