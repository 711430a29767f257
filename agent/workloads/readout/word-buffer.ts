/** A growable array of 64-bit words held as uint32 pairs; grows by doubling, never shrinks. */
export class WordBuffer {
  words: Uint32Array;
  count = 0;

  constructor(initialWords = 1024) {
    this.words = new Uint32Array(2 * Math.max(1, initialWords));
  }

  push(lo: number, hi: number): void {
    if (2 * this.count === this.words.length) this.grow(this.count + 1);
    this.words[2 * this.count] = lo;
    this.words[2 * this.count + 1] = hi;
    this.count++;
  }

  /** Appends `count` words of `src` starting at word `from`. */
  append(src: Uint32Array, from: number, count: number): void {
    if (this.count + count > this.words.length / 2) this.grow(this.count + count);
    this.words.set(src.subarray(2 * from, 2 * (from + count)), 2 * this.count);
    this.count += count;
  }

  clear(): void {
    this.count = 0;
  }

  /** A view of the words written so far (shares memory until the next push). */
  view(): Uint32Array {
    return this.words.subarray(0, 2 * this.count);
  }

  private grow(minWords: number): void {
    let size = this.words.length / 2;
    while (size < minWords) size *= 2;
    const next = new Uint32Array(2 * size);
    next.set(this.words.subarray(0, 2 * this.count));
    this.words = next;
  }
}
