import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTestbed, type TestbedResult } from '../../deploy/local/testbed.js';
import { missingMonitoring, monitoringTargetsFile } from '../../deploy/local/monitoring.js';
import type { Incident } from '../../platform/incidents/types.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';
import { concreteQuery, loadDashboards, panelQueries } from '../helpers/dashboards.js';
import { loadRules, metricsOfExpr } from '../../alerts/rules.js';

/**
 * The whole chain with real parts: a testbed run (platform, agent, workloads, Kafka) scraped by a real
 * Prometheus with the shipped rules, a real Alertmanager posting to the platform. Four drills in one
 * run, spaced so each fault's incident has resolved or gone quiet before the next fault on the same part
 * of the detector (the platform's correlation window is 60 s here, 120 s by default).
 */
describe('the testbed with Prometheus and Alertmanager (drills through the whole chain)', function () {
  this.timeout(15 * 60_000);
  let dir: string;
  let saved: string | undefined;
  let result: TestbedResult;
  let lines: string[];
  /** Dashboard panel queries that returned nothing over the run, from the Prometheus that scraped it. */
  const empty: string[] = [];
  /** Metrics the rules read that Prometheus never saw during the run. */
  const unscraped: string[] = [];
  let queried = 0;

  before(async function () {
    const missing = missingMonitoring();
    if (missing.length > 0)
      throw new Error(`${missing.join(', ')} missing: apt-get install prometheus prometheus-alertmanager`);
    const brokers = await testKafkaBrokers();
    dir = mkdtempSync(join(tmpdir(), 'daqops-monitoring-'));
    saved = process.env['DAQOPS_KAFKA_BROKERS'];
    process.env['DAQOPS_KAFKA_BROKERS'] = brokers.join(',');
    lines = [];
    const run = runTestbed({
      seconds: 320,
      home: join(dir, 'home'),
      dataDir: join(dir, 'data'),
      monitoring: true,
      // Settle 40 s: a crash's incident is still open when its Prometheus alert arrives (≤ 30 s).
      platformArgs: ['--settle-seconds', '40', '--window-seconds', '60'],
      inject: [
        { kind: 'noisy-channel', atSeconds: 15, fault: { durationSeconds: 40 } },
        { kind: 'dead-chamber', atSeconds: 15, fault: { chamber: 0, durationSeconds: 40 } },
        { kind: 'stalled-link', atSeconds: 160, fault: { link: 1, durationSeconds: 40 } },
        { kind: 'crash-processor', atSeconds: 270 },
      ],
      print: (l) => lines.push(l),
      onStopped: async (_stack, _env, monitoring) => {
        // Every metric a rule reads, emitted by the live testbed (or Prometheus itself).
        const { alerts, records } = loadRules();
        const recorded = new Set(records.map((r) => r.record));
        const metrics = new Set(
          [...alerts, ...records].flatMap((r) => metricsOfExpr(r.expr)).filter((m) => !recorded.has(m)),
        );
        for (const m of metrics) {
          const query = `count(last_over_time({__name__="${m}"}[10m]))`;
          const body = (await (
            await fetch(`${monitoring!.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`)
          ).json()) as { data?: { result: unknown[] } };
          if ((body.data?.result.length ?? 0) === 0) unscraped.push(m);
        }
        // Every panel of every dashboard, as Grafana would ask for the run's window.
        const end = Date.now() / 1000;
        const start = end - 330;
        for (const [name, d] of loadDashboards()) {
          for (const { panel, expr } of panelQueries(d)) {
            queried++;
            const url = `${monitoring!.prometheusUrl}/api/v1/query_range?${new URLSearchParams({
              query: concreteQuery(expr),
              start: String(start),
              end: String(end),
              step: '5',
            }).toString()}`;
            const body = (await (await fetch(url)).json()) as {
              status: string;
              data?: { result: unknown[] };
            };
            if (body.status !== 'success' || (body.data?.result.length ?? 0) === 0)
              empty.push(`${name}/${panel}: ${expr}`);
          }
        }
      },
    });
    // A run that fails says what the testbed printed up to then (incidents, transitions, ERS errors).
    result = await run.catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast lines printed:\n${lines.slice(-120).join('\n')}`);
    });
  });

  after(() => {
    if (saved === undefined) delete process.env['DAQOPS_KAFKA_BROKERS'];
    else process.env['DAQOPS_KAFKA_BROKERS'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  const withAlert = (name: string): Incident[] =>
    result.incidents.filter((i) => i.signals.some((s) => s.source === 'alertmanager' && s.name === name));

  function oneIncident(alert: string, root: string, runbook: string): Incident {
    const found = withAlert(alert);
    assert.equal(found.length, 1, `${alert}: ${found.length} incidents\n${lines.join('\n')}`);
    const inc = found[0]!;
    assert.equal(`${inc.root.component.kind}:${inc.root.component.id}`, root, `${alert}: root`);
    assert.equal(inc.runbook, runbook, `${alert}: runbook`);
    return inc;
  }

  it('ends the run with lost 0 and every drill injected', () => {
    assert.equal(result.reconciliation.lost, 0, lines.join('\n'));
    assert.deepEqual(
      result.injected.map((d) => d.error),
      [undefined, undefined, undefined, undefined],
    );
    // The platform kept Prometheus' targets: the agent, found without editing any file.
    const targets = JSON.parse(readFileSync(monitoringTargetsFile(join(dir, 'home')), 'utf8')) as {
      targets: string[];
      labels: { node: string };
    }[];
    assert.equal(targets.length, 1);
    assert.match(targets[0]!.targets[0]!, /^127\.0\.0\.1:\d+$/);
  });

  it('a noisy channel: DaqNoisyChannel lands as one incident rooted at its link, runbook NoisyChannel', () => {
    const inc = oneIncident('DaqNoisyChannel', 'link:1', 'NoisyChannel');
    // The processors' own finding opened it within seconds; the alert joined it.
    assert.ok(inc.signals.some((s) => s.source === 'ers' && s.name === 'daqops.processor.NoisyChannel'));
  });

  it('a dead chamber: DaqDeadChamber lands as one incident rooted at its link, runbook DeadChamber', () => {
    oneIncident('DaqDeadChamber', 'link:0', 'DeadChamber');
  });

  it('a stalled link: DaqLinkStalled lands as one incident rooted at the link, runbook LinkStalled', () => {
    oneIncident('DaqLinkStalled', 'link:1', 'LinkStalled');
  });

  it('a crashed processor: DaqTaskRestarted lands as one incident rooted at the task, runbook WorkloadCrash', () => {
    const found = withAlert('DaqTaskRestarted');
    assert.equal(found.length, 1, lines.join('\n'));
    assert.match(`${found[0]!.root.component.kind}:${found[0]!.root.component.id}`, /^task:processor-\d$/);
    assert.equal(found[0]!.runbook, 'WorkloadCrash', 'the crash opened it; the alert joined');
    assert.ok(found[0]!.signals.some((s) => s.name === 'TaskExited'));
  });

  it('saw every metric an alert rule reads emitted by the live testbed', () => {
    assert.deepEqual(unscraped, []);
  });

  it('has data for every dashboard panel in the Prometheus that scraped the run', () => {
    assert.ok(queried >= 30, `${queried} queries`);
    assert.deepEqual(empty, []);
  });

  it('says in the summary what each drill became', () => {
    const summary = lines.filter((l) => /^\s+drill /.test(l));
    assert.equal(summary.length, 4, lines.join('\n'));
    for (const l of summary) assert.match(l, /→ incident #\d+ .* opened \d+\.\d s after/);
    assert.ok(lines.some((l) => /^monitoring: Prometheus http:\/\/127\.0\.0\.1:\d+/.test(l)));
    assert.ok(
      lines.some((l) => /alerts .*DaqNoisyChannel/.test(l)),
      'a live line shows the alert firing',
    );
  });
});
