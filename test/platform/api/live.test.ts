import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { MAX_CLIENTS } from '../../../platform/api/live.js';
import { as, setup } from '../../helpers/api.js';

describe('platform/api/live', function () {
  this.timeout(30_000);

  it('streams a change event for what changed, to a token-holder only, and refuses a feed too many', async () => {
    const { app, platform } = setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1/live`;
    const feeds: AbortController[] = [];
    try {
      assert.equal((await fetch(url)).status, 401);
      const ctl = new AbortController();
      feeds.push(ctl);
      const r = await fetch(url, { headers: as('viewer'), signal: ctl.signal });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
      const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      const readUntil = async (re: RegExp) => {
        while (!re.test(text)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended before ${re}: ${text}`);
          text += value;
        }
      };
      await readUntil(/retry: \d+/);
      const env = platform.createEnvironment({ name: 'testbed' }, {}, 'expert:bob');
      await platform.transition(env.id, 'DEPLOY', 'shifter:alice');
      await readUntil(new RegExp(`event: change\\ndata: \\{"kind":"environment","id":"${env.id}"\\}`));
      assert.equal(
        (text.match(new RegExp(`"id":"${env.id}"`, 'g')) ?? []).length,
        1,
        'a burst of changes coalesces into one event',
      );
      for (let i = 1; i < MAX_CLIENTS; i++) {
        const c = new AbortController();
        feeds.push(c);
        assert.equal((await fetch(url, { headers: as('viewer'), signal: c.signal })).status, 200);
      }
      const refused = await fetch(url, { headers: as('viewer') });
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { code: string }).code, 'TOO_MANY_CLIENTS');
    } finally {
      for (const f of feeds) f.abort();
      await app.close();
    }
  });

  it('ends the feeds of a revoked token at once, and only theirs', async () => {
    const { app, platform } = setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/v1`;
    const ctl = new AbortController();
    try {
      const given = await fetch(`${base}/tokens`, {
        method: 'POST',
        headers: { ...as('admin'), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'dana', role: 'viewer' }),
      });
      assert.equal(given.status, 201);
      const { token } = (await given.json()) as { token: string };
      const open = async (auth: Record<string, string>) => {
        const r = await fetch(`${base}/live`, { headers: auth, signal: ctl.signal });
        assert.equal(r.status, 200);
        const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
        assert.match((await reader.read()).value ?? '', /retry: \d+/);
        return reader;
      };
      const dana = await open({ authorization: `Bearer ${token}` });
      const eve = await open(as('viewer'));
      const revoked = await fetch(`${base}/tokens/dana/revoke`, { method: 'POST', headers: as('admin') });
      assert.equal(revoked.status, 200);
      assert.equal((await dana.read()).done, true, 'her feed ended: nothing more is hers to see');
      assert.equal(
        (await fetch(`${base}/live`, { headers: { authorization: `Bearer ${token}` } })).status,
        401,
      );
      // Another holder's feed goes on: the next change reaches it.
      const env = platform.createEnvironment({ name: 'testbed' }, {}, 'expert:bob');
      await platform.transition(env.id, 'DEPLOY', 'shifter:alice');
      let text = '';
      while (!text.includes(`"id":"${env.id}"`)) {
        const { value, done } = await eve.read();
        assert.equal(done, false, `eve's feed ended too: ${text}`);
        text += value;
      }
    } finally {
      ctl.abort();
      await app.close();
    }
  });
});
