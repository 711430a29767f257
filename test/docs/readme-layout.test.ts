/**
 * The README's "Layout" block says what each folder holds; this keeps it true: every folder and file it
 * names exists, and every top-level folder of the repository is in it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

describe('README layout', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /## Layout\s+```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const lines = block.split('\n').filter((l) => l.trim() !== '');

  it('has a layout block', () => assert.ok(lines.length >= 8, 'README.md has no "## Layout" code block'));

  it('names only folders and files that exist', () => {
    for (const line of lines) {
      // Each entry: a top-level folder at the start of a column, then what it holds.
      for (const m of line.matchAll(/(?:^|\s{2,})([a-z]+)\/\s{2,}/g)) {
        const top = m[1]!;
        assert.ok(
          existsSync(top) && statSync(top).isDirectory(),
          `README names ${top}/, which does not exist`,
        );
        // Sub-folders it names for this entry (`local/`, `workloads/`, `test/bench/`).
        const rest = line.slice((m.index ?? 0) + m[0].length).split(/\s{2,}[a-z]+\/\s{2,}/)[0] ?? '';
        for (const sub of rest.matchAll(/(?:^|[\s(])((?:[a-z]+\/)+)(?=[\s,()]|$)/g)) {
          const path = sub[1]!.startsWith(`${top}/`) ? sub[1]! : join(top, sub[1]!);
          assert.ok(existsSync(path), `README names ${path} (in the ${top}/ entry), which does not exist`);
        }
        if (top === 'docs')
          for (const f of rest.matchAll(/([a-z-]+\.md)/g))
            assert.ok(existsSync(join('docs', f[1]!)), `README names docs/${f[1]}, which does not exist`);
      }
    }
  });

  it('lists every top-level folder of the repository', () => {
    const listed = new Set(
      lines.flatMap((l) => [...l.matchAll(/(?:^|\s{2,})([a-z]+)\/\s{2,}/g)].map((m) => m[1]!)),
    );
    const folders = readdirSync('.').filter(
      (f) => !f.startsWith('.') && !['node_modules', 'dist'].includes(f) && statSync(f).isDirectory(),
    );
    for (const f of folders) assert.ok(listed.has(f), `${f}/ is not in the README's layout`);
  });
});
