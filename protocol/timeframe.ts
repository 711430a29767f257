/**
 * Sub-timeframe framing (docs/data-path.md "Readout"): one Kafka message per readout link and timeframe,
 * keyed by timeframe id so all links' parts of a timeframe land on one partition. The value is the raw
 * little-endian words; everything a consumer needs to route and account for it is in headers.
 */
import { DaqError } from './errors.js';
import { WORD_BYTES } from './hit-word.js';

/** Orbits per timeframe unless configured: 32 orbits = 2.85 ms, ALICE's Run 3 choice. */
export const DEFAULT_ORBITS_PER_TIMEFRAME = 32;
export const SUBTIMEFRAME_FORMAT = 'dtw1';

export const SubTimeframeHeaders = {
  format: 'daq-format',
  run: 'daq-run',
  link: 'daq-link',
  timeframe: 'daq-timeframe',
  sequence: 'daq-sequence',
  words: 'daq-words',
  hits: 'daq-hits',
  part: 'daq-part',
  parts: 'daq-parts',
  lead: 'daq-lead',
  trail: 'daq-trail',
  overlapNs: 'daq-overlap-ns',
  traceparent: 'traceparent',
} as const;

export interface SubTimeframeHeader {
  /** Run number the data belongs to (assigned by START_ACTIVITY). */
  readonly run: number;
  /** Readout link id, unique within an environment. */
  readonly link: number;
  /** Timeframe id: floor(orbit / orbitsPerTimeframe). */
  readonly timeframe: number;
  /** Per-link message sequence, starting at 0 for a run; a gap means a lost message. */
  readonly sequence: number;
  /** 64-bit words in the value (hits + segments + anything else the link sent). */
  readonly words: number;
  /** Hit words among the main words (not lead or trail), as counted by the readout. */
  readonly hits: number;
  /** 0-based part index when a sub-timeframe is split to respect the message size limit. */
  readonly part: number;
  /** Number of parts the sub-timeframe was split into (1 when not split). */
  readonly parts: number;
  /**
   * Words at the start of the value that belong to the previous timeframe (within overlapNs of this one's
   * start) and words at its end that belong to the next one. They are context for event building only —
   * their own timeframe's message carries them as main words, where they are counted and validated.
   */
  readonly lead: number;
  readonly trail: number;
  /** How far the lead and trail context reach beyond the timeframe, in ns. */
  readonly overlapNs: number;
  /** W3C trace context of the readout span that produced this message, when sampled. */
  readonly traceparent?: string | undefined;
}

export interface SubTimeframeMessage {
  readonly key: string;
  readonly headers: Record<string, string>;
  readonly value: Buffer;
}

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

export function timeframeOfOrbit(orbit: number, orbitsPerTimeframe = DEFAULT_ORBITS_PER_TIMEFRAME): number {
  return Math.floor(orbit / orbitsPerTimeframe);
}

export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}

/** Frames one sub-timeframe. Validates the header so a bad producer fails at the source, not downstream. */
export function encodeSubTimeframe(header: SubTimeframeHeader, value: Buffer): SubTimeframeMessage {
  checkHeader(header);
  if (value.byteLength !== header.words * WORD_BYTES) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.words} says ${header.words} words but the value holds ${value.byteLength} bytes`,
      { field: SubTimeframeHeaders.words },
    );
  }
  const headers: Record<string, string> = {
    [SubTimeframeHeaders.format]: SUBTIMEFRAME_FORMAT,
    [SubTimeframeHeaders.run]: String(header.run),
    [SubTimeframeHeaders.link]: String(header.link),
    [SubTimeframeHeaders.timeframe]: String(header.timeframe),
    [SubTimeframeHeaders.sequence]: String(header.sequence),
    [SubTimeframeHeaders.words]: String(header.words),
    [SubTimeframeHeaders.hits]: String(header.hits),
    [SubTimeframeHeaders.part]: String(header.part),
    [SubTimeframeHeaders.parts]: String(header.parts),
    [SubTimeframeHeaders.lead]: String(header.lead),
    [SubTimeframeHeaders.trail]: String(header.trail),
    [SubTimeframeHeaders.overlapNs]: String(header.overlapNs),
  };
  if (header.traceparent !== undefined) headers[SubTimeframeHeaders.traceparent] = header.traceparent;
  return { key: String(header.timeframe), headers, value };
}

/**
 * Reads the header of a received sub-timeframe. Throws DaqError INVALID_HEADER naming the header that is
 * missing or malformed, so the caller can dead-letter the message with that reason.
 */
export function decodeSubTimeframe(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  value: Buffer | null,
): SubTimeframeHeader {
  const h = headers ?? {};
  const format = text(h, SubTimeframeHeaders.format);
  if (format !== SUBTIMEFRAME_FORMAT) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.format} must be "${SUBTIMEFRAME_FORMAT}", got "${format}"`,
      {
        field: SubTimeframeHeaders.format,
      },
    );
  }
  const tp =
    h[SubTimeframeHeaders.traceparent] === undefined ? undefined : text(h, SubTimeframeHeaders.traceparent);
  const header: SubTimeframeHeader = {
    run: int(h, SubTimeframeHeaders.run),
    link: int(h, SubTimeframeHeaders.link),
    timeframe: int(h, SubTimeframeHeaders.timeframe),
    sequence: int(h, SubTimeframeHeaders.sequence),
    words: int(h, SubTimeframeHeaders.words),
    hits: int(h, SubTimeframeHeaders.hits),
    part: int(h, SubTimeframeHeaders.part),
    parts: int(h, SubTimeframeHeaders.parts),
    lead: int(h, SubTimeframeHeaders.lead),
    trail: int(h, SubTimeframeHeaders.trail),
    overlapNs: int(h, SubTimeframeHeaders.overlapNs),
    traceparent: tp,
  };
  checkHeader(header);
  const bytes = value?.byteLength ?? 0;
  if (bytes !== header.words * WORD_BYTES) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.words} says ${header.words} words but the value holds ${bytes} bytes`,
      { field: SubTimeframeHeaders.words },
    );
  }
  return header;
}

function checkHeader(h: SubTimeframeHeader): void {
  for (const [field, name] of [
    ['run', SubTimeframeHeaders.run],
    ['link', SubTimeframeHeaders.link],
    ['timeframe', SubTimeframeHeaders.timeframe],
    ['sequence', SubTimeframeHeaders.sequence],
    ['words', SubTimeframeHeaders.words],
    ['hits', SubTimeframeHeaders.hits],
    ['part', SubTimeframeHeaders.part],
    ['lead', SubTimeframeHeaders.lead],
    ['trail', SubTimeframeHeaders.trail],
    ['overlapNs', SubTimeframeHeaders.overlapNs],
  ] as const) {
    const v = h[field];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new DaqError('INVALID_HEADER', `${name} must be a non-negative integer, got ${v}`, {
        field: name,
      });
    }
  }
  if (!Number.isSafeInteger(h.parts) || h.parts < 1) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.parts} must be a positive integer, got ${h.parts}`,
      {
        field: SubTimeframeHeaders.parts,
      },
    );
  }
  if (h.part >= h.parts) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.part} ${h.part} is not below ${SubTimeframeHeaders.parts} ${h.parts}`,
      {
        field: SubTimeframeHeaders.part,
      },
    );
  }
  if (h.lead + h.trail > h.words) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.lead} ${h.lead} + ${SubTimeframeHeaders.trail} ${h.trail} exceed ${SubTimeframeHeaders.words} ${h.words}`,
      { field: SubTimeframeHeaders.lead },
    );
  }
  if (h.hits > h.words - h.lead - h.trail) {
    throw new DaqError(
      'INVALID_HEADER',
      `${SubTimeframeHeaders.hits} ${h.hits} exceeds the ${h.words - h.lead - h.trail} main words`,
      {
        field: SubTimeframeHeaders.hits,
      },
    );
  }
  if (h.traceparent !== undefined && !isTraceparent(h.traceparent)) {
    throw new DaqError('INVALID_HEADER', `traceparent "${h.traceparent}" is not a W3C trace context`, {
      field: SubTimeframeHeaders.traceparent,
    });
  }
}

function text(h: Readonly<Record<string, HeaderValue>>, name: string): string {
  const raw = h[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined) throw new DaqError('INVALID_HEADER', `header ${name} is missing`, { field: name });
  return typeof v === 'string' ? v : v.toString('latin1');
}

function int(h: Readonly<Record<string, HeaderValue>>, name: string): number {
  const s = text(h, name);
  if (!/^\d{1,15}$/.test(s)) {
    throw new DaqError('INVALID_HEADER', `${name} must be a non-negative integer, got "${s}"`, {
      field: name,
    });
  }
  return Number(s);
}
