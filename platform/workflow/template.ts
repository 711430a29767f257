/**
 * Workflow templates (after AliECS): a YAML description of an environment — roles of tasks with their
 * workload, parameters, resource requests and criticality, variables, and hooks around transitions.
 *
 * Variables resolve as defaults < template `vars` < user values. `{{name}}` in a string is replaced; a
 * string that is exactly `{{name}}` takes the variable's own type (a number stays a number). Every error
 * names the file, the path inside the template and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DaqError } from '../../protocol/errors.js';
import { environmentTransitions, type EnvironmentTransition } from '../../protocol/states.js';

export type VarValue = string | number | boolean;

export interface ResourceRequest {
  readonly cores: number;
  /** NUMA node id on whichever node the task lands. */
  readonly numa?: number | undefined;
  /** Place on the node holding this device, on the device's NUMA node. */
  readonly near?: string | undefined;
  readonly memoryMiB: number;
  /** Readout links the task serves: placed on the node whose board carries them. */
  readonly links: readonly number[];
}

/**
 * Every resource a task may ask for, each of which placement honours (platform/placement/ledger.ts). A
 * field not in this list is a template error naming it: a request placement would ignore is never taken.
 */
export const RESOURCE_FIELDS = ['cores', 'memoryMiB', 'numa', 'near', 'links'] as const;

/** How a role's tasks are placed across nodes: spread (the default) or packed onto as few as fit. */
export const PLACEMENT_POLICIES = ['spread', 'pack'] as const;
export type PlacementPolicy = (typeof PLACEMENT_POLICIES)[number];

export interface TaskTemplate {
  readonly name: string;
  readonly role: string;
  /** The role's placement policy across nodes. */
  readonly placement: PlacementPolicy;
  readonly workload: string;
  readonly critical: boolean;
  readonly resources: ResourceRequest;
  /** The workload configuration, variables resolved. */
  readonly config: Readonly<Record<string, unknown>>;
}

export type HookStep = 'before' | 'after' | 'leave' | 'enter';

export interface HookTemplate {
  readonly name: string;
  readonly step: HookStep;
  readonly transition: EnvironmentTransition;
  /** Signed order among hooks of the same trigger (AliECS `after_START_ACTIVITY+10`). */
  readonly weight: number;
  /** Where the hook must have finished, e.g. `after_CONFIGURE`; default its own trigger. */
  readonly await: { readonly step: HookStep; readonly transition: EnvironmentTransition };
  readonly timeoutMs: number;
  readonly critical: boolean;
  readonly call:
    | { readonly http: { readonly url: string; readonly method: string; readonly body?: unknown } }
    | { readonly action: string; readonly args: Readonly<Record<string, unknown>> };
}

export interface WorkflowTemplate {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly vars: Readonly<Record<string, VarValue>>;
  readonly tasks: readonly TaskTemplate[];
  readonly hooks: readonly HookTemplate[];
}

const TRIGGER = /^(before|after|leave|enter)_([A-Z_]+?)([+-]\d+)?$/;
/**
 * Bounds of what a template may ask for: tasks of one environment (above the control-plane bench's 10,000,
 * far below what would exhaust the platform's memory), a node's cores, NUMA nodes, memory.
 */
export const MAX_REPLICAS = 16_384;
export const MAX_TASKS = 16_384;
const MAX_CORES = 1024;
const MAX_NUMA = 63;
const MAX_MEMORY_MIB = 4 * 1024 * 1024;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const VAR_REF = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Reads a YAML document field by field; every error names the file, the path and the problem. */
export class TemplateReader {
  constructor(
    readonly file: string,
    private readonly vars: Readonly<Record<string, VarValue>>,
    private readonly code: 'INVALID_TEMPLATE' | 'INVALID_RUNBOOK' = 'INVALID_TEMPLATE',
  ) {}

  fail(path: string, problem: string): never {
    throw new DaqError(this.code, `${this.file}: ${path}: ${problem}`, { field: path });
  }

  /** Resolves variables in every string of a value. */
  resolve(value: unknown, path: string): unknown {
    if (typeof value === 'string') {
      const whole = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(value);
      if (whole !== null) return this.lookup(whole[1]!, path);
      return value.replace(VAR_REF, (_m, name: string) => String(this.lookup(name, path)));
    }
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, `${path}[${i}]`));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, `${path}.${k}`)]));
    }
    return value;
  }

  private lookup(name: string, path: string): VarValue {
    const v = this.vars[name];
    if (v === undefined)
      this.fail(
        path,
        `variable {{${name}}} is not defined (known: ${Object.keys(this.vars).sort().join(', ') || 'none'})`,
      );
    return v;
  }

  obj(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be a mapping');
    return v as Record<string, unknown>;
  }

  list(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'must be a list');
    return v;
  }

  str(o: Record<string, unknown>, key: string, path: string, dflt?: string): string {
    const v = this.resolve(o[key] ?? dflt, `${path}.${key}`);
    if (typeof v !== 'string' || v === '')
      this.fail(`${path}.${key}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An integer in min..max: every number that sizes work has an upper bound (a typo must not size a heap). */
  int(
    o: Record<string, unknown>,
    key: string,
    path: string,
    min: number,
    dflt: number | undefined,
    max: number,
  ): number {
    let v = this.resolve(o[key] ?? dflt, `${path}.${key}`);
    if (typeof v === 'string' && /^-?\d+$/.test(v)) v = Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
      this.fail(`${path}.${key}`, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    if (v > max) this.fail(`${path}.${key}`, `must be at most ${max}, got ${v}`);
    return v;
  }

  bool(o: Record<string, unknown>, key: string, path: string, dflt: boolean): boolean {
    const v = this.resolve(o[key] ?? dflt, `${path}.${key}`);
    if (typeof v !== 'boolean')
      this.fail(`${path}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
}

function parseDuration(r: TemplateReader, v: unknown, path: string): number {
  if (typeof v === 'number' && v > 0) return v * 1000;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v) : null;
  if (m === null) r.fail(path, `must be a duration like 30s, 500ms or 2m, got ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function parseTrigger(
  r: TemplateReader,
  v: string,
  path: string,
): { step: HookStep; transition: EnvironmentTransition; weight: number } {
  const m = TRIGGER.exec(v);
  if (m === null || !(environmentTransitions as readonly string[]).includes(m[2]!)) {
    r.fail(
      path,
      `"${v}" is not a trigger like before_CONFIGURE or after_START_ACTIVITY+10 (transitions: ${environmentTransitions.join(', ')})`,
    );
  }
  return {
    step: m[1] as HookStep,
    transition: m[2] as EnvironmentTransition,
    weight: m[3] === undefined ? 0 : Number(m[3]),
  };
}

/** Parses and validates a template. `userVars` override the template's. */
export function parseTemplate(
  text: string,
  file: string,
  userVars: Readonly<Record<string, VarValue>> = {},
): WorkflowTemplate {
  let doc: unknown;
  try {
    // Warnings (an unknown directive) are not printed: errors say where, and nothing else is wrong.
    doc = parseYaml(text, { logLevel: 'error' });
  } catch (err) {
    // Where, never what: the parser's message quotes the offending line, which may hold anything.
    throw new DaqError('INVALID_TEMPLATE', `${file}: not valid YAML ${yamlWhere(err)}`, { field: 'yaml' });
  }
  const pre = new TemplateReader(file, {});
  const top = pre.obj(doc, '$');
  const vars: Record<string, VarValue> = {};
  for (const key of ['defaults', 'vars'] as const) {
    const section = top[key] === undefined ? {} : pre.obj(top[key], `$.${key}`);
    for (const [k, v] of Object.entries(section)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        pre.fail(`$.${key}.${k}`, 'must be a string, number or boolean');
      vars[k] = v as VarValue;
    }
  }
  Object.assign(vars, userVars);
  const r = new TemplateReader(file, vars);
  const name = r.str(top, 'name', '$');
  if (!NAME.test(name)) r.fail('$.name', `"${name}" must be lower-case letters, digits and dashes`);

  const tasks: TaskTemplate[] = [];
  const seen = new Set<string>();
  let tasksSoFar = 0;
  r.list(top['roles'], '$.roles').forEach((roleRaw, ri) => {
    const rp = `$.roles[${ri}]`;
    const role = r.obj(roleRaw, rp);
    const roleName = r.str(role, 'name', rp);
    const placement = r.str(role, 'placement', rp, 'spread');
    if (!(PLACEMENT_POLICIES as readonly string[]).includes(placement))
      r.fail(
        `${rp}.placement`,
        `"${placement}" is not a placement policy (${PLACEMENT_POLICIES.join(' or ')})`,
      );
    r.list(role['tasks'], `${rp}.tasks`).forEach((taskRaw, ti) => {
      const tp = `${rp}.tasks[${ti}]`;
      const t = r.obj(taskRaw, tp);
      const replicas = r.int(t, 'replicas', tp, 1, 1, MAX_REPLICAS);
      if (tasksSoFar + replicas > MAX_TASKS)
        r.fail(`${tp}.replicas`, `the environment would have more than ${MAX_TASKS} tasks`);
      tasksSoFar += replicas;
      for (let i = 0; i < replicas; i++) {
        const rr = new TemplateReader(file, { ...vars, index: i });
        const taskName = rr.str(t, 'name', tp);
        const fullName = replicas > 1 && !String(t['name']).includes('{{') ? `${taskName}-${i}` : taskName;
        if (!NAME.test(fullName))
          rr.fail(`${tp}.name`, `"${fullName}" must be lower-case letters, digits and dashes`);
        if (seen.has(fullName)) rr.fail(`${tp}.name`, `task "${fullName}" is defined twice`);
        seen.add(fullName);
        const res = t['resources'] === undefined ? {} : rr.obj(t['resources'], `${tp}.resources`);
        const rp2 = `${tp}.resources`;
        for (const key of Object.keys(res))
          if (!(RESOURCE_FIELDS as readonly string[]).includes(key))
            rr.fail(
              `${rp2}.${key}`,
              `placement cannot honour "${key}"; a task may ask for ${RESOURCE_FIELDS.join(', ')}`,
            );
        const linksRaw = rr.resolve(res['links'] ?? [], `${rp2}.links`);
        const links = rr.list(linksRaw, `${rp2}.links`).map((l, li): number => {
          if (typeof l !== 'number' || !Number.isInteger(l) || l < 0)
            rr.fail(`${rp2}.links[${li}]`, 'must be a link number');
          return l as number;
        });
        if (res['numa'] !== undefined && res['near'] !== undefined)
          rr.fail(rp2, 'give either numa or near, not both');
        tasks.push({
          name: fullName,
          role: roleName,
          placement: placement as PlacementPolicy,
          workload: rr.str(t, 'workload', tp),
          critical: rr.bool(t, 'critical', tp, true),
          resources: {
            cores: rr.int(res, 'cores', rp2, 0, 1, MAX_CORES),
            numa: res['numa'] === undefined ? undefined : rr.int(res, 'numa', rp2, 0, undefined, MAX_NUMA),
            near: res['near'] === undefined ? undefined : rr.str(res, 'near', rp2),
            memoryMiB: rr.int(res, 'memoryMiB', rp2, 0, 256, MAX_MEMORY_MIB),
            links,
          },
          config: rr.obj(rr.resolve(t['config'] ?? {}, `${tp}.config`), `${tp}.config`),
        });
      }
    });
  });
  if (tasks.length === 0) r.fail('$.roles', 'define at least one task');

  const hooks: HookTemplate[] = (top['hooks'] === undefined ? [] : r.list(top['hooks'], '$.hooks')).map(
    (hRaw, hi) => {
      const hp = `$.hooks[${hi}]`;
      const h = r.obj(hRaw, hp);
      const trig = parseTrigger(r, r.str(h, 'trigger', hp), `${hp}.trigger`);
      const awaitAt = h['await'] === undefined ? trig : parseTrigger(r, r.str(h, 'await', hp), `${hp}.await`);
      const callRaw = r.obj(r.resolve(h['call'], `${hp}.call`), `${hp}.call`);
      let call: HookTemplate['call'];
      if (callRaw['http'] !== undefined) {
        const http = r.obj(callRaw['http'], `${hp}.call.http`);
        const url = r.str(http, 'url', `${hp}.call.http`);
        if (!/^https?:\/\//.test(url)) r.fail(`${hp}.call.http.url`, `must be an http(s) URL, got "${url}"`);
        call = {
          http: {
            url,
            method: r.str(http, 'method', `${hp}.call.http`, 'POST'),
            ...(http['body'] === undefined ? {} : { body: http['body'] }),
          },
        };
      } else if (callRaw['action'] !== undefined) {
        call = {
          action: r.str(callRaw, 'action', `${hp}.call`),
          args: callRaw['args'] === undefined ? {} : r.obj(callRaw['args'], `${hp}.call.args`),
        };
      } else {
        return r.fail(`${hp}.call`, 'must have http or action');
      }
      return {
        name: r.str(h, 'name', hp),
        step: trig.step,
        transition: trig.transition,
        weight: trig.weight,
        await: { step: awaitAt.step, transition: awaitAt.transition },
        timeoutMs:
          h['timeout'] === undefined
            ? 30_000
            : parseDuration(r, r.resolve(h['timeout'], `${hp}.timeout`), `${hp}.timeout`),
        critical: r.bool(h, 'critical', hp, true),
        call,
      };
    },
  );

  return {
    name,
    description: typeof top['description'] === 'string' ? top['description'] : '',
    file,
    vars,
    tasks,
    hooks,
  };
}

/** `at line L, column C (CODE)` of a YAML parse error, without the text the parser quotes. */
export function yamlWhere(err: unknown): string {
  const e = err as { linePos?: { line: number; col: number }[]; code?: unknown };
  const pos = e.linePos?.[0];
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  return pos === undefined
    ? `(${code.trim() || 'parse error'})`
    : `at line ${pos.line}, column ${pos.col}${code}`;
}

export function loadTemplate(
  file: string,
  userVars: Readonly<Record<string, VarValue>> = {},
): WorkflowTemplate {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DaqError('INVALID_TEMPLATE', `${file}: cannot read: ${(err as Error).message}`, {
      field: 'file',
      cause: err,
    });
  }
  return parseTemplate(text, file, userVars);
}

/** `--var k=v` values: numbers and booleans as such, the rest as strings. */
export function parseVarArgs(args: readonly string[]): Record<string, VarValue> {
  const out: Record<string, VarValue> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq <= 0)
      throw new DaqError('INVALID_TEMPLATE', `--var ${a}: must look like name=value`, { field: 'var' });
    const v = a.slice(eq + 1);
    out[a.slice(0, eq)] =
      v === 'true' ? true : v === 'false' ? false : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/** Hooks of one trigger in order: weight, then name. */
export function hooksAt(
  t: WorkflowTemplate,
  step: HookStep,
  transition: EnvironmentTransition,
): HookTemplate[] {
  return t.hooks
    .filter((h) => h.step === step && h.transition === transition)
    .sort((a, b) => a.weight - b.weight || a.name.localeCompare(b.name));
}
