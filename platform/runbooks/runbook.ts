/**
 * Runbooks: `runbooks/<Name>.md` is both the human runbook (the Markdown body) and the machine's
 * instructions (the YAML front matter): what it matches — alert names, ERS issue-name patterns, signal
 * names, task kinds — its steps, the policy its automatic steps run under, and where to escalate.
 *
 * ```yaml
 * ---
 * name: WorkloadCrash
 * title: A workload process crashed
 * matches: { signals: [TaskExited, TaskFailed], ers: ['daqops.agent.TaskExited'], taskKinds: [processor] }
 * policy: { maxAttempts: 5, windowMinutes: 30, backoffSeconds: 1 }
 * escalate: CrashLoop
 * steps:
 *   - { title: Restart the task, action: restart-task, auto: true, when: critical }
 *   - { title: Read the task's last ERS issues, action: manual }
 * ---
 * ```
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DaqError } from '../../protocol/errors.js';
import { environmentTransitions, type EnvironmentTransition } from '../../protocol/states.js';
import { TemplateReader } from '../workflow/template.js';
import type { Incident, Signal } from '../incidents/types.js';

export const runbookActions = [
  'restart-task',
  'exclude-task',
  'move-task',
  'transition',
  'page',
  'manual',
] as const;
export type RunbookAction = (typeof runbookActions)[number];

export interface RunbookStep {
  readonly title: string;
  readonly action: RunbookAction;
  /** Run by the platform on a matching incident (else only by `daqops runbook run`). */
  readonly auto: boolean;
  /** Only for critical tasks, only for non-critical ones, or always. */
  readonly when: 'always' | 'critical' | 'non-critical';
  /** For `transition`: the environment transitions to run, in order. */
  readonly transitions: readonly EnvironmentTransition[];
  /** For `manual`: what the human does. */
  readonly detail: string | undefined;
}

export interface RunbookPolicy {
  readonly maxAttempts: number;
  readonly windowMs: number;
  /** Wait before the 2nd attempt; doubles for each later one (the 1st runs at once). */
  readonly backoffMs: number;
}

export interface Runbook {
  readonly name: string;
  readonly file: string;
  readonly title: string;
  readonly matches: {
    readonly alerts: readonly string[];
    readonly ers: readonly string[];
    readonly signals: readonly string[];
    readonly taskKinds: readonly string[] | undefined;
  };
  readonly policy: RunbookPolicy;
  readonly escalate: string | undefined;
  readonly steps: readonly RunbookStep[];
  /** The Markdown body, for the human. */
  readonly body: string;
}

export const DEFAULT_POLICY: RunbookPolicy = { maxAttempts: 5, windowMs: 30 * 60_000, backoffMs: 1000 };

const NAME = /^[A-Z][A-Za-z0-9]{1,63}$/;

/** Parses one runbook; errors name the file, the path in the front matter and the problem. */
export function parseRunbook(text: string, file: string): Runbook {
  const r: TemplateReader = new TemplateReader(file, {}, 'INVALID_RUNBOOK');
  const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(text);
  if (m === null) r.fail('$', 'must start with YAML front matter between two --- lines');
  let doc: unknown;
  try {
    doc = parseYaml(m[1]!);
  } catch (err) {
    r.fail('$', `front matter is not valid YAML: ${(err as Error).message}`);
  }
  const top = r.obj(doc, '$');
  const name = r.str(top, 'name', '$');
  if (!NAME.test(name)) r.fail('$.name', `"${name}" must be a CamelCase name like WorkloadCrash`);
  if (basename(file) !== `${name}.md` && file.endsWith('.md'))
    r.fail('$.name', `"${name}" must match the file name ${basename(file)}`);
  const strings = (v: unknown, path: string): string[] =>
    v === undefined
      ? []
      : r.list(v, path).map((x, i): string => {
          if (typeof x !== 'string' || x === '') r.fail(`${path}[${i}]`, 'must be a non-empty string');
          return x;
        });
  const mt = r.obj(top['matches'] ?? {}, '$.matches');
  for (const k of Object.keys(mt))
    if (!['alerts', 'ers', 'signals', 'taskKinds'].includes(k))
      r.fail(`$.matches.${k}`, 'unknown key (alerts, ers, signals, taskKinds)');
  const matches = {
    alerts: strings(mt['alerts'], '$.matches.alerts'),
    ers: strings(mt['ers'], '$.matches.ers'),
    signals: strings(mt['signals'], '$.matches.signals'),
    taskKinds: mt['taskKinds'] === undefined ? undefined : strings(mt['taskKinds'], '$.matches.taskKinds'),
  };
  if (matches.alerts.length + matches.ers.length + matches.signals.length === 0)
    r.fail('$.matches', 'name at least one alert, ERS issue pattern or signal');
  const p = r.obj(top['policy'] ?? {}, '$.policy');
  const policy: RunbookPolicy = {
    maxAttempts: r.int(p, 'maxAttempts', '$.policy', 1, DEFAULT_POLICY.maxAttempts, 1000),
    windowMs:
      r.int(p, 'windowMinutes', '$.policy', 1, DEFAULT_POLICY.windowMs / 60_000, 7 * 24 * 60) * 60_000,
    backoffMs:
      (typeof p['backoffSeconds'] === 'number' && p['backoffSeconds'] >= 0
        ? p['backoffSeconds']
        : p['backoffSeconds'] === undefined
          ? DEFAULT_POLICY.backoffMs / 1000
          : r.fail('$.policy.backoffSeconds', 'must be a number ≥ 0')) * 1000,
  };
  const steps = r.list(top['steps'] ?? [], '$.steps').map((raw, i): RunbookStep => {
    const sp = `$.steps[${i}]`;
    const s = r.obj(raw, sp);
    const action = r.str(s, 'action', sp);
    if (!(runbookActions as readonly string[]).includes(action))
      r.fail(`${sp}.action`, `"${action}" is not one of ${runbookActions.join(', ')}`);
    const when = r.str(s, 'when', sp, 'always');
    if (!['always', 'critical', 'non-critical'].includes(when))
      r.fail(`${sp}.when`, 'must be always, critical or non-critical');
    const transitions = strings(s['transitions'], `${sp}.transitions`).map((t, ti) => {
      if (!(environmentTransitions as readonly string[]).includes(t))
        r.fail(
          `${sp}.transitions[${ti}]`,
          `"${t}" is not a transition (${environmentTransitions.join(', ')})`,
        );
      return t as EnvironmentTransition;
    });
    if (action === 'transition' && transitions.length === 0)
      r.fail(`${sp}.transitions`, 'a transition step names at least one transition');
    const auto = r.bool(s, 'auto', sp, false);
    if (auto && action === 'manual') r.fail(`${sp}.auto`, 'a manual step cannot be automatic');
    return {
      title: r.str(s, 'title', sp),
      action: action as RunbookAction,
      auto,
      when: when as RunbookStep['when'],
      transitions,
      detail: typeof s['detail'] === 'string' ? s['detail'] : undefined,
    };
  });
  if (steps.length === 0) r.fail('$.steps', 'list at least one step');
  return {
    name,
    file,
    title: r.str(top, 'title', '$'),
    matches,
    policy,
    escalate: top['escalate'] === undefined ? undefined : r.str(top, 'escalate', '$'),
    steps,
    body: m[2]!.trim(),
  };
}

/** Every runbook of a directory, checked together: names unique, escalations pointing at a runbook. */
export function loadRunbooks(dir: string): Runbook[] {
  const books = readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .sort()
    .map((f) => parseRunbook(readFileSync(join(dir, f), 'utf8'), join(dir, f)));
  const names = new Set(books.map((b) => b.name));
  for (const b of books)
    if (b.escalate !== undefined && !names.has(b.escalate))
      throw new DaqError('INVALID_RUNBOOK', `${b.file}: $.escalate: no runbook ${b.escalate}`, {
        field: '$.escalate',
      });
  return books;
}

/** `daqops.agent.*` style patterns: `*` stands for any run of characters. */
export function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(name);
}

/** Whether a runbook covers a signal (by its source's name) and task kind. */
export function matchesSignal(b: Runbook, s: Pick<Signal, 'source' | 'name' | 'taskKind'>): boolean {
  if (
    b.matches.taskKinds !== undefined &&
    (s.taskKind === undefined || !b.matches.taskKinds.includes(s.taskKind))
  )
    return false;
  if (s.source === 'alertmanager') return b.matches.alerts.includes(s.name);
  if (s.source === 'ers') return b.matches.ers.some((p) => globMatch(p, s.name));
  return b.matches.signals.includes(s.name);
}

/** Runbooks in the order they are tried: those naming task kinds first (more specific), then by name. */
function byPreference(books: readonly Runbook[]): Runbook[] {
  return [...books].sort(
    (a, b) =>
      Number(b.matches.taskKinds !== undefined) - Number(a.matches.taskKinds !== undefined) ||
      a.name.localeCompare(b.name),
  );
}

/** The runbook for one signal. */
export function runbookForSignal(
  books: readonly Runbook[],
  s: Pick<Signal, 'source' | 'name' | 'taskKind'>,
): Runbook | undefined {
  return byPreference(books).find((b) => matchesSignal(b, s));
}

/**
 * The runbook for an incident: the first that matches its root signal, else the first that matches any
 * of its signals.
 */
export function runbookFor(books: readonly Runbook[], inc: Incident): Runbook | undefined {
  const root = inc.signals.find((s) => s.fingerprint === inc.root.signal);
  return (
    (root === undefined ? undefined : runbookForSignal(books, root)) ??
    byPreference(books).find((b) => inc.signals.some((s) => matchesSignal(b, s)))
  );
}
