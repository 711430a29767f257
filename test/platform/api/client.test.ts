import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { PlatformClient } from '../../../platform/api/client.js';
import { DaqError } from '../../../protocol/errors.js';
import { setup } from '../../helpers/api.js';

describe('platform/api/client', () => {
  it('drives a platform with typed methods and turns every refusal into a DaqError with its code', async () => {
    const { app } = setup();
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const expert = new PlatformClient(url, 'expert-token-0123456789');
      assert.deepEqual(await expert.templates(), ['testbed']);
      const env = await expert.createEnvironment({ name: 'testbed' }, { muonRateHz: 100 });
      assert.equal(env.state, 'STANDBY');
      assert.equal((await expert.transition(env.id, 'DEPLOY')).state, 'DEPLOYED');
      assert.equal((await expert.environments()).length, 1);
      const refused = async (p: Promise<unknown>, code: string, field?: string) =>
        assert.rejects(
          p,
          (e: unknown) =>
            e instanceof DaqError && e.code === code && (field === undefined || e.field === field),
        );
      await refused(expert.transition(env.id, 'START_ACTIVITY'), 'ILLEGAL_TRANSITION');
      await refused(expert.environment('nope-000000'), 'NOT_FOUND', 'id');
      await refused(expert.createEnvironment({ name: 'testbed' }, { x: null as never }), 'BAD_REQUEST');
      await refused(new PlatformClient(url, undefined).runs(), 'UNAUTHORIZED');
      await refused(new PlatformClient(url, 'viewer-token-0123456789').audit(), 'FORBIDDEN');
    } finally {
      await app.close();
    }
    await assert.rejects(
      new PlatformClient('http://127.0.0.1:9', 't').runs(),
      (e: unknown) => e instanceof DaqError && e.code === 'UNREACHABLE' && e.retriable,
    );
  });
});
