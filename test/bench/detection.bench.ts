/**
 * From fault to incident: a testbed run with Prometheus and Alertmanager (the shipped rules and
 * intervals), drills injected one after another, and for each the time until (a) an incident is open
 * (the processors' own finding, an ERS issue, or the task's exit) and (b) the Prometheus alert has
 * reached the platform through Alertmanager. Targets: ≤ 5 s in the stream, ≤ 30 s through Prometheus.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTestbed, type Injection } from '../../deploy/local/testbed.js';
import { missingMonitoring, SCRAPE_INTERVAL_S } from '../../deploy/local/monitoring.js';

const DRILLS: { injection: Injection; alert: string; component: string }[] = [
  {
    injection: { kind: 'noisy-channel', atSeconds: 20, fault: { durationSeconds: 40 } },
    alert: 'DaqNoisyChannel',
    component: 'link:1',
  },
  {
    injection: { kind: 'dead-chamber', atSeconds: 20, fault: { chamber: 0, durationSeconds: 40 } },
    alert: 'DaqDeadChamber',
    component: 'link:0',
  },
  {
    injection: { kind: 'stalled-link', atSeconds: 160, fault: { link: 1, durationSeconds: 40 } },
    alert: 'DaqLinkStalled',
    component: 'link:1',
  },
  { injection: { kind: 'crash-processor', atSeconds: 270 }, alert: 'DaqTaskRestarted', component: 'task:' },
];

export async function benchDetection(brokers: readonly string[]): Promise<void> {
  const missing = missingMonitoring();
  if (missing.length > 0) {
    console.log(
      `  skipped: ${missing.join(', ')} not installed (apt-get install prometheus prometheus-alertmanager)`,
    );
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'daqops-bench-detection-'));
  const saved = process.env['DAQOPS_KAFKA_BROKERS'];
  process.env['DAQOPS_KAFKA_BROKERS'] = brokers.join(',');
  try {
    console.log(
      `  Prometheus scrapes and evaluates every ${SCRAPE_INTERVAL_S} s; Alertmanager group_wait 5 s; the processors judge every 1 s over 3 intervals, raising after 2`,
    );
    const log: string[] = [];
    const r = await runTestbed({
      seconds: 320,
      home: join(dir, 'home'),
      dataDir: join(dir, 'data'),
      monitoring: true,
      platformArgs: ['--settle-seconds', '40', '--window-seconds', '60'],
      inject: DRILLS.map((d) => d.injection),
      print: (l) => log.push(l),
    });
    for (const d of DRILLS) {
      const done = r.injected.find((x) => x.injection === d.injection);
      const label = `${d.injection.kind}`.padEnd(16);
      if (done === undefined || done.error !== undefined) {
        console.log(`  ${label} not injected: ${done?.error ?? 'no record'}`);
        continue;
      }
      const inc = r.incidents
        .filter((i) => `${i.root.component.kind}:${i.root.component.id}`.startsWith(d.component))
        .filter((i) => Date.parse(i.openedAt) >= done.atMs - 1000)
        .sort((a, b) => Date.parse(a.openedAt) - Date.parse(b.openedAt))[0];
      const alert = inc?.signals.find((s) => s.source === 'alertmanager' && s.name === d.alert);
      const toIncident = inc === undefined ? undefined : (Date.parse(inc.openedAt) - done.atMs) / 1000;
      const toAlert = alert === undefined ? undefined : (Date.parse(alert.firstSeen) - done.atMs) / 1000;
      console.log(
        `  ${label} incident after ${toIncident === undefined ? 'never' : `${toIncident.toFixed(1)} s`} (target ≤ 5 s in the stream) · ${d.alert} on it after ${toAlert === undefined ? 'never' : `${toAlert.toFixed(1)} s`} (target ≤ 30 s)${inc === undefined ? '' : ` · root ${inc.root.component.kind}:${inc.root.component.id}, runbook ${inc.runbook ?? '-'}`}`,
      );
    }
    console.log(`  run: lost ${r.reconciliation.lost}, ${r.incidents.length} incident(s)`);
  } finally {
    if (saved === undefined) delete process.env['DAQOPS_KAFKA_BROKERS'];
    else process.env['DAQOPS_KAFKA_BROKERS'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}
