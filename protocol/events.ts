/**
 * Built events and their wire layout on `<ns>.events` (docs/data-path.md, "Event records"): a compact
 * little-endian binary layout, `dte1`, instead of JSON — about a quarter of the bytes, and no text to parse
 * in the writer. One record holds events of one timeframe; a timeframe's events are split over as many
 * records as keep each under a byte limit, so no record grows with the data density.
 *
 * Record:  magic u32 (0x31455444, "DTE1") · run u32 · timeframe u32 · event count u32
 * Event:   orbit u32 · bx u16 · tdc u8 · reserved u8 · chamber mask u16 · segment count u16 ·
 *          hit count u32 · time ns f64 · segments · hits
 * Segment: chamber u8 · quality u8 · reserved u16 · time ns f64                     (12 bytes)
 * Hit:     chamber u8 · layer u8 · cell u8 · reserved u8 · time ns f64 · drift ns f64 (20 bytes)
 * The event id is not carried: it is derived from run, orbit, bx, tdc and chamber mask (`eventId`).
 */
import { DaqError } from './errors.js';

export interface EventHit {
  readonly chamber: number;
  readonly layer: number;
  readonly cell: number;
  readonly timeNs: number;
  readonly driftNs: number;
}

export interface EventSegment {
  readonly chamber: number;
  readonly quality: number;
  readonly timeNs: number;
}

export interface DaqEvent {
  /** Deterministic: run, crossing orbit, bx, tdc and chamber set — a replay makes the same id. */
  readonly id: string;
  readonly run: number;
  readonly timeframe: number;
  readonly orbit: number;
  readonly bx: number;
  readonly tdc: number;
  readonly timeNs: number;
  /** Bit c set when chamber c has a segment. */
  readonly chamberMask: number;
  readonly segments: EventSegment[];
  readonly hits: EventHit[];
}

export const EVENT_FORMAT = 'dte1';
/**
 * Headers of an event record beside `daq-format`: which of the timeframe's records it is, and which links
 * the timeframe was built from. A timeframe's events split the same way each time, so (run, timeframe,
 * links, part) names a record across replays.
 */
export const EVENT_PART_HEADER = 'daq-part';
export const EVENT_PARTS_HEADER = 'daq-parts';
/** The links the record's timeframe was built from, sorted, joined by `.` (`0.1`). */
export const EVENT_LINKS_HEADER = 'daq-links';
const MAGIC = 0x31455444;
const RECORD_HEADER_BYTES = 16;
const EVENT_HEADER_BYTES = 24;
const SEGMENT_BYTES = 12;
const HIT_BYTES = 20;

/** The id every stage gives an event: the same inputs make the same id, so replays deduplicate. */
export function eventId(run: number, orbit: number, bx: number, tdc: number, chamberMask: number): string {
  return `${run}-${orbit}-${bx}-${tdc}-${chamberMask.toString(16)}`;
}

/** Bytes one event takes in the layout. */
export function eventBytes(e: DaqEvent): number {
  return EVENT_HEADER_BYTES + e.segments.length * SEGMENT_BYTES + e.hits.length * HIT_BYTES;
}

/**
 * Encodes the events of one timeframe into records of at most `maxRecordBytes` each (an event larger than
 * that alone gets a record of its own, which the producer then sets aside as too large). A timeframe that
 * built no event still gets one record, empty: the writer then sees every timeframe stored, so what it
 * keeps of them is ranges without holes — bounded by what is in flight, not by how many timeframes of
 * the run had events (docs/data-path.md "Writer").
 */
export function encodeEventRecords(
  run: number,
  timeframe: number,
  events: readonly DaqEvent[],
  maxRecordBytes: number,
): Buffer[] {
  if (events.length === 0) return [encodeRecord(run, timeframe, events, 0, 0, RECORD_HEADER_BYTES)];
  const out: Buffer[] = [];
  let from = 0;
  while (from < events.length) {
    let bytes = RECORD_HEADER_BYTES;
    let to = from;
    while (to < events.length) {
      const b = eventBytes(events[to]!);
      if (to > from && bytes + b > maxRecordBytes) break;
      bytes += b;
      to++;
    }
    out.push(encodeRecord(run, timeframe, events, from, to, bytes));
    from = to;
  }
  return out;
}

function encodeRecord(
  run: number,
  timeframe: number,
  events: readonly DaqEvent[],
  from: number,
  to: number,
  bytes: number,
): Buffer {
  const buf = Buffer.allocUnsafe(bytes);
  let o = 0;
  o = buf.writeUInt32LE(MAGIC, o);
  o = buf.writeUInt32LE(run, o);
  o = buf.writeUInt32LE(timeframe, o);
  o = buf.writeUInt32LE(to - from, o);
  for (let i = from; i < to; i++) {
    const e = events[i]!;
    o = buf.writeUInt32LE(e.orbit, o);
    o = buf.writeUInt16LE(e.bx, o);
    o = buf.writeUInt8(e.tdc, o);
    o = buf.writeUInt8(0, o);
    o = buf.writeUInt16LE(e.chamberMask, o);
    o = buf.writeUInt16LE(e.segments.length, o);
    o = buf.writeUInt32LE(e.hits.length, o);
    o = buf.writeDoubleLE(e.timeNs, o);
    for (const s of e.segments) {
      o = buf.writeUInt8(s.chamber, o);
      o = buf.writeUInt8(s.quality, o);
      o = buf.writeUInt16LE(0, o);
      o = buf.writeDoubleLE(s.timeNs, o);
    }
    for (const h of e.hits) {
      o = buf.writeUInt8(h.chamber, o);
      o = buf.writeUInt8(h.layer, o);
      o = buf.writeUInt8(h.cell, o);
      o = buf.writeUInt8(0, o);
      o = buf.writeDoubleLE(h.timeNs, o);
      o = buf.writeDoubleLE(h.driftNs, o);
    }
  }
  return buf;
}

function bad(message: string): never {
  throw new DaqError('INVALID_HEADER', `event record: ${message}`, { field: 'value' });
}

/** Decodes one record; throws INVALID_HEADER naming what is wrong when the bytes are not a `dte1` record. */
export function decodeEventRecord(buf: Buffer): { run: number; timeframe: number; events: DaqEvent[] } {
  if (buf.byteLength < RECORD_HEADER_BYTES) bad(`${buf.byteLength} bytes, shorter than its header`);
  if (buf.readUInt32LE(0) !== MAGIC) bad(`magic ${buf.readUInt32LE(0).toString(16)} is not ${EVENT_FORMAT}`);
  const run = buf.readUInt32LE(4);
  const timeframe = buf.readUInt32LE(8);
  const count = buf.readUInt32LE(12);
  const events: DaqEvent[] = [];
  let o = RECORD_HEADER_BYTES;
  const need = (n: number, what: string): void => {
    if (o + n > buf.byteLength) bad(`truncated in ${what} of event ${events.length} of ${count}`);
  };
  for (let i = 0; i < count; i++) {
    need(EVENT_HEADER_BYTES, 'the header');
    const orbit = buf.readUInt32LE(o);
    const bx = buf.readUInt16LE(o + 4);
    const tdc = buf.readUInt8(o + 6);
    const chamberMask = buf.readUInt16LE(o + 8);
    const nSeg = buf.readUInt16LE(o + 10);
    const nHit = buf.readUInt32LE(o + 12);
    const timeNs = buf.readDoubleLE(o + 16);
    o += EVENT_HEADER_BYTES;
    need(nSeg * SEGMENT_BYTES + nHit * HIT_BYTES, 'segments and hits');
    const segments: EventSegment[] = [];
    for (let k = 0; k < nSeg; k++, o += SEGMENT_BYTES) {
      segments.push({
        chamber: buf.readUInt8(o),
        quality: buf.readUInt8(o + 1),
        timeNs: buf.readDoubleLE(o + 4),
      });
    }
    const hits: EventHit[] = [];
    for (let k = 0; k < nHit; k++, o += HIT_BYTES) {
      hits.push({
        chamber: buf.readUInt8(o),
        layer: buf.readUInt8(o + 1),
        cell: buf.readUInt8(o + 2),
        timeNs: buf.readDoubleLE(o + 4),
        driftNs: buf.readDoubleLE(o + 12),
      });
    }
    events.push({
      id: eventId(run, orbit, bx, tdc, chamberMask),
      run,
      timeframe,
      orbit,
      bx,
      tdc,
      timeNs,
      chamberMask,
      segments,
      hits,
    });
  }
  if (o !== buf.byteLength) bad(`${buf.byteLength - o} bytes after the last event`);
  return { run, timeframe, events };
}
