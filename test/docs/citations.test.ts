/**
 * What the code cites exists: every `docs/NAME.md "Section"` a source file names is a heading of that
 * document (a heading may go on after a parenthesis or a colon: "Correlation (`correlator.ts`)"), every path of the
 * repository a comment names is there, and no source file sends its reader outside the repository.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOTS = [
  'protocol',
  'lib',
  'agent',
  'platform',
  'bin',
  'deploy',
  'dashboards',
  'alerts',
  'test',
  '.ci',
];
const SOURCE = /\.(ts|js|cjs|mjs|yaml|yml|sh|css|html)$|(^|\/)(run|README\.md)$/;
/** The top-level folders of the repository a cited path may start with. */
const TOP = /^(protocol|lib|agent|platform|bin|deploy|dashboards|alerts|runbooks|test|docs)\//;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return SOURCE.test(path) ? [path] : [];
  });
}

function headings(doc: string): string[] {
  return readFileSync(doc, 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#{1,6} /, '').trim());
}

/** `docs/x.md "A"`, `docs/x.md, "A"`, `docs/x.md ("A", "B")`: the document and the sections cited. */
export function citations(text: string): { doc: string; section: string }[] {
  const out: { doc: string; section: string }[] = [];
  for (const m of text.matchAll(/(docs\/[a-z0-9-]+\.md)(,? \(?|,? )((?:"[^"\n]+"(?:,? (?:and )?)?)+)/g))
    for (const q of m[3]!.matchAll(/"([^"\n]+)"/g)) out.push({ doc: m[1]!, section: q[1]! });
  return out;
}

describe('docs/ citations in the code', () => {
  const files = ROOTS.filter((r) => existsSync(r)).flatMap((r) => sources(r));
  // This file names the forms it checks; its own examples are not citations.
  const self = join('test', 'docs', 'citations.test.ts');

  it('finds the citations of every form', () => {
    assert.deepEqual(citations('see docs/a.md "One", docs/b.md, "Two" and docs/c.md ("Three", "Four")'), [
      { doc: 'docs/a.md', section: 'One' },
      { doc: 'docs/b.md', section: 'Two' },
      { doc: 'docs/c.md', section: 'Three' },
      { doc: 'docs/c.md', section: 'Four' },
    ]);
    assert.ok(files.length > 100, `only ${files.length} source files found`);
  });

  it('cites only sections that the documents have', () => {
    const missing: string[] = [];
    for (const f of files) {
      if (f === self) continue;
      for (const { doc, section } of citations(readFileSync(f, 'utf8'))) {
        const found =
          existsSync(doc) &&
          headings(doc).some(
            (h) => h === section || h.startsWith(`${section} (`) || h.startsWith(`${section}:`),
          );
        if (!found) missing.push(`${f} cites ${doc} "${section}"`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('names only paths of the repository that exist, and nothing outside it', () => {
    const wrong: string[] = [];
    for (const f of files) {
      if (f === self) continue;
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(
        /(?<![\w./<-])([a-z][\w.-]*\/[\w./-]*[\w-]\.(?:md|ts|js|yaml|yml|json|css|html))\b/g,
      )) {
        const path = m[1]!;
        if (!TOP.test(path) || existsSync(path)) continue;
        wrong.push(`${f} names ${path}, which is not in the repository`);
      }
      for (const m of text.matchAll(/\b(STYLE\.md|DESIGN\.md|\.\.\/shared\/)/g))
        wrong.push(`${f} sends its reader to ${m[1]}, outside the repository`);
    }
    assert.deepEqual(wrong, []);
  });
});
