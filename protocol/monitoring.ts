/**
 * The processors' per-interval monitoring aggregate on `<ns>.monitoring` (header daq-kind: aggregate,
 * key `aggregate/<task>`): what the detector looked like over one interval of detector time — rates per
 * cell, occupancy per layer, the noise rate, the drift-time histogram and corrupt words by fault
 * (docs/data-path.md "Processor"). The platform folds them into the detector view.
 */
import { AGGREGATE_KIND, KIND_HEADER } from './accounting.js';
import { DaqError } from './errors.js';

export interface MonitoringAggregate {
  readonly kind: typeof AGGREGATE_KIND;
  readonly environment: string;
  readonly task: string;
  /** When the interval was published (ISO-8601). */
  readonly at: string;
  /** The run of the interval's latest timeframe. */
  readonly run: number;
  readonly timeframes: number;
  /** Detector time the interval covers. */
  readonly detectorSeconds: number;
  /** Hits per second of detector time per `chamber/layer/cell` (cells without hits left out). */
  readonly ratesHz: Readonly<Record<string, number>>;
  /** Hits per `chamber/layer` in the interval (layers without hits left out). */
  readonly occupancy: Readonly<Record<string, number>>;
  /** Main hits in no event, per second of detector time. */
  readonly noiseRateHz: number;
  readonly driftHistogram: {
    readonly minNs: number;
    readonly binNs: number;
    readonly counts: readonly number[];
  };
  /** Corrupt words per failing field. */
  readonly faults: Readonly<Record<string, number>>;
}

export interface EncodedAggregate {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: { readonly [KIND_HEADER]: typeof AGGREGATE_KIND };
}

export function encodeAggregate(a: MonitoringAggregate): EncodedAggregate {
  return {
    key: `aggregate/${a.task}`,
    value: Buffer.from(JSON.stringify(a)),
    headers: { [KIND_HEADER]: AGGREGATE_KIND },
  };
}

/** An aggregate read back; a value that is not one is a DaqError naming the field. */
export function decodeAggregate(value: Uint8Array): MonitoringAggregate {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch (err) {
    throw new DaqError('INVALID_RECORD', `aggregate: not JSON (${(err as Error).message})`, {
      field: 'value',
    });
  }
  const a = v as Partial<MonitoringAggregate> | null;
  const bad = (field: string, what: string): never => {
    throw new DaqError('INVALID_RECORD', `aggregate: ${field} ${what}`, { field });
  };
  if (a === null || typeof a !== 'object') return bad('value', 'is not an object');
  if (a.kind !== AGGREGATE_KIND) bad('kind', `is not "${AGGREGATE_KIND}"`);
  for (const f of ['environment', 'task', 'at'] as const)
    if (typeof a[f] !== 'string') bad(f, 'is not a string');
  for (const f of ['run', 'timeframes', 'detectorSeconds', 'noiseRateHz'] as const)
    if (typeof a[f] !== 'number' || !Number.isFinite(a[f])) bad(f, 'is not a finite number');
  for (const f of ['ratesHz', 'occupancy', 'faults'] as const) {
    const o = a[f];
    if (o === null || typeof o !== 'object') bad(f, 'is not an object');
    for (const [k, n] of Object.entries(o as object))
      if (typeof n !== 'number' || !Number.isFinite(n)) bad(`${f}.${k}`, 'is not a finite number');
  }
  const d = a.driftHistogram;
  if (d === undefined || typeof d !== 'object' || d === null)
    return bad('driftHistogram', 'is not an object');
  if (typeof d.minNs !== 'number' || typeof d.binNs !== 'number' || !(d.binNs > 0))
    bad('driftHistogram.binNs', 'is not a positive number');
  if (!Array.isArray(d.counts) || d.counts.some((n) => typeof n !== 'number'))
    bad('driftHistogram.counts', 'is not a list of numbers');
  return a as MonitoringAggregate;
}
