/**
 * The body of a `corrupt-words` dead-letter record (docs/data-path.md "Processor"): the corrupt words of
 * one link and timeframe, each as its 16 hex digits with the field that failed and why. A processor
 * splits a link's corrupt words into records of at most CORRUPT_WORDS_PER_RECORD, so no record grows
 * with the data.
 */
import { faultField, faultReason, wordToBigInt } from './hit-word.js';

export const CORRUPT_WORDS_REASON = 'corrupt-words';
/** Corrupt words per dead-letter record at most (about 100 bytes each as JSON). */
export const CORRUPT_WORDS_PER_RECORD = 10_000;

export interface CorruptWordRef {
  /** Index of the word in its section's main words. */
  readonly index: number;
  readonly lo: number;
  readonly hi: number;
  readonly fault: number;
}

export interface CorruptWordsBody {
  readonly run: number;
  readonly link: number;
  readonly timeframe: number;
  readonly words: readonly { index: number; word: string; field: string; reason: string }[];
}

/** One link's corrupt words of a timeframe as record bodies, and the failing fields of each (its detail). */
export function encodeCorruptWords(
  run: number,
  timeframe: number,
  link: number,
  words: readonly CorruptWordRef[],
): { value: Buffer; detail: string }[] {
  const out: { value: Buffer; detail: string }[] = [];
  for (let from = 0; from < words.length; from += CORRUPT_WORDS_PER_RECORD) {
    const part = words.slice(from, from + CORRUPT_WORDS_PER_RECORD);
    const body: CorruptWordsBody = {
      run,
      link,
      timeframe,
      words: part.map((w) => ({
        index: w.index,
        word: wordToBigInt(w.lo, w.hi).toString(16).padStart(16, '0'),
        field: faultField(w.fault),
        reason: faultReason(w.fault),
      })),
    };
    out.push({
      value: Buffer.from(JSON.stringify(body)),
      detail: [...new Set(part.map((w) => faultField(w.fault)))].join(','),
    });
  }
  return out;
}

export function decodeCorruptWords(value: Uint8Array): CorruptWordsBody {
  return JSON.parse(
    Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'),
  ) as CorruptWordsBody;
}
