import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, readManifests } from '../../../../agent/workloads/writer/run-store.js';
import { inspectRun } from '../../../../agent/workloads/writer/inspect.js';
import type { DaqEvent } from '../../../../protocol/events.js';
import { DaqError } from '../../../../protocol/errors.js';

function event(id: string, hits = 4): DaqEvent {
  return {
    id,
    run: 3,
    timeframe: 1,
    orbit: 40,
    bx: 100,
    tdc: 7,
    timeNs: 1000,
    chamberMask: 0xf,
    segments: [{ chamber: 0, quality: 4, timeNs: 1000 }],
    hits: Array.from({ length: hits }, (_, i) => ({
      chamber: i % 4,
      layer: 1 + (i % 4),
      cell: 3,
      timeNs: 1100 + i,
      driftNs: 100 + i,
    })),
  };
}

describe('agent/workloads/writer/run-store', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'daqops-store-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('stores chunks that read back, with a summary', () => {
    const store = new RunStore(dataDir, 3);
    store.append([event('a'), event('b', 6)]);
    store.append([event('c')]);
    const r = inspectRun(store.dir);
    assert.equal(r.chunks, 2);
    assert.equal(r.events, 3);
    assert.equal(r.hits, 14);
    assert.deepEqual(store.summary().events, 3);
    assert.deepEqual(r.occupancy[0], [4, 0, 0, 0]);
  });

  it('lets only the copy of the newest placement write the run: an older one, back from a cut-off, stores nothing more', () => {
    const old = new RunStore(dataDir, 3, { generation: 1, task: 'writer' });
    old.append([event('a')], [[1, 0, 1, '0']]);
    // The platform placed the writer anew while the old copy's node was cut off.
    const successor = new RunStore(dataDir, 3, { generation: 2, task: 'writer' });
    successor.append([event('b')], [[2, 0, 1, '0']]);
    // Healed, the old copy goes on as if nothing happened: refused, before anything is written.
    assert.throws(
      () => old.append([event('c')], [[3, 0, 1, '0']]),
      (e: unknown) =>
        e instanceof DaqError &&
        e.code === 'SUPERSEDED' &&
        /belongs to placement 2 of writer/.test(e.message),
    );
    assert.throws(() => old.markStored([[4, 0, 1, '0']]), /belongs to placement 2/);
    assert.throws(
      () => new RunStore(dataDir, 3, { generation: 1, task: 'writer' }),
      /belongs to placement 2/,
    );
    const r = inspectRun(successor.dir);
    assert.deepEqual([r.chunks, r.events, r.duplicateIds], [2, 2, 0], 'the refused chunk was never written');
    // The same placement restarted in place (the agent's restart) opens it again; a store run by hand is
    // not fenced.
    new RunStore(dataDir, 3, { generation: 2, task: 'writer' }).append([event('d')], [[5, 0, 1, '0']]);
    assert.equal(inspectRun(successor.dir).events, 3);
    assert.doesNotThrow(() => new RunStore(dataDir, 3));
  });

  it('never takes a half-written chunk as data, and remembers stored records across a restart', () => {
    const first = new RunStore(dataDir, 3);
    first.append([event('a'), event('b')], [[1, 0, 2, '0.1']]);
    // A crash mid-chunk: data files written, manifest never renamed into place.
    writeFileSync(join(first.dir, 'events-000002.arrow'), Buffer.from('partial'));
    writeFileSync(join(first.dir, 'hits-000002.arrow.tmp'), Buffer.from('partial'));
    writeFileSync(join(first.dir, 'chunk-000002.json.tmp'), '{');
    const again = new RunStore(dataDir, 3);
    assert.deepEqual(readdirSync(again.dir).sort(), [
      'chunk-000001.json',
      'events-000001.arrow',
      'hits-000001.arrow',
      'summary.json',
    ]);
    assert.equal(again.hasRecord(1, 0, '0.1'), true);
    assert.equal(again.hasRecord(1, 1, '0.1'), false, 'the other part of timeframe 1 is not stored');
    assert.equal(again.hasRecord(1, 0, '1'), false, 'timeframe 1 built from other links is another record');
    assert.equal(again.storedEvents, 2);
    again.append([event('c')], [[1, 1, 2, '0.1']]);
    assert.deepEqual(
      readManifests(again.dir).map((m) => m.chunk),
      [1, 2],
    );
    assert.ok(existsSync(join(again.dir, 'events-000002.arrow')));
    assert.equal(inspectRun(again.dir).events, 3);
  });

  it('counts a chunk whose summary a crash did not write, and keeps its records', () => {
    const first = new RunStore(dataDir, 3);
    first.append([event('a')], [[0, 0, 1, '0.1']]);
    const summaryAfterFirst = readFileSync(join(first.dir, 'summary.json'), 'utf8');
    first.append([event('b'), event('c')], [[1, 0, 1, '0.1']]);
    // The crash: the second chunk's manifest is in place, the summary still the first one's.
    writeFileSync(join(first.dir, 'summary.json'), summaryAfterFirst);
    const again = new RunStore(dataDir, 3);
    assert.equal(again.storedEvents, 3);
    assert.equal(again.hasRecord(1, 0, '0.1'), true);
    assert.equal(again.summary().events, 1, 'the summary on disk until the next chunk');
    again.append([event('d')], [[2, 0, 1, '0.1']]);
    assert.equal(again.summary().events, 4);
    assert.equal(again.summary().chunks, 3);
  });

  it('holds what it knows of its records in ranges: a run of 20,000 timeframes is one range', () => {
    const store = new RunStore(dataDir, 3);
    for (let tf = 0; tf < 20_000; tf += 100) {
      const refs: [number, number, number, string][] = [];
      for (let k = tf; k < tf + 100; k++) refs.push([k, 0, 2, '0.1'], [k, 1, 2, '0.1']);
      store.append([event(`e${tf}`, 1)], refs);
    }
    assert.deepEqual(store.recordMemory, { ranges: 1, openTimeframes: 0, legacyIds: 0 });
    const again = new RunStore(dataDir, 3);
    assert.deepEqual(again.recordMemory, { ranges: 1, openTimeframes: 0, legacyIds: 0 });
    assert.equal(again.hasRecord(19_999, 1, '0.1'), true);
    assert.equal(again.hasRecord(20_000, 0, '0.1'), false);
  });

  it('marks the empty records of timeframes without events stored, durably, with no chunk: still one range', () => {
    const store = new RunStore(dataDir, 3);
    for (let tf = 0; tf < 5_000; tf++) {
      // One timeframe in 50 built an event; the others came as one empty record each.
      if (tf % 50 === 0) store.append([event(`e${tf}`, 1)], [[tf, 0, 1, '0.1']]);
      else store.markStored([[tf, 0, 1, '0.1']]);
    }
    assert.deepEqual(store.recordMemory, { ranges: 1, openTimeframes: 0, legacyIds: 0 });
    assert.equal(readManifests(store.dir).length, 100, 'a chunk only where there were events');
    assert.equal(store.storedEvents, 100);
    const again = new RunStore(dataDir, 3);
    assert.equal(again.hasRecord(4_999, 0, '0.1'), true, 'the last empty record survives a restart');
    assert.deepEqual(again.recordMemory, { ranges: 1, openTimeframes: 0, legacyIds: 0 });
  });

  it('still reads a store of an older version (chunks without records) by event id', () => {
    const first = new RunStore(dataDir, 3);
    first.append([event('old-1'), event('old-2')]);
    // An older version's chunk: no records in the manifest, no records in the summary.
    const manifest = join(first.dir, 'chunk-000001.json');
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    delete m['records'];
    writeFileSync(manifest, JSON.stringify(m));
    const summary = JSON.parse(readFileSync(join(first.dir, 'summary.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    delete summary['records'];
    delete summary['lastChunk'];
    writeFileSync(join(first.dir, 'summary.json'), JSON.stringify(summary));
    const again = new RunStore(dataDir, 3);
    assert.equal(again.hasLegacyEvent('old-1'), true);
    assert.equal(again.storedEvents, 2);
    again.append([event('new')], [[5, 0, 1, '0.1']]);
    assert.equal(again.summary().events, 3);
  });
});
