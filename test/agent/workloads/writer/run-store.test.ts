import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore, readManifests } from '../../../../agent/workloads/writer/run-store.js';
import { inspectRun } from '../../../../agent/workloads/writer/inspect.js';
import type { DaqEvent } from '../../../../protocol/events.js';

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

  it('never takes a half-written chunk as data, and remembers stored ids across a restart', () => {
    const first = new RunStore(dataDir, 3);
    first.append([event('a'), event('b')]);
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
    assert.equal(again.has('a'), true);
    assert.equal(again.has('z'), false);
    assert.equal(again.storedEvents, 2);
    again.append([event('c')]);
    assert.deepEqual(
      readManifests(again.dir).map((m) => m.chunk),
      [1, 2],
    );
    assert.ok(existsSync(join(again.dir, 'events-000002.arrow')));
    assert.equal(inspectRun(again.dir).events, 3);
  });
});
