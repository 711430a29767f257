/**
 * Event storage per run: `runs/<run>/` holds Arrow IPC chunk files and a `summary.json`.
 *
 * Crash safety: each chunk's files are written under a `.tmp` name, fsynced and renamed; the chunk counts
 * only once its manifest `chunk-<n>.json` exists (written last, the same way). Files without a manifest
 * are leftovers of a crash and are removed on open. Event ids already stored are loaded back, so a replay
 * of the event stream stores nothing twice.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statfsSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import type { DaqEvent } from '../../../protocol/events.js';

export interface ChunkManifest {
  readonly chunk: number;
  readonly run: number;
  readonly events: number;
  readonly hits: number;
  readonly files: { readonly events: string; readonly hits: string };
  readonly bytes: number;
  readonly writtenAt: string;
}

export interface RunSummary {
  readonly run: number;
  readonly events: number;
  readonly hits: number;
  readonly chunks: number;
  readonly bytes: number;
  readonly firstEventTimeNs: number | null;
  readonly lastEventTimeNs: number | null;
  readonly updatedAt: string;
}

const CHUNK_MANIFEST = /^chunk-(\d{6})\.json$/;

export function runDir(dataDir: string, run: number): string {
  return join(dataDir, 'runs', String(run));
}

function writeAtomic(dir: string, name: string, data: Uint8Array | string): number {
  const tmp = join(dir, `${name}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The complete chunks of a run directory, in order. */
export function readManifests(dir: string): ChunkManifest[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => CHUNK_MANIFEST.test(f))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ChunkManifest);
}

export class RunStore {
  readonly dir: string;
  private readonly ids = new Set<string>();
  private chunks: ChunkManifest[];

  constructor(
    dataDir: string,
    readonly run: number,
  ) {
    this.dir = runDir(dataDir, run);
    mkdirSync(this.dir, { recursive: true });
    this.chunks = readManifests(this.dir);
    const referenced = new Set(
      this.chunks.flatMap((c) => [
        c.files.events,
        c.files.hits,
        `chunk-${String(c.chunk).padStart(6, '0')}.json`,
      ]),
    );
    // Anything else but the summary is a crash leftover: never taken as data.
    for (const f of readdirSync(this.dir))
      if (!referenced.has(f) && f !== 'summary.json') rmSync(join(this.dir, f), { force: true });
    for (const c of this.chunks) {
      const table = tableFromIPC(readFileSync(join(this.dir, c.files.events)));
      const col = table.getChild('id');
      for (let i = 0; i < table.numRows; i++) this.ids.add(String(col?.get(i)));
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get storedEvents(): number {
    return this.ids.size;
  }

  /** Stores events (already de-duplicated by the caller) as one durable chunk. */
  append(events: readonly DaqEvent[]): ChunkManifest {
    const chunk = (this.chunks.at(-1)?.chunk ?? 0) + 1;
    const tag = String(chunk).padStart(6, '0');
    const n = events.length;
    const hitsTotal = events.reduce((s, e) => s + e.hits.length, 0);
    const eventsTable = tableFromArrays({
      id: events.map((e) => e.id),
      run: Int32Array.from(events, (e) => e.run),
      timeframe: Float64Array.from(events, (e) => e.timeframe),
      orbit: Uint32Array.from(events, (e) => e.orbit),
      bx: Uint16Array.from(events, (e) => e.bx),
      tdc: Uint8Array.from(events, (e) => e.tdc),
      time_ns: Float64Array.from(events, (e) => e.timeNs),
      chamber_mask: Uint16Array.from(events, (e) => e.chamberMask),
      n_segments: Uint16Array.from(events, (e) => e.segments.length),
      n_hits: Uint16Array.from(events, (e) => e.hits.length),
    });
    const hitEvent: string[] = new Array<string>(hitsTotal);
    const chamber = new Uint8Array(hitsTotal);
    const layer = new Uint8Array(hitsTotal);
    const cell = new Uint8Array(hitsTotal);
    const time = new Float64Array(hitsTotal);
    const drift = new Float64Array(hitsTotal);
    let k = 0;
    for (const e of events) {
      for (const h of e.hits) {
        hitEvent[k] = e.id;
        chamber[k] = h.chamber;
        layer[k] = h.layer;
        cell[k] = h.cell;
        time[k] = h.timeNs;
        drift[k] = h.driftNs;
        k++;
      }
    }
    const hitsTable = tableFromArrays({
      event_id: hitEvent,
      chamber,
      layer,
      cell,
      time_ns: time,
      drift_ns: drift,
    });
    const files = { events: `events-${tag}.arrow`, hits: `hits-${tag}.arrow` };
    let bytes = writeAtomic(this.dir, files.events, tableToIPC(eventsTable, 'file'));
    bytes += writeAtomic(this.dir, files.hits, tableToIPC(hitsTable, 'file'));
    const manifest: ChunkManifest = {
      chunk,
      run: this.run,
      events: n,
      hits: hitsTotal,
      files,
      bytes,
      writtenAt: new Date().toISOString(),
    };
    // The manifest last: until it is renamed into place, the chunk does not exist.
    writeAtomic(this.dir, `chunk-${tag}.json`, `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncDir(this.dir);
    this.chunks.push(manifest);
    for (const e of events) this.ids.add(e.id);
    this.writeSummary(events);
    return manifest;
  }

  summary(): RunSummary {
    const path = join(this.dir, 'summary.json');
    return existsSync(path)
      ? (JSON.parse(readFileSync(path, 'utf8')) as RunSummary)
      : {
          run: this.run,
          events: 0,
          hits: 0,
          chunks: 0,
          bytes: 0,
          firstEventTimeNs: null,
          lastEventTimeNs: null,
          updatedAt: new Date().toISOString(),
        };
  }

  private writeSummary(latest: readonly DaqEvent[]): void {
    const before = this.summary();
    const times = latest.map((e) => e.timeNs);
    const first = Math.min(...times, before.firstEventTimeNs ?? Infinity);
    const last = Math.max(...times, before.lastEventTimeNs ?? -Infinity);
    const s: RunSummary = {
      run: this.run,
      events: this.chunks.reduce((n, c) => n + c.events, 0),
      hits: this.chunks.reduce((n, c) => n + c.hits, 0),
      chunks: this.chunks.length,
      bytes: this.chunks.reduce((n, c) => n + c.bytes, 0),
      firstEventTimeNs: Number.isFinite(first) ? first : null,
      lastEventTimeNs: Number.isFinite(last) ? last : null,
      updatedAt: new Date().toISOString(),
    };
    writeAtomic(this.dir, 'summary.json', `${JSON.stringify(s, null, 2)}\n`);
  }
}

export function diskFreeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
