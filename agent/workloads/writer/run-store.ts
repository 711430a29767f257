/**
 * Event storage per run: `runs/<run>/` holds Arrow IPC chunk files and a `summary.json`.
 *
 * Crash safety: each chunk's files are written under a `.tmp` name, fsynced and renamed; the chunk counts
 * only once its manifest `chunk-<n>.json` exists (written last, the same way). Files without a manifest
 * are leftovers of a crash and are removed on open. Which event records are stored (stored-records.ts:
 * by timeframe and part, as ranges) is kept in the summary, written after each chunk, so a replay of the
 * event stream stores nothing twice — and what the store holds in memory, and reads on open, does not grow
 * with the run (the summary and the chunks written after it, never every chunk).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import type { DaqEvent } from '../../../protocol/events.js';
import { fsyncDir, writeAtomic } from './durable-file.js';
import { RunFence } from './fence.js';
import { StoredRecords, type StoredRecordsState } from './stored-records.js';

/**
 * An event record: its timeframe, its part of the parts the timeframe's events were split into, and the
 * links the timeframe was built from (`0.1`).
 */
export type RecordRef = readonly [timeframe: number, part: number, parts: number, links: string];

export interface ChunkManifest {
  readonly chunk: number;
  readonly run: number;
  readonly events: number;
  readonly hits: number;
  readonly files: { readonly events: string; readonly hits: string };
  readonly bytes: number;
  readonly writtenAt: string;
  /** The event records whose events this chunk holds (absent in chunks of older versions). */
  readonly records?: readonly RecordRef[];
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
  /** The last chunk the summary counts (absent in summaries of older versions). */
  readonly lastChunk?: number;
  /** The event records stored so far (absent in summaries of older versions). */
  readonly records?: StoredRecordsState;
}

const CHUNK_MANIFEST = /^chunk-(\d{6})\.json$/;

export function runDir(dataDir: string, run: number): string {
  return join(dataDir, 'runs', String(run));
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
  private readonly records: StoredRecords;
  /** Event ids of chunks written by versions that did not record their records (read on open only then). */
  private readonly legacyIds = new Set<string>();
  private totals: { events: number; hits: number; chunks: number; bytes: number };
  private lastChunk: number;
  private firstNs: number | null;
  private lastNs: number | null;

  /** Who may write the directory (fence.ts); absent: not fenced. */
  private readonly fence: RunFence | undefined;

  constructor(
    dataDir: string,
    readonly run: number,
    owner?: { readonly generation: number; readonly task: string },
  ) {
    this.dir = runDir(dataDir, run);
    mkdirSync(this.dir, { recursive: true });
    // Refused before anything is touched when a newer copy of the writer owns the run.
    this.fence = owner === undefined ? undefined : new RunFence(this.dir, owner.generation, owner.task);
    this.fence?.claim();
    // Crash leftovers are never taken as data: temporary files, and data files whose manifest is missing.
    const names = new Set(readdirSync(this.dir));
    for (const f of names) {
      const data = /^(?:events|hits)-(\d{6})\.arrow$/.exec(f);
      if (f.endsWith('.tmp') || (data !== null && !names.has(`chunk-${data[1]}.json`)))
        rmSync(join(this.dir, f), { force: true });
    }
    const saved = this.summary();
    this.records = new StoredRecords(saved.records);
    const legacy = saved.lastChunk === undefined || saved.records === undefined;
    this.totals = legacy
      ? { events: 0, hits: 0, chunks: 0, bytes: 0 }
      : { events: saved.events, hits: saved.hits, chunks: saved.chunks, bytes: saved.bytes };
    this.lastChunk = legacy ? 0 : saved.lastChunk;
    this.firstNs = saved.firstEventTimeNs;
    this.lastNs = saved.lastEventTimeNs;
    // Chunks the summary does not count: all of them for a store of an older version, else those written
    // after the last summary (a crash between a chunk's manifest and the summary).
    const later = legacy ? readManifests(this.dir) : [...this.manifestsAfter(this.lastChunk)];
    for (const c of later) {
      this.count(c);
      if (c.records !== undefined)
        for (const [tf, part, parts, links] of c.records) this.records.add(tf, part, parts, links);
      else {
        const table = tableFromIPC(readFileSync(join(this.dir, c.files.events)));
        const col = table.getChild('id');
        for (let i = 0; i < table.numRows; i++) this.legacyIds.add(String(col?.get(i)));
      }
    }
  }

  /** Whether this event record (timeframe, part, built from `links`) is stored already. */
  hasRecord(timeframe: number, part: number, links = ''): boolean {
    return this.records.has(timeframe, part, links);
  }

  /** Whether an event is stored, as far as chunks of older versions tell (newer ones go by record). */
  hasLegacyEvent(id: string): boolean {
    return this.legacyIds.has(id);
  }

  get storedEvents(): number {
    return this.totals.events;
  }

  get storedHits(): number {
    return this.totals.hits;
  }

  /**
   * Marks event records that carry no event (a timeframe that built none) as stored, durably in the
   * summary: there is no chunk to write for them, and a replay of them is then a duplicate.
   */
  markStored(records: readonly RecordRef[]): void {
    if (records.length === 0) return;
    this.fence?.check();
    for (const [tf, part, parts, links] of records) this.records.add(tf, part, parts, links);
    this.writeSummary([]);
  }

  /** What the store keeps in memory of its records: ranges and timeframes with parts missing. */
  get recordMemory(): { ranges: number; openTimeframes: number; legacyIds: number } {
    return {
      ranges: this.records.rangeCount,
      openTimeframes: this.records.openTimeframes,
      legacyIds: this.legacyIds.size,
    };
  }

  private *manifestsAfter(chunk: number): Generator<ChunkManifest> {
    for (let n = chunk + 1; ; n++) {
      const f = join(this.dir, `chunk-${String(n).padStart(6, '0')}.json`);
      if (!existsSync(f)) return;
      yield JSON.parse(readFileSync(f, 'utf8')) as ChunkManifest;
    }
  }

  private count(c: ChunkManifest): void {
    this.totals.events += c.events;
    this.totals.hits += c.hits;
    this.totals.chunks++;
    this.totals.bytes += c.bytes;
    this.lastChunk = Math.max(this.lastChunk, c.chunk);
  }

  /**
   * Stores events (already de-duplicated by the caller) as one durable chunk, with the event records they
   * came in (each record's events all in this chunk).
   */
  append(events: readonly DaqEvent[], records: readonly RecordRef[] = []): ChunkManifest {
    this.fence?.check();
    const chunk = this.lastChunk + 1;
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
      records,
    };
    // The manifest last: until it is renamed into place, the chunk does not exist.
    writeAtomic(this.dir, `chunk-${tag}.json`, `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncDir(this.dir);
    this.count(manifest);
    for (const [tf, part, parts, links] of records) this.records.add(tf, part, parts, links);
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
    for (const e of latest) {
      if (this.firstNs === null || e.timeNs < this.firstNs) this.firstNs = e.timeNs;
      if (this.lastNs === null || e.timeNs > this.lastNs) this.lastNs = e.timeNs;
    }
    const s: RunSummary = {
      run: this.run,
      ...this.totals,
      firstEventTimeNs: this.firstNs,
      lastEventTimeNs: this.lastNs,
      updatedAt: new Date().toISOString(),
      lastChunk: this.lastChunk,
      records: this.records.state(),
    };
    writeAtomic(this.dir, 'summary.json', `${JSON.stringify(s)}\n`);
  }
}

export function diskFreeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
