/**
 * A real Alertmanager (Debian package `prometheus-alertmanager`) for tests: one route to a webhook (the
 * platform's `/api/v1/alerts/alertmanager` with a bearer token), short group timings, a free loopback
 * port, no clustering; stopped after.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../deploy/local/kafka-local.js';
import { startDaemon } from '../../deploy/local/daemon.js';

export const ALERTMANAGER = 'prometheus-alertmanager';

export function alertmanagerAvailable(): boolean {
  return spawnSync(ALERTMANAGER, ['--version']).error === undefined;
}

export interface TestAlertmanager {
  readonly url: string;
  /** Posts alerts to its API v2, as Prometheus does. */
  post(alerts: readonly object[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startAlertmanager(webhookUrl: string, token: string): Promise<TestAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'daqops-am-'));
  const port = await freePort();
  writeFileSync(join(dir, 'token'), token);
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    [
      'route:',
      '  receiver: daqops',
      "  group_by: ['alertname', 'environment']",
      '  group_wait: 1s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: daqops',
      '    webhook_configs:',
      `      - url: '${webhookUrl}'`,
      '        send_resolved: true',
      '        http_config:',
      '          authorization:',
      `            credentials_file: '${join(dir, 'token')}'`,
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon(
    ALERTMANAGER,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    `${url}/-/ready`,
  );
  return {
    url,
    async post(alerts) {
      const r = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!r.ok) throw new Error(`alertmanager refused the alerts: ${r.status} ${await r.text()}`);
    },
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
