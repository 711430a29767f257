import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errorCatalogue, errorCodes } from '../../protocol/index.js';

describe('docs/errors.md', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|/gm)].map(
      (m) => [m[1] ?? '', { http: Number(m[2]), retriable: m[3] === 'yes' }] as const,
    ),
  );

  it('documents every error code with its HTTP status and retriable flag', () => {
    for (const code of errorCodes) {
      const row = rows.get(code);
      assert.ok(row !== undefined, `docs/errors.md has no row for ${code}`);
      assert.equal(row.retriable, errorCatalogue[code].retriable, `${code}: retriable column disagrees`);
      assert.equal(row.http, errorCatalogue[code].http, `${code}: HTTP column disagrees`);
    }
  });

  it('documents no code that does not exist', () => {
    for (const code of rows.keys())
      assert.ok((errorCodes as readonly string[]).includes(code), `${code} is not in protocol/errors.ts`);
  });

  it('gives every code an HTTP error status, and only 5xx codes may be retriable', () => {
    for (const code of errorCodes) {
      const { http, retriable } = errorCatalogue[code];
      assert.ok(http >= 400 && http <= 599, `${code}: ${http}`);
      if (retriable) assert.ok(http >= 500, `${code} is retriable but a client error`);
    }
  });
});
