import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesOfWords, wordOrbit } from '../../../../protocol/index.js';
import { parseWorkloadConfig, type ReadoutConfig } from '../../../../agent/workloads/config.js';
import { DtEmulator } from '../../../../agent/workloads/readout/emulator.js';
import { openSource, type RunStop } from '../../../../agent/workloads/readout/sources.js';
import { emulatorConfig } from '../../../helpers/pipeline.js';

function recordedStream(timeframes: number): Buffer {
  const emu = new DtEmulator(emulatorConfig({ noiseRateHzPerChannel: 3000 }));
  const parts: Buffer[] = [];
  for (let tf = 0; tf < timeframes; tf++) {
    const g = emu.generate(tf);
    parts.push(Buffer.from(bytesOfWords(g.words, g.count)));
  }
  return Buffer.concat(parts);
}

async function collect(config: ReadoutConfig): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of openSource(config, new AbortController().signal))
    out.push(Buffer.from(bytesOfWords(c.words, c.count)));
  return Buffer.concat(out);
}

function readoutConfig(source: Record<string, unknown>): ReadoutConfig {
  return parseWorkloadConfig('readout', { link: 0, source }, ['127.0.0.1:1']) as ReadoutConfig;
}

describe('agent/workloads/readout/sources', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'daqops-src-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('follows the run clock: a late link joins at the current timeframe and every link stops before the stop time', async () => {
    const cfg = (link: number, epochMs: number) =>
      parseWorkloadConfig(
        'readout',
        { link, epochMs, pacing: 'realtime', source: { type: 'emulator', noiseRateHzPerChannel: 5000 } },
        ['127.0.0.1:1'],
      ) as ReadoutConfig;
    const T = (32 * 3564 * 25) / 1e6; // ms per timeframe
    const epoch = Math.floor(Date.now() - 20.5 * T); // 20 whole timeframes ago, whatever the rounding
    const stop: RunStop = { atMs: undefined };
    const timeframes = async (c: ReadoutConfig): Promise<number[]> => {
      const seen: number[] = [];
      for await (const chunk of openSource(c, new AbortController().signal, stop)) {
        if (stop.atMs === undefined) stop.atMs = epoch + 60 * T;
        const tf = Math.floor(wordOrbit(chunk.words[0]!, chunk.words[1]!) / 32);
        seen.push(tf);
      }
      return seen;
    };
    const [a, b] = await Promise.all([timeframes(cfg(0, epoch)), timeframes(cfg(1, epoch))]);
    for (const tfs of [a, b]) {
      assert.ok(tfs[0]! >= 20, `joined at the current timeframe, not 0 (first ${tfs[0]})`);
      assert.equal(tfs.at(-1), 59, 'the last timeframe is the one before the stop time');
      assert.deepEqual(
        tfs,
        Array.from({ length: tfs.length }, (_, i) => tfs[0]! + i),
        'no gap',
      );
    }
  });

  it('replays a file bit-exact whatever the read chunk size', async () => {
    const data = recordedStream(5);
    const file = join(dir, 'a.raw');
    writeFileSync(file, data);
    for (const chunkBytes of [13, 4096, 1 << 20]) {
      assert.ok(
        (await collect(readoutConfig({ type: 'replay', file, chunkBytes }))).equals(data),
        `chunk ${chunkBytes}`,
      );
    }
  });

  it('refuses a file that ends inside a word instead of dropping the bytes silently', async () => {
    const file = join(dir, 'cut.raw');
    writeFileSync(file, Buffer.concat([recordedStream(1), Buffer.from([1, 2, 3])]));
    await assert.rejects(collect(readoutConfig({ type: 'replay', file })), /3 trailing byte\(s\)/);
  });

  it('reads a TCP stream from a back-end board, words split across segments', async () => {
    const data = recordedStream(3);
    const server: Server = createServer((socket) => {
      // Odd-sized writes so words straddle TCP segments.
      let off = 0;
      const step = (): void => {
        if (off >= data.length) {
          socket.end();
          return;
        }
        const n = 1 + ((off * 7) % 997);
        socket.write(data.subarray(off, off + n), step);
        off += n;
      };
      step();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      assert.ok((await collect(readoutConfig({ type: 'tcp', host: '127.0.0.1', port }))).equals(data));
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
