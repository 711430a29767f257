/** Tiny benchmark harness: warm up, then repeat until ~1 s has passed; report the best-of-5 rate. */
export interface BenchResult {
  readonly label: string;
  readonly items: number;
  readonly bestSeconds: number;
  readonly perSecond: number;
}

export function measure(label: string, items: number, fn: () => void, rounds = 5): BenchResult {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, s);
  }
  return { label, items, bestSeconds: best, perSecond: items / best };
}

export function formatRate(r: BenchResult, bytesPerItem: number): string {
  const m = r.perSecond / 1e6;
  const gb = (r.perSecond * bytesPerItem) / 1e9;
  return `${m.toFixed(1)} M hits/s, ${gb.toFixed(2)} GB/s`;
}
