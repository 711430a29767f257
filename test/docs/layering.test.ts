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

  it('throws only DaqErrors from the catalogue (docs/errors.md): no plain Error crosses a module boundary', () => {
    for (const dir of ['protocol', 'lib', 'agent', 'platform', 'deploy', 'bin'])
      for (const f of sources(dir)) {
        const text = readFileSync(f, 'utf8');
        const m = /(throw|reject\()\s*new (Type|Range)?Error\(/.exec(text);
        assert.equal(m, null, `${f} throws a plain Error: ${m?.[0]}`);
      }
  });
});
