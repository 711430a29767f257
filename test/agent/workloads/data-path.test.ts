import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DEADLETTER_REASON_HEADER, KafkaClient, headerText, readTopicToEnd } from '../../../lib/kafka.js';
import { bytesOfWords, topicNames, writeHitWord } from '../../../protocol/index.js';
import { DtEmulator } from '../../../agent/workloads/readout/emulator.js';
import { inspectRun } from '../../../agent/workloads/writer/inspect.js';
import { readManifests, runDir } from '../../../agent/workloads/writer/run-store.js';
import { testKafkaBrokers } from '../../helpers/kafka-fixture.js';
import { emulatorConfig, runPipeline } from '../../helpers/pipeline.js';
import {
  exited,
  spawnWorkload,
  startWorkload,
  uniqueNamespace,
  waitForDrain,
} from '../../helpers/data-path.js';

/** The emulator settings the readout workloads get below, matched by the in-memory reference pipeline. */
const EMU = { muonRateHz: 2000, noiseRateHzPerChannel: 500, seed: 7 };
const REFERENCE = {
  ...EMU,
  layerEfficiency: 0.98,
  maxAngleDeg: 20,
  chamberSpacingMm: 200,
  segmentJitterNs: 2,
};

function storedEventIds(dataDir: string, run: number): string[] {
  const dir = runDir(dataDir, run);
  const ids: string[] = [];
  for (const m of readManifests(dir)) {
    const t = tableFromIPC(readFileSync(join(dir, m.files.events)));
    const col = t.getChild('id');
    for (let i = 0; i < t.numRows; i++) ids.push(String(col?.get(i)));
  }
  return ids;
}

function readoutSettings(
  namespace: string,
  link: number,
  timeframes: number,
  extra: Record<string, unknown> = {},
) {
  return {
    namespace,
    link,
    task: `readout-${link}`,
    timeframes,
    pacing: 'max',
    'source.muonRateHz': EMU.muonRateHz,
    'source.noiseRateHzPerChannel': EMU.noiseRateHzPerChannel,
    'source.seed': EMU.seed,
    ...extra,
  };
}

describe('data path through a real Kafka broker', function () {
  this.timeout(180_000);
  let brokers: readonly string[];
  let dataDir: string;

  before(async () => {
    brokers = await testKafkaBrokers();
    dataDir = mkdtempSync(join(tmpdir(), 'daqops-data-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('turns emulated muons into stored events with hits in ≥ 3 chambers, the same as the reference, lost = 0', async () => {
    const ns = uniqueNamespace('dp');
    const processor = startWorkload('processor', brokers, { namespace: ns, task: 'processor-0' });
    const writer = startWorkload('writer', brokers, { namespace: ns, dataDir, flushIntervalMs: 200 });
    const timeframes = 150;
    // Link 1 with a small message limit: its sub-timeframes travel split into parts.
    const limits = [{}, { maxMessageBytes: 1024 }];
    await Promise.all(
      [0, 1].map(
        (link) => startWorkload('readout', brokers, readoutSettings(ns, link, timeframes, limits[link])).done,
      ),
    );
    const r = await waitForDrain(brokers, ns, 1);
    await Promise.all([processor.stop(), writer.stop()]);

    assert.equal(r.lost, 0);
    assert.equal(r.processed.corrupt, 0);
    assert.equal(r.incompleteTimeframes, 0);
    assert.equal(r.timeframes, timeframes);
    assert.ok(r.produced.messages > 2 * timeframes, 'link 1 should have split its sub-timeframes');
    const reference = runPipeline(timeframes, REFERENCE);
    const expected = reference.results.flatMap((x) => x.events.map((e) => e.id)).sort();
    const stored = storedEventIds(dataDir, 1);
    assert.equal(new Set(stored).size, stored.length, 'duplicate event ids stored');
    assert.deepEqual([...stored].sort(), expected, 'stored events differ from the in-memory reference');
    const inspection = inspectRun(runDir(dataDir, 1));
    assert.ok(inspection.events > 300);
    for (const chambers of Object.keys(inspection.chambersPerEvent))
      assert.ok(Number(chambers) >= 3, `an event with ${chambers} chambers`);
    const hits = tableFromIPC(
      readFileSync(join(runDir(dataDir, 1), readManifests(runDir(dataDir, 1))[0]!.files.hits)),
    );
    const drift = hits.getChild('drift_ns');
    for (let i = 0; i < hits.numRows; i++) {
      const d = Number(drift?.get(i));
      assert.ok(d >= -50 && d <= 500, `drift ${d} outside the window`);
    }
  });

  it('carries a dense run (muons at 100 kHz) whole: event records split by bytes, lost = 0', async () => {
    const ns = uniqueNamespace('dense');
    const maxRecordBytes = 64 * 1024;
    const processor = startWorkload('processor', brokers, {
      namespace: ns,
      task: 'processor-0',
      maxRecordBytes,
    });
    const dir = join(dataDir, 'dense');
    const writer = startWorkload('writer', brokers, { namespace: ns, dataDir: dir, flushIntervalMs: 200 });
    const timeframes = 120;
    await Promise.all(
      [0, 1].map(
        (link) =>
          startWorkload(
            'readout',
            brokers,
            readoutSettings(ns, link, timeframes, { 'source.muonRateHz': 100_000 }),
          ).done,
      ),
    );
    const r = await waitForDrain(brokers, ns, 1, { timeoutMs: 120_000 });
    await Promise.all([processor.stop(), writer.stop()]);

    assert.equal(r.lost, 0);
    assert.equal(r.incompleteTimeframes, 0);
    assert.equal(r.timeframes, timeframes);
    assert.ok(r.events.built > 100 * timeframes, `${r.events.built} events in ${timeframes} timeframes`);
    assert.equal(r.events.stored, r.events.built, 'every event built is stored');
    const client = new KafkaClient({ brokers, clientId: 'test-dense', log: () => {} });
    let records = 0;
    let largest = 0;
    await readTopicToEnd(client, topicNames(ns).events, (rec) => {
      records++;
      largest = Math.max(largest, rec.value.byteLength);
    });
    assert.ok(largest <= maxRecordBytes, `an event record of ${largest} bytes`);
    assert.ok(records > timeframes, `${records} event records: a timeframe's events span several`);
    const deadletter: string[] = [];
    await readTopicToEnd(client, topicNames(ns).deadletter, (rec) =>
      deadletter.push(headerText(rec.headers, DEADLETTER_REASON_HEADER) ?? ''),
    );
    assert.deepEqual(deadletter, [], 'nothing set aside');
    const inspection = inspectRun(runDir(dir, 1));
    assert.equal(inspection.duplicateIds, 0);
    assert.equal(inspection.events, r.events.built);
  });

  it('dead-letters corrupt words with their reason while good data keeps flowing', async () => {
    const ns = uniqueNamespace('bad');
    const file = join(dataDir, 'corrupt.raw');
    // A recorded stream of link 0 with three kinds of corrupt word spliced in every 400 words.
    const emu = new DtEmulator(emulatorConfig({ fpga: 0, muonRateHz: 2000, noiseRateHzPerChannel: 500 }));
    const chunks: Buffer[] = [];
    const injected = { BX_COUNTER: 0, HEAD: 0, TDC_CHANNEL: 0 };
    for (let tf = 0; tf < 40; tf++) {
      const g = emu.generate(tf);
      const out = new Uint32Array(2 * (g.count + Math.ceil(g.count / 400)));
      let n = 0;
      for (let i = 0; i < g.count; i++) {
        out[2 * n] = g.words[2 * i]!;
        out[2 * n + 1] = g.words[2 * i + 1]!;
        n++;
        if (i % 400 === 0) {
          const kind = (['BX_COUNTER', 'HEAD', 'TDC_CHANNEL'] as const)[(i / 400) % 3]!;
          writeHitWord(out, n, {
            fpga: 0,
            channel: kind === 'TDC_CHANNEL' ? 300 : 5,
            orbit: tf * 32 + 1,
            bx: 7,
            tdc: 3,
          });
          if (kind === 'BX_COUNTER') out[2 * n] = (out[2 * n]! | (0xfff << 5)) >>> 0;
          if (kind === 'HEAD') out[2 * n + 1] = out[2 * n + 1]! & 0x1fffffff;
          injected[kind]++;
          n++;
        }
      }
      chunks.push(Buffer.from(bytesOfWords(out, n)));
    }
    writeFileSync(file, Buffer.concat(chunks));
    // Link 0 reads chambers 0 and 1 only: a two-chamber coincidence is an event here.
    const processor = startWorkload('processor', brokers, {
      namespace: ns,
      links: [0],
      'events.minChambers': 2,
    });
    await startWorkload('readout', brokers, {
      namespace: ns,
      link: 0,
      'source.type': 'replay',
      'source.file': file,
      pacing: 'max',
    }).done;
    const r = await waitForDrain(brokers, ns, 1, { writer: false, links: [0] });
    await processor.stop();

    const total = injected.BX_COUNTER + injected.HEAD + injected.TDC_CHANNEL;
    assert.equal(r.processed.corrupt, total);
    assert.equal(r.lost, 0);
    assert.ok(r.events.built > 50, `only ${r.events.built} events while corrupt words flowed`);
    const seen = { BX_COUNTER: 0, HEAD: 0, TDC_CHANNEL: 0 } as Record<string, number>;
    const client = new KafkaClient({ brokers, clientId: 'test-deadletter' });
    await readTopicToEnd(client, topicNames(ns).deadletter, (rec) => {
      assert.equal(headerText(rec.headers, DEADLETTER_REASON_HEADER), 'corrupt-words');
      const body = JSON.parse(rec.value.toString()) as {
        words: { field: string; reason: string; word: string }[];
      };
      for (const w of body.words) {
        seen[w.field] = (seen[w.field] ?? 0) + 1;
        assert.match(w.word, /^[0-9a-f]{16}$/);
        assert.ok(w.reason.length > 5);
      }
    });
    assert.deepEqual(seen, injected);
  });

  it('loses nothing and duplicates no event when a processor is SIGKILLed mid-stream', async () => {
    const ns = uniqueNamespace('kill');
    const dir = join(dataDir, 'kill');
    const writer = startWorkload('writer', brokers, { namespace: ns, dataDir: dir, flushIntervalMs: 200 });
    const first = spawnWorkload('processor', brokers, { namespace: ns, task: 'processor-a' });
    const timeframes = 1200; // 3.4 s of detector time, paced in real time
    const readouts = [0, 1].map((link) =>
      startWorkload('readout', brokers, readoutSettings(ns, link, timeframes, { pacing: 'realtime' })),
    );
    await new Promise((r) => setTimeout(r, 4500));
    first.kill('SIGKILL');
    const how = await exited(first);
    assert.equal(how.signal, 'SIGKILL');
    const second = spawnWorkload('processor', brokers, { namespace: ns, task: 'processor-b' });
    try {
      await Promise.all(readouts.map((r) => r.done));
      const r = await waitForDrain(brokers, ns, 1, { timeoutMs: 90_000 });
      assert.equal(r.lost, 0);
      assert.equal(r.processed.words, r.produced.words);
    } finally {
      second.kill('SIGTERM');
      await exited(second);
      await writer.stop();
    }
    const stored = storedEventIds(dir, 1);
    assert.equal(new Set(stored).size, stored.length, 'duplicate event ids stored');
    const expected = runPipeline(timeframes, REFERENCE).results.flatMap((x) => x.events.map((e) => e.id));
    assert.deepEqual([...stored].sort(), expected.sort(), 'events lost or changed by the crash');
  });

  it('replays a recorded run (gzip-compressed this time) into the same events as the live run', async () => {
    const live = uniqueNamespace('live');
    const replay = uniqueNamespace('replay');
    const liveDir = join(dataDir, 'live');
    const replayDir = join(dataDir, 'replay');
    const files = [0, 1].map((l) => join(dataDir, `link-${l}.raw`));
    for (const [ns, dir, useFiles] of [
      [live, liveDir, false],
      [replay, replayDir, true],
    ] as const) {
      const processor = startWorkload('processor', brokers, { namespace: ns });
      const writer = startWorkload('writer', brokers, { namespace: ns, dataDir: dir, flushIntervalMs: 200 });
      await Promise.all(
        [0, 1].map(
          (link) =>
            startWorkload(
              'readout',
              brokers,
              useFiles
                ? {
                    namespace: ns,
                    link,
                    'source.type': 'replay',
                    'source.file': files[link]!,
                    pacing: 'max',
                    compression: 'gzip',
                  }
                : readoutSettings(ns, link, 120, { record: files[link]! }),
            ).done,
        ),
      );
      const r = await waitForDrain(brokers, ns, 1);
      assert.equal(r.lost, 0);
      await Promise.all([processor.stop(), writer.stop()]);
    }
    const a = storedEventIds(liveDir, 1).sort();
    const b = storedEventIds(replayDir, 1).sort();
    assert.ok(a.length > 200);
    assert.deepEqual(b, a);
    assert.equal(inspectRun(runDir(replayDir, 1)).hits, inspectRun(runDir(liveDir, 1)).hits);
  });
});
