/**
 * Configuration in three steps: what the user wrote (JSON/YAML, `--set path=value`) →
 * defaults applied → a validated, frozen object. Readers here name the path of a bad field.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DaqError } from '../protocol/errors.js';

export type Raw = Record<string, unknown>;

export function fail(path: string, problem: string): never {
  throw new DaqError('INVALID_CONFIG', `${path} ${problem}`, { field: path });
}

/** Reads a JSON or YAML file as a plain object. */
export function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DaqError('INVALID_CONFIG', `cannot read config file ${file}: ${(err as Error).message}`, {
      field: 'config',
      cause: err,
    });
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new DaqError(
      'INVALID_CONFIG',
      `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
      {
        field: 'config',
        cause: err,
      },
    );
  }
  return section(value ?? {}, file);
}

/** Applies `a.b.c=value` overrides (value parsed as JSON when it parses, else kept as a string). */
export function applyOverrides(raw: Raw, overrides: readonly string[]): Raw {
  const out = structuredClone(raw);
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) fail(`--set ${o}`, 'must look like path=value');
    const path = o.slice(0, eq).split('.');
    const text = o.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a plain string
    }
    let node: Raw = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Raw;
    }
    node[path[path.length - 1]!] = value;
  }
  return out;
}

export function section(value: unknown, path: string): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object');
  return value as Raw;
}

export function optionalSection(raw: Raw, key: string, path: string): Raw {
  const v = raw[key];
  return v === undefined ? {} : section(v, `${path}.${key}`);
}

export function int(raw: Raw, key: string, path: string, o: NumberOptions = {}): number {
  return numberField(raw, key, path, o, true);
}

export function num(raw: Raw, key: string, path: string, o: NumberOptions = {}): number {
  return numberField(raw, key, path, o, false);
}

interface NumberOptions {
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
}

function numberField(raw: Raw, key: string, path: string, o: NumberOptions, integer: boolean): number {
  const v = raw[key] ?? o.default;
  if (v === undefined) fail(`${path}.${key}`, 'is required');
  if (typeof v !== 'number' || !(integer ? Number.isSafeInteger(v) : Number.isFinite(v))) {
    fail(`${path}.${key}`, `must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
  }
  if (o.min !== undefined && v < o.min) fail(`${path}.${key}`, `must be ≥ ${o.min}, got ${v}`);
  if (o.max !== undefined && v > o.max) fail(`${path}.${key}`, `must be ≤ ${o.max}, got ${v}`);
  return v;
}

export function str(
  raw: Raw,
  key: string,
  path: string,
  o: { default?: string; pattern?: RegExp } = {},
): string {
  const v = raw[key] ?? o.default;
  if (v === undefined) fail(`${path}.${key}`, 'is required');
  if (typeof v !== 'string' || v === '')
    fail(`${path}.${key}`, `must be a non-empty string, got ${JSON.stringify(v)}`);
  if (o.pattern !== undefined && !o.pattern.test(v))
    fail(`${path}.${key}`, `"${v}" does not match ${String(o.pattern)}`);
  return v;
}

export function optionalStr(raw: Raw, key: string, path: string): string | undefined {
  return raw[key] === undefined ? undefined : str(raw, key, path);
}

export function oneOf<T extends string>(
  raw: Raw,
  key: string,
  path: string,
  values: readonly T[],
  dflt?: T,
): T {
  const v = raw[key] ?? dflt;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    fail(`${path}.${key}`, `must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as T;
}

export function intList(
  raw: Raw,
  key: string,
  path: string,
  o: { default?: number[]; min?: number; max?: number } = {},
): number[] {
  const v = raw[key] ?? o.default;
  if (!Array.isArray(v)) fail(`${path}.${key}`, 'must be a list of integers');
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x))
      fail(`${path}.${key}[${i}]`, `must be an integer, got ${JSON.stringify(x)}`);
    if (o.min !== undefined && x < o.min) fail(`${path}.${key}[${i}]`, `must be ≥ ${o.min}`);
    if (o.max !== undefined && x > o.max) fail(`${path}.${key}[${i}]`, `must be ≤ ${o.max}`);
    return x;
  });
}

export function bool(raw: Raw, key: string, path: string, dflt: boolean): boolean {
  const v = raw[key] ?? dflt;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Deep-freezes a validated config's plain objects and arrays (class instances keep their own rules). */
export function freeze<T>(value: T): Readonly<T> {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (Array.isArray(value) || proto === Object.prototype || proto === null) {
    for (const v of Object.values(value)) freeze(v);
    Object.freeze(value);
  }
  return value;
}
