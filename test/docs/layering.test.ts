import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1]!);
}

describe('layering (one contract between the central and the per-node part)', () => {
  it('platform/ never imports agent/, and agent/ never imports platform/', () => {
    for (const f of sources('platform'))
      for (const i of imports(f)) assert.ok(!/(^|\/)agent\//.test(i), `${f} imports ${i}`);
    for (const f of sources('agent'))
      for (const i of imports(f)) assert.ok(!/(^|\/)platform\//.test(i), `${f} imports ${i}`);
  });

  it('protocol/ does no I/O and imports nothing but itself', () => {
    for (const f of sources('protocol')) {
      for (const i of imports(f)) assert.ok(i.startsWith('./') || i === 'node:os', `${f} imports ${i}`);
    }
  });
});
