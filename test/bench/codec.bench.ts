/**
 * Codec throughput: decode + validate + per-channel count of hit words on one core, beside the plain
 * loop that only extracts the channel key and counts (the ceiling for this loop in plain JS).
 */
import { ChannelMap, WordTally, tallyWords, writeHitWord } from '../../protocol/index.js';
import { Prng } from '../../agent/workloads/readout/prng.js';
import { formatRate, measure, type BenchResult } from './measure.js';

const WORDS = 4 * 1024 * 1024; // 32 MiB of words: far beyond the caches, like a real stream

function makeWords(map: ChannelMap): Uint32Array {
  const rng = new Prng(42);
  const words = new Uint32Array(WORDS * 2);
  const entries = map.entries;
  for (let i = 0; i < WORDS; i++) {
    const e = entries[rng.int(entries.length)]!;
    writeHitWord(words, i, {
      fpga: e.fpga,
      channel: e.channel,
      orbit: 1000 + (i >> 10),
      bx: rng.int(3564),
      tdc: rng.int(30),
    });
  }
  // One word in a thousand corrupt (BX out of range), as a noisy link would send.
  for (let i = 0; i < WORDS; i += 1000) words[2 * i] = (words[2 * i]! | (0xfff << 5)) >>> 0;
  return words;
}

/** The reference: the least a per-channel count can do. */
function plainCount(words: Uint32Array, n: number, counts: Float64Array): void {
  for (let i = 0; i < n; i++) counts[(words[2 * i + 1]! >>> 17) & 0xfff]!++;
}

export function benchCodec(): BenchResult[] {
  const map = ChannelMap.testbed(4);
  const words = makeWords(map);
  const counts = new Float64Array(4096);
  const tally = new WordTally();
  const plain = measure('plain loop: channel key + count (reference)', WORDS, () =>
    plainCount(words, WORDS, counts),
  );
  const codec = measure('codec: decode + validate + per-channel count', WORDS, () =>
    tallyWords(words, WORDS, map, tally),
  );
  const expectedCorrupt = Math.ceil(WORDS / 1000);
  if (tally.corrupt % expectedCorrupt !== 0)
    throw new Error(`codec miscounted corrupt words: ${tally.corrupt}`);
  console.log(`  ${plain.label}: ${formatRate(plain, 8)}`);
  console.log(`  ${codec.label}: ${formatRate(codec, 8)}`);
  console.log(
    `  codec / plain = ${(codec.perSecond / plain.perSecond).toFixed(2)} (target: within 2x, i.e. ≥ 0.50)`,
  );
  return [plain, codec];
}
