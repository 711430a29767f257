/**
 * Drill faults for the emulated detector (docs/data-quality.md "Drills"): what a shifter injects to
 * rehearse a runbook and what the tests use to drive every data-quality alert. The same spec comes from
 * a template (a readout's `faults`, at a second of the run), the CLI (`daqops env fault`) and the
 * platform API (`POST /api/v1/environments/:id/faults`); each is checked here, naming the field.
 *
 * - `noisy-channel`: one cell fires `rateHz` of extra noise (default 50 kHz).
 * - `dead-chamber`: a chamber gives no hit and no segment.
 * - `rate-change`: muon and/or noise rates change (every link alike, so muons stay one draw).
 * - `stalled-link`: a link's front end stops sending.
 * - `clear`: ends the faults injected so far.
 */
import { DaqError } from './errors.js';

export const faultKinds = ['noisy-channel', 'dead-chamber', 'rate-change', 'stalled-link', 'clear'] as const;
export type FaultKind = (typeof faultKinds)[number];

interface FaultTiming {
  /** When it starts: wall-clock ms (API, CLI), set by the platform so every link starts on one timeframe. */
  readonly atMs?: number;
  /** When it starts: seconds after the run's start (templates). */
  readonly atSeconds?: number;
  /** How long it lasts; absent: until cleared or the run ends. */
  readonly durationSeconds?: number;
}

export type FaultSpec = FaultTiming &
  (
    | {
        readonly kind: 'noisy-channel';
        readonly chamber: number;
        readonly layer: number;
        readonly cell: number;
        readonly rateHz: number;
      }
    | { readonly kind: 'dead-chamber'; readonly chamber: number }
    | { readonly kind: 'rate-change'; readonly muonRateHz?: number; readonly noiseRateHzPerChannel?: number }
    | { readonly kind: 'stalled-link'; readonly link: number }
    | { readonly kind: 'clear' }
  );

export interface FaultLimits {
  /** Chambers of the detector (0 … chambers − 1). */
  readonly chambers: number;
  /** Readout links that exist, when known (the environment's template). */
  readonly links?: readonly number[];
}

export const DEFAULT_NOISY_RATE_HZ = 50_000;
const CELLS = 16;
const LAYERS = 4;

function fail(field: string, problem: string): never {
  throw new DaqError('INVALID_FAULT', `${field}: ${problem}`, { field });
}

function num(raw: Record<string, unknown>, key: string, path: string, min: number, max: number): number {
  const v = raw[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${key}`, 'must be a number');
  if (v < min || v > max) fail(`${path}.${key}`, `must be in ${min}..${max}, got ${v}`);
  return v;
}

function int(raw: Record<string, unknown>, key: string, path: string, min: number, max: number): number {
  const v = num(raw, key, path, min, max);
  if (!Number.isInteger(v)) fail(`${path}.${key}`, `must be an integer, got ${v}`);
  return v;
}

/** Checks a fault from any source; throws INVALID_FAULT naming the field and the problem. */
export function parseFault(input: unknown, limits: FaultLimits, path = 'fault'): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail(path, 'must be an object');
  const raw = input as Record<string, unknown>;
  const kind = raw['kind'];
  if (typeof kind !== 'string' || !(faultKinds as readonly string[]).includes(kind))
    fail(`${path}.kind`, `unknown fault kind ${JSON.stringify(kind)} (known: ${faultKinds.join(', ')})`);
  const allowed: Record<FaultKind, string[]> = {
    'noisy-channel': ['chamber', 'layer', 'cell', 'rateHz'],
    'dead-chamber': ['chamber'],
    'rate-change': ['muonRateHz', 'noiseRateHzPerChannel'],
    'stalled-link': ['link'],
    clear: [],
  };
  const known = new Set(['kind', 'atMs', 'atSeconds', 'durationSeconds', ...allowed[kind as FaultKind]]);
  for (const k of Object.keys(raw))
    if (!known.has(k)) fail(`${path}.${k}`, `not a setting of a ${kind} fault`);
  const timing: { atMs?: number; atSeconds?: number; durationSeconds?: number } = {};
  if (raw['atMs'] !== undefined) timing.atMs = int(raw, 'atMs', path, 0, Number.MAX_SAFE_INTEGER);
  if (raw['atSeconds'] !== undefined) timing.atSeconds = num(raw, 'atSeconds', path, 0, 7 * 86_400);
  if (raw['durationSeconds'] !== undefined)
    timing.durationSeconds = num(raw, 'durationSeconds', path, 0.01, 7 * 86_400);
  const chamber = (): number => {
    const c = int(raw, 'chamber', path, 0, 15);
    if (c >= limits.chambers)
      fail(`${path}.chamber`, `no chamber ${c}: the detector has chambers 0..${limits.chambers - 1}`);
    return c;
  };
  switch (kind as FaultKind) {
    case 'noisy-channel':
      return {
        kind: 'noisy-channel',
        chamber: chamber(),
        layer: int(raw, 'layer', path, 1, LAYERS),
        cell: int(raw, 'cell', path, 1, CELLS),
        rateHz: raw['rateHz'] === undefined ? DEFAULT_NOISY_RATE_HZ : num(raw, 'rateHz', path, 1, 10_000_000),
        ...timing,
      };
    case 'dead-chamber':
      return { kind: 'dead-chamber', chamber: chamber(), ...timing };
    case 'rate-change': {
      const muon = raw['muonRateHz'] === undefined ? undefined : num(raw, 'muonRateHz', path, 0, 10_000_000);
      const noise =
        raw['noiseRateHzPerChannel'] === undefined
          ? undefined
          : num(raw, 'noiseRateHzPerChannel', path, 0, 10_000_000);
      if (muon === undefined && noise === undefined)
        fail(path, 'a rate-change needs muonRateHz or noiseRateHzPerChannel');
      return {
        kind: 'rate-change',
        ...(muon === undefined ? {} : { muonRateHz: muon }),
        ...(noise === undefined ? {} : { noiseRateHzPerChannel: noise }),
        ...timing,
      };
    }
    case 'stalled-link': {
      const link = int(raw, 'link', path, 0, 4095);
      if (limits.links !== undefined && !limits.links.includes(link))
        fail(`${path}.link`, `no link ${link}: the environment reads links ${limits.links.join(', ')}`);
      return { kind: 'stalled-link', link, ...timing };
    }
    case 'clear':
      return { kind: 'clear', ...timing };
  }
}

/** The readout link (FPGA) that reads a chamber in the testbed's channel map: two chambers a link. */
export function linkOfChamber(chamber: number): number {
  return chamber >> 1;
}

/** Which links a fault concerns: one (a chamber's, a stalled one) or all of them. */
export function faultLinks(f: FaultSpec, links: readonly number[]): number[] {
  if (f.kind === 'noisy-channel' || f.kind === 'dead-chamber') return [linkOfChamber(f.chamber)];
  if (f.kind === 'stalled-link') return [f.link];
  return [...links];
}

export function describeFault(f: FaultSpec): string {
  switch (f.kind) {
    case 'noisy-channel':
      return `noisy channel: chamber ${f.chamber} layer ${f.layer} cell ${f.cell} at ${f.rateHz} Hz`;
    case 'dead-chamber':
      return `dead chamber ${f.chamber}`;
    case 'rate-change':
      return `rate change:${f.muonRateHz === undefined ? '' : ` muons ${f.muonRateHz} Hz`}${f.noiseRateHzPerChannel === undefined ? '' : ` noise ${f.noiseRateHzPerChannel} Hz per channel`}`;
    case 'stalled-link':
      return `stalled link ${f.link}`;
    case 'clear':
      return 'clear all faults';
  }
}
