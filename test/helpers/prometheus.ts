/** A real Prometheus (Debian package `prometheus`) for tests: started on a free loopback port, stopped after. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../deploy/local/kafka-local.js';
import { startDaemon } from '../../deploy/local/daemon.js';

export interface TestPrometheus {
  readonly url: string;
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

export function prometheusAvailable(): boolean {
  return spawnSync('prometheus', ['--version']).error === undefined;
}

export async function startPrometheus(targets: string[], scrapeIntervalS = 1): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'daqops-prom-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${scrapeIntervalS}s`,
      `  evaluation_interval: ${scrapeIntervalS}s`,
      'scrape_configs:',
      '  - job_name: daqops-agent',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    `${url}/-/ready`,
  );
  return {
    url,
    async query(promql) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await r.json()) as {
        status: string;
        data: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
      return body.data.result;
    },
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
