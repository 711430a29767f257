/** `daqops data inspect <run dir>`: what a run directory holds, read from its complete chunks only. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readManifests } from './run-store.js';

export interface RunInspection {
  readonly dir: string;
  readonly chunks: number;
  readonly events: number;
  readonly hits: number;
  readonly duplicateIds: number;
  readonly chambersPerEvent: Record<string, number>;
  /** Drift-time histogram of event hits: bins of binNs from minNs. */
  readonly drift: { minNs: number; binNs: number; counts: number[] };
  /** Hits in events per chamber and layer: occupancy[chamber][layer-1]. */
  readonly occupancy: number[][];
}

export function inspectRun(dir: string, drift = { minNs: -50, maxNs: 500, binNs: 25 }): RunInspection {
  const manifests = readManifests(dir);
  const ids = new Set<string>();
  let duplicateIds = 0;
  let events = 0;
  let hits = 0;
  const chambersPerEvent: Record<string, number> = {};
  const counts = new Array<number>(Math.ceil((drift.maxNs - drift.minNs) / drift.binNs)).fill(0);
  const occupancy: number[][] = [];
  for (const m of manifests) {
    const ev = tableFromIPC(readFileSync(join(dir, m.files.events)));
    const id = ev.getChild('id');
    const mask = ev.getChild('chamber_mask');
    for (let i = 0; i < ev.numRows; i++) {
      const key = String(id?.get(i));
      if (ids.has(key)) duplicateIds++;
      ids.add(key);
      const chambers = popcount(Number(mask?.get(i) ?? 0));
      chambersPerEvent[chambers] = (chambersPerEvent[chambers] ?? 0) + 1;
      events++;
    }
    const ht = tableFromIPC(readFileSync(join(dir, m.files.hits)));
    const chamber = ht.getChild('chamber');
    const layer = ht.getChild('layer');
    const driftNs = ht.getChild('drift_ns');
    for (let i = 0; i < ht.numRows; i++) {
      const c = Number(chamber?.get(i));
      const l = Number(layer?.get(i));
      while (occupancy.length <= c) occupancy.push([0, 0, 0, 0]);
      occupancy[c]![l - 1] = (occupancy[c]![l - 1] ?? 0) + 1;
      const bin = Math.floor((Number(driftNs?.get(i)) - drift.minNs) / drift.binNs);
      if (bin >= 0 && bin < counts.length) counts[bin]!++;
      hits++;
    }
  }
  return {
    dir,
    chunks: manifests.length,
    events,
    hits,
    duplicateIds,
    chambersPerEvent,
    drift: { minNs: drift.minNs, binNs: drift.binNs, counts },
    occupancy,
  };
}

export function formatInspection(r: RunInspection): string {
  const lines = [
    `run directory ${r.dir}`,
    `  chunks ${r.chunks}   events ${r.events}   hits in events ${r.hits}   duplicate ids ${r.duplicateIds}`,
    `  chambers per event: ${
      Object.entries(r.chambersPerEvent)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || '—'
    }`,
    '',
    '  drift time (ns)   hits',
  ];
  const max = Math.max(1, ...r.drift.counts);
  r.drift.counts.forEach((n, i) => {
    const from = r.drift.minNs + i * r.drift.binNs;
    lines.push(
      `  ${String(from).padStart(5)}..${String(from + r.drift.binNs).padEnd(5)} ${String(n).padStart(8)} ${'#'.repeat(Math.round((40 * n) / max))}`,
    );
  });
  lines.push('', '  occupancy (hits in events)   layer 1   layer 2   layer 3   layer 4');
  r.occupancy.forEach((row, c) =>
    lines.push(`  chamber ${String(c).padEnd(20)}${row.map((n) => String(n).padStart(10)).join('')}`),
  );
  return lines.join('\n');
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}
