import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'([^']+)'/g)].map((m) => m[1]!);
}

/**
 * The files a module needs at load time: `import … from` and `export … from`, not `import type` /
 * `export type` (erased) and not `import()` (loaded later, on demand).
 */
function loadImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)';/gms)) {
    if (m[2] !== undefined) continue;
    out.push(normalize(join(dirname(file), m[3]!.replace(/\.js$/, '.ts'))));
  }
  for (const m of text.matchAll(/^import\s+'(\.[^']+)';/gm))
    out.push(normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  return out;
}

/** One import cycle among these files, as the path that closes it; undefined when there is none. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (f: string): string[] | undefined => {
    if (onPath.has(f)) return [...path.slice(path.indexOf(f)), f];
    if (done.has(f)) return undefined;
    onPath.add(f);
    path.push(f);
    for (const next of graph.get(f) ?? []) {
      const c = visit(next);
      if (c !== undefined) return c;
    }
    path.pop();
    onPath.delete(f);
    done.add(f);
    return undefined;
  };
  for (const f of graph.keys()) {
    const c = visit(f);
    if (c !== undefined) return c;
  }
  return undefined;
}

describe('layering (one contract between the central and the per-node part)', () => {
  it('has no import cycle: no module needs, while it loads, one that needs it back', () => {
    assert.deepEqual(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
      ['a', 'b', 'c', 'a'],
      'the check finds a cycle',
    );
    const files = ['protocol', 'lib', 'agent', 'platform', 'deploy', 'bin', 'dashboards'].flatMap(sources);
    const graph = new Map(files.map((f) => [f, loadImports(f)]));
    assert.ok(
      [...graph.values()].some((i) => i.length > 0),
      'imports were read',
    );
    assert.equal(findCycle(graph)?.join(' → '), undefined);
  });

  it('keeps every file of platform/ and agent/ within 400 lines, the processing kernel excepted', () => {
    // The kernel is one hot loop kept whole on purpose (docs/data-path.md "Processor"): split, it would
    // cost calls per hit. Everything else a newcomer reads in one sitting.
    const exempt = new Set([join('agent', 'workloads', 'processor', 'kernel.ts')]);
    const files = ['platform', 'agent'].flatMap(sources);
    assert.ok(files.length > 50, 'the sources were found');
    const long = files
      .filter((f) => !exempt.has(f))
      .map((f) => [f, readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > 400);
    assert.deepEqual(long, []);
  });

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
