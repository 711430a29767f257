/**
 * Where a readout link's words come from: the testbed emulator, a recorded file, or a TCP stream from a
 * back-end board. Each is an async sequence of word chunks; bytes that do not yet make a whole word are
 * carried over to the next chunk, never dropped.
 */
import { DaqError } from '../../../protocol/errors.js';
import { createReadStream } from 'node:fs';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { BX_NS, BX_PER_ORBIT, WORD_BYTES, wordsOf } from '../../../protocol/index.js';
import type { EmulatorSource, ReadoutConfig, ReplaySource, TcpSource } from '../config.js';
import { DtEmulator } from './emulator.js';
import type { FaultBoard } from './faults.js';

export interface WordChunk {
  readonly words: Uint32Array;
  readonly count: number;
}

const NS_PER_ORBIT = BX_PER_ORBIT * BX_NS;

/** A run's stop time, set while it runs (STOP with a common stop time): no timeframe from then on. */
export interface RunStop {
  atMs: number | undefined;
}

export function openSource(
  config: ReadoutConfig,
  signal: AbortSignal,
  stop: RunStop = { atMs: undefined },
  faults?: FaultBoard,
): AsyncIterable<WordChunk> {
  const s = config.source;
  if (s.type === 'emulator') return emulatorSource(config, s, signal, stop, faults);
  if (s.type === 'replay') return replaySource(s, signal);
  return tcpSource(s, signal);
}

async function* emulatorSource(
  config: ReadoutConfig,
  s: EmulatorSource,
  signal: AbortSignal,
  stop: RunStop,
  faults: FaultBoard | undefined,
): AsyncIterable<WordChunk> {
  const { type: _type, startTimeframe: _start, ...physics } = s;
  const emu = new DtEmulator({
    ...physics,
    map: config.map,
    fpga: config.fpga,
    chambers: config.chambers,
    orbitsPerTimeframe: config.orbitsPerTimeframe,
  });
  const tfMs = (config.orbitsPerTimeframe * NS_PER_ORBIT) / 1e6;
  // Timeframe n covers [origin + (n − first)·T, …): the run's common epoch when the platform gives one,
  // else this link's start. A link that starts (or restarts) after the epoch joins at the current
  // timeframe: a detector does not replay the past.
  const origin = config.epochMs ?? Date.now();
  const first =
    config.epochMs === undefined
      ? s.startTimeframe
      : s.startTimeframe + Math.max(0, Math.floor((Date.now() - config.epochMs) / tfMs));
  const startOf = (tf: number): number => origin + (tf - s.startTimeframe) * tfMs;
  const end = config.timeframes === undefined ? Infinity : first + config.timeframes;
  for (let tf = first; tf < end && !signal.aborted; tf++) {
    if (stop.atMs !== undefined && (config.pacing === 'max' || startOf(tf) >= stop.atMs)) break;
    if (config.pacing === 'realtime') {
      // A timeframe's data exists once the timeframe has passed.
      const wait = startOf(tf + 1) - Date.now();
      if (wait > 1) await sleep(wait, signal);
    }
    // Drill faults in effect at the timeframe's start (the same timeframe on every link of the run).
    const at = startOf(tf);
    if (faults?.stalledAt(at) === true) continue; // a stalled front end sends nothing
    const g = emu.generate(tf, faults?.at(at));
    yield { words: g.words, count: g.count };
  }
}

async function* bytesToWords(stream: AsyncIterable<Buffer>): AsyncIterable<WordChunk> {
  let carry = Buffer.alloc(0);
  for await (const chunk of stream) {
    const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const whole = buf.length - (buf.length % WORD_BYTES);
    carry = Buffer.from(buf.subarray(whole));
    if (whole === 0) continue;
    // Copy: the words are kept by the framer after the stream reuses its buffer.
    const { words, wordCount } = wordsOf(Buffer.from(buf.subarray(0, whole)));
    yield { words, count: wordCount };
  }
  if (carry.length > 0) {
    throw new DaqError(
      'INVALID_WORD',
      `the stream ended inside a word: ${carry.length} trailing byte(s) are not a 64-bit word`,
      { field: 'stream' },
    );
  }
}

function replaySource(s: ReplaySource, signal: AbortSignal): AsyncIterable<WordChunk> {
  return bytesToWords(
    createReadStream(s.file, { highWaterMark: s.chunkBytes, signal }) as AsyncIterable<Buffer>,
  );
}

async function* tcpSource(s: TcpSource, signal: AbortSignal): AsyncIterable<WordChunk> {
  const socket = connect({ host: s.host, port: s.port });
  const onAbort = (): void => {
    socket.end();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    yield* bytesToWords(socket as Readable as AsyncIterable<Buffer>);
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind (it runs once per timeframe). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
