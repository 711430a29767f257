/**
 * The API under an alert storm: one Alertmanager webhook of 10,000 alerts over real HTTP, while a
 * shifter's page polls GET /api/v1/environments every 5 ms. Two storms: 10,000 channels of one link (one
 * component: one incident), and 10,000 different tasks (10,000 components, none in the environment's
 * dataflow: an incident each). Prints how long the webhook took to fold and store the storm, and the GET
 * latencies meanwhile. Targets ≤ 5 s and p99 ≤ 200 ms (README), whatever the alerts are about.
 */
import type { AddressInfo } from 'node:net';
import { as, setup } from '../helpers/api.js';

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export type StormShape = 'channels' | 'tasks';

const ABOUT: Record<StormShape, (i: number) => Record<string, string>> = {
  channels: (i) => ({ alertname: 'DaqNoisyChannel', link: '0', channel: String(i) }),
  tasks: (i) => ({ alertname: 'DaqTaskRestarted', task: `storm-task-${i}` }),
};

const RUNBOOK: Record<StormShape, string> = {
  channels: 'runbooks/NoisyChannel.md',
  tasks: 'runbooks/TaskRestarted.md',
};

export async function benchAlertStorm(shape: StormShape, alerts = 10_000): Promise<void> {
  const { app, platform } = setup();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    const env = platform.createEnvironment({ name: 'testbed' }, {}, 'expert:bench');
    const now = new Date().toISOString();
    const body = JSON.stringify({
      version: '4',
      groupKey: `{}:{alertname="${ABOUT[shape](0)['alertname']}"}`,
      status: 'firing',
      receiver: 'daqops',
      alerts: Array.from({ length: alerts }, (_, i) => ({
        status: 'firing',
        labels: {
          severity: 'warning',
          environment: env.id,
          ...ABOUT[shape](i),
        },
        annotations: { summary: `storm alert ${i}`, runbook_url: RUNBOOK[shape] },
        startsAt: now,
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: `storm-${i.toString(16)}`,
      })),
    });
    const headers = { ...as('shifter'), 'content-type': 'application/json' };
    let storming = true;
    const latencies: number[] = [];
    const poll = (async () => {
      while (storming) {
        const t0 = performance.now();
        const r = await fetch(`${url}/api/v1/environments`, { headers: as('viewer') });
        await r.arrayBuffer();
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    const r = await fetch(`${url}/api/v1/alerts/alertmanager`, { method: 'POST', headers, body });
    const answer = (await r.json()) as { incidents?: number[] };
    const seconds = (performance.now() - t0) / 1000;
    storming = false;
    await poll;
    const incidents = answer.incidents ?? [];
    const signals = incidents.reduce((n, id) => n + platform.incidents.get(id).signals.length, 0);
    const sorted = latencies.sort((a, b) => a - b);
    console.log(
      `  ${alerts} alerts about ${alerts} ${shape} in one webhook (${(body.length / 1024 / 1024).toFixed(1)} MiB): answered ${r.status} in ${seconds.toFixed(2)} s (target ≤ 5 s) → ${incidents.length} incident(s) holding ${signals} signals`,
    );
    console.log(
      `  GET /api/v1/environments meanwhile: ${sorted.length} requests, p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms (target ≤ 200 ms), max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`,
    );
  } finally {
    await app.close();
  }
}
