/** The page's files as the platform serves them: every module of platform/ui/, and every import of one. */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { projectRoot } from '../../../lib/paths.js';
import { setup } from '../../helpers/api.js';

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? files(join(dir, f), `${prefix}${f}/`) : [`${prefix}${f}`],
  );
}

describe('platform/api/ui', () => {
  it('serves every file of platform/ui/, each module with what it imports, under a strict CSP', async () => {
    const { app } = setup();
    const all = files(join(projectRoot(), 'platform', 'ui'));
    assert.ok(all.includes('main.js') && all.some((f) => f.startsWith('views/')));
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script type="module" src="\/ui\/main\.js"><\/script>/);
    for (const f of all) {
      const r = await app.inject({ method: 'GET', url: `/ui/${f}` });
      assert.equal(r.statusCode, 200, `${f} is not served`);
      assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
      if (!f.endsWith('.js')) continue;
      assert.match(String(r.headers['content-type']), /^text\/javascript/);
      for (const m of r.body.matchAll(/^import .* from '(\.[^']+)';$/gm)) {
        const target = posix.normalize(posix.join(posix.dirname(f), m[1]!));
        assert.ok(all.includes(target), `${f} imports ${m[1]}, which is not a file of the page`);
      }
    }
    await app.close();
  });
});
