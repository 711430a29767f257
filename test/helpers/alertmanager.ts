/**
 * A real Alertmanager (Debian package `prometheus-alertmanager`) for tests: one route to a webhook (the
 * platform's `/api/v1/alerts/alertmanager` with a bearer token), short group timings, a free loopback
 * port, no clustering; stopped after.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../deploy/local/kafka-local.js';

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
  const child: ChildProcess = spawn(
    ALERTMANAGER,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`alertmanager did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
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
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
