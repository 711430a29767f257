import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TokenStore, allows, parseTokens } from '../../../platform/api/auth.js';

describe('platform/api/auth', () => {
  it('orders roles viewer < shifter < expert < admin, and refuses a malformed tokens file naming the field', () => {
    assert.ok(allows('admin', 'viewer') && allows('shifter', 'shifter') && !allows('shifter', 'expert'));
    assert.throws(
      () => parseTokens({ tokens: [{ token: 'short', name: 'a', role: 'admin' }] }),
      /tokens\[0\]\.token/,
    );
    assert.throws(
      () => parseTokens({ tokens: [{ token: 'x'.repeat(20), name: 'a', role: 'boss' }] }),
      /tokens\[0\]\.role/,
    );
  });

  it('writes tokens it gives and revokes back to the file, private, so a restart knows them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqops-tokens-'));
    try {
      const file = join(dir, 'tokens.yaml');
      writeFileSync(
        file,
        `joinToken: join-0123456789abcdef\ntokens:\n  - { name: root, role: admin, token: root-token-0123456789 }\n`,
      );
      const store = TokenStore.load(file);
      const t = store.create('carol', 'expert');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const again = TokenStore.load(file);
      assert.deepEqual(again.principals.get(t.token), { name: 'carol', role: 'expert' });
      assert.equal(again.joinToken, 'join-0123456789abcdef');
      again.revoke('carol');
      assert.equal(TokenStore.load(file).principals.get(t.token), undefined);
      assert.ok(!readFileSync(file, 'utf8').includes('carol'));
      assert.throws(() => again.create('Bad Name', 'viewer'), /holder is named/);
      assert.throws(() => again.revoke('root'), /last admin/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
