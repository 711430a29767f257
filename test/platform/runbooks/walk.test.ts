import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { PlatformClient } from '../../../platform/api/client.js';
import { loadRunbooks } from '../../../platform/runbooks/runbook.js';
import { walkRunbook } from '../../../platform/runbooks/walk.js';
import { setup } from '../../helpers/api.js';

describe('platform/runbooks/walk (daqops runbook run)', () => {
  it('walks the steps one at a time, asks before each, and records each outcome on the incident', async () => {
    const { app, platform } = setup({ runbooks: loadRunbooks('runbooks') });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const id = platform.incidents.signal({
        fingerprint: 'x',
        source: 'control',
        name: 'TransitionTimeout',
        severity: 'error',
        environment: 'env-1',
        component: { kind: 'environment', id: 'env-1' },
        summary: 'CONFIGURE: node n1 did not answer within 30000 ms',
        at: new Date().toISOString(),
        status: 'firing',
        point: true,
      })!.incident.id;
      const answers = ['s', 'y', 'processor-1 hung in CONFIGURE; RECOVER worked'];
      const asked: string[] = [];
      const said: string[] = [];
      const r = await walkRunbook(
        new PlatformClient(url, 'expert-token-0123456789'),
        'TransitionTimeout',
        id,
        {
          ask: (q) => (asked.push(q), Promise.resolve(answers.shift() ?? 'q')),
          say: (l) => said.push(l),
        },
      );
      assert.deepEqual(r, { ran: 1, skipped: 1, failed: 0, quit: false });
      assert.equal(asked.length, 3, 'asked before each of the 2 steps, and what was found');
      assert.ok(said.some((l) => /step 2\/2: See which task or hook did not answer/.test(l)));
      const inc = platform.incidents.get(id);
      assert.ok(
        inc.timeline.some(
          (e) =>
            e.who === 'expert:bob' && /manual .*processor-1 hung in CONFIGURE; RECOVER worked/.test(e.text),
        ),
      );
    } finally {
      await app.close();
    }
  });
});
