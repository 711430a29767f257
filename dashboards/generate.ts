/**
 * `npm run dashboards`: writes each dashboard of dashboards.ts to dashboards/<name>.json, the files
 * Grafana provisions (deploy/grafana/). With `--check`, writes nothing and exits 1 naming the files
 * that differ from what the code generates.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../lib/paths.js';
import { dashboards } from './dashboards.js';

export function dashboardFile(name: string): string {
  return join(projectRoot(), 'dashboards', `${name}.json`);
}

/** The JSON of each dashboard as the code makes it (stable: same code, same bytes). */
export function generatedDashboards(): Map<string, string> {
  return new Map(
    Object.entries(dashboards).map(([name, make]) => [name, `${JSON.stringify(make(), null, 2)}\n`]),
  );
}

function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [name, text] of generatedDashboards()) {
    const file = dashboardFile(name);
    let old: string | undefined;
    try {
      old = readFileSync(file, 'utf8');
    } catch {
      old = undefined;
    }
    if (old === text) continue;
    if (check) stale.push(file);
    else {
      writeFileSync(file, text);
      console.log(`wrote ${file}`);
    }
  }
  if (stale.length > 0) {
    console.error(`out of date (run npm run dashboards): ${stale.join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1]?.endsWith('generate.ts') === true || process.argv[1]?.endsWith('generate.js') === true)
  main();
