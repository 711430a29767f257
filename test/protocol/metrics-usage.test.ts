import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { metricCatalogue } from '../../protocol/index.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('metric catalogue against the code', () => {
  const code = ['agent', 'platform', 'lib']
    .flatMap((d) => sources(d))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');

  it('registers every catalogued metric somewhere in the code', () => {
    for (const m of metricCatalogue)
      assert.ok(code.includes(`'${m.name}'`), `${m.name} is catalogued but no code registers it`);
  });

  it('uses no daq_ metric name that is not catalogued', () => {
    const names = new Set<string>(metricCatalogue.map((m) => m.name));
    for (const [, name] of code.matchAll(/'(daq_[a-z0-9_]+)'/g))
      assert.ok(names.has(name!), `${name} is used but not catalogued`);
  });
});
