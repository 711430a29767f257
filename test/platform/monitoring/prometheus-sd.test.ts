import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusSdFile, prometheusTargets } from '../../../platform/monitoring/prometheus-sd.js';
import { as, setup } from '../../helpers/api.js';

describe('platform/monitoring/prometheus-sd (Prometheus finds the agents through the platform)', () => {
  it('lists every agent with a /metrics address, labelled by node, in a stable order', () => {
    assert.deepEqual(
      prometheusTargets([
        { node: 'b', metrics: '10.0.0.2:9464' },
        { node: 'c', metrics: undefined },
        { node: 'a', metrics: '10.0.0.1:9464' },
      ]),
      [
        { targets: ['10.0.0.1:9464'], labels: { node: 'a' } },
        { targets: ['10.0.0.2:9464'], labels: { node: 'b' } },
      ],
    );
  });

  it('rewrites its file_sd file only when the targets change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqops-sd-'));
    try {
      const file = join(dir, 'sd', 'targets.json');
      const sd = new PrometheusSdFile(file);
      assert.equal(sd.update([]), true);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), []);
      assert.equal(sd.update([{ node: 'a', metrics: '127.0.0.1:1' }]), true);
      const mtime = statSync(file).mtimeMs;
      assert.equal(sd.update([{ node: 'a', metrics: '127.0.0.1:1' }]), false, 'same targets, no write');
      assert.equal(statSync(file).mtimeMs, mtime);
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), [
        { targets: ['127.0.0.1:1'], labels: { node: 'a' } },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the same targets for http_sd_configs, to viewers', async () => {
    const { app } = setup();
    const r = await app.inject({ method: 'GET', url: '/api/v1/prometheus/targets', headers: as('viewer') });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), []);
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/prometheus/targets' })).statusCode, 401);
  });
});
