import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCodes, retriableCodes } from '../../protocol/index.js';

describe('docs/errors.md', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(yes|no)\s*\|/gm)].map(
      (m) => [m[1] ?? '', m[2] === 'yes'] as const,
    ),
  );

  it('documents every error code with its retriable flag', () => {
    for (const code of errorCodes) {
      assert.ok(rows.has(code), `docs/errors.md has no row for ${code}`);
      assert.equal(
        rows.get(code),
        retriableCodes.has(code),
        `${code}: retriable column disagrees with the code`,
      );
    }
  });

  it('documents no code that does not exist', () => {
    for (const code of rows.keys())
      assert.ok((errorCodes as readonly string[]).includes(code), `${code} is not in protocol/errors.ts`);
  });
});
