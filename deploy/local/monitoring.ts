/**
 * Prometheus and Alertmanager for the testbed (docs/alerts.md): started as processes when their Debian
 * binaries are there, with the shipped rules (checked by promtool first: a broken rule file stops here
 * with its error, before anything starts) and the shipped Alertmanager routing, pointed at the platform.
 * Prometheus finds the agents through the platform's file_sd file and scrapes the platform itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import {
  alertmanagerConfigFile,
  amtoolCheckConfig,
  promtoolCheckRules,
  ruleFiles,
} from '../../alerts/rules.js';
import { DaqError } from '../../protocol/errors.js';
import { startDaemon, type Daemon } from './daemon.js';
import { freePort } from './kafka-local.js';

export const PROMETHEUS = 'prometheus';
export const ALERTMANAGER = 'prometheus-alertmanager';
/** Scrape and rule evaluation interval of the shipped setup (the rules' `for:` durations assume it). */
export const SCRAPE_INTERVAL_S = 5;

export interface MonitoringOptions {
  /** Its configuration and data go to `<home>/monitoring`. */
  readonly home: string;
  /** The platform's URL (webhook and scrape target) and a shifter token for the webhook. */
  readonly platformUrl: string;
  readonly webhookToken: string;
  /** The file_sd file the platform keeps (`daqops platform --prometheus-sd`). */
  readonly targetsFile: string;
}

export interface FiringAlert {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing';
  readonly activeAt: string;
}

export interface Monitoring {
  readonly prometheusUrl: string;
  readonly alertmanagerUrl: string;
  readonly scrapeIntervalSeconds: number;
  /** Alerts Prometheus holds now (pending or firing). */
  alerts(): Promise<FiringAlert[]>;
  stop(): Promise<void>;
}

/** Which of the two binaries are missing (empty: both there). */
export function missingMonitoring(): string[] {
  return [PROMETHEUS, ALERTMANAGER].filter((b) => spawnSync(b, ['--version']).error !== undefined);
}

/** The targets file's directory is `<home>/monitoring`; the platform needs it before it starts. */
export function monitoringTargetsFile(home: string): string {
  return join(home, 'monitoring', 'targets.json');
}

export async function startMonitoring(o: MonitoringOptions): Promise<Monitoring> {
  const rules = promtoolCheckRules();
  if (!rules.ok) throw new DaqError('INVALID_RULES', `the alert rules do not load:\n${rules.output}`);
  const dir = join(o.home, 'monitoring');
  mkdirSync(dir, { recursive: true });
  const platform = new URL(o.platformUrl);
  // Alertmanager: the shipped routing, with this platform's webhook URL and token.
  const tokenFile = join(dir, 'platform.token');
  writeFileSync(tokenFile, o.webhookToken, { mode: 0o600 });
  const am = parseYaml(readFileSync(alertmanagerConfigFile(), 'utf8')) as {
    receivers: {
      webhook_configs?: { url: string; http_config?: { authorization?: { credentials_file?: string } } }[];
    }[];
  };
  for (const r of am.receivers)
    for (const w of r.webhook_configs ?? []) {
      w.url = new URL('/api/v1/alerts/alertmanager', platform).toString();
      if (w.http_config?.authorization !== undefined)
        w.http_config.authorization.credentials_file = tokenFile;
    }
  const amFile = join(dir, 'alertmanager.yml');
  writeFileSync(amFile, stringify(am));
  const amCheck = amtoolCheckConfig(amFile);
  if (!amCheck.ok)
    throw new DaqError('INVALID_RULES', `the Alertmanager configuration does not load:\n${amCheck.output}`);
  const amPort = await freePort();
  const alertmanagerUrl = `http://127.0.0.1:${amPort}`;
  const amData = join(dir, 'alertmanager-data');
  rmSync(amData, { recursive: true, force: true });
  const daemons: Daemon[] = [];
  try {
    daemons.push(
      await startDaemon(
        ALERTMANAGER,
        [
          `--config.file=${amFile}`,
          `--storage.path=${amData}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          '--cluster.listen-address=',
        ],
        `${alertmanagerUrl}/-/ready`,
      ),
    );
    const promPort = await freePort();
    const prometheusUrl = `http://127.0.0.1:${promPort}`;
    const promFile = join(dir, 'prometheus.yml');
    writeFileSync(
      promFile,
      stringify({
        global: { scrape_interval: `${SCRAPE_INTERVAL_S}s`, evaluation_interval: `${SCRAPE_INTERVAL_S}s` },
        rule_files: ruleFiles(),
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [
          // The agents, as the platform knows them (a new node is scraped without editing this).
          {
            job_name: 'daqops-agent',
            // The agent's own `node` label and the discovery's are the same name for the same thing.
            honor_labels: true,
            file_sd_configs: [{ files: [o.targetsFile], refresh_interval: '5s' }],
          },
          { job_name: 'daqops-platform', static_configs: [{ targets: [platform.host] }] },
          // Prometheus itself: DaqRuleEvaluationFailing reads its rule-evaluation failures.
          { job_name: 'prometheus', static_configs: [{ targets: [`127.0.0.1:${promPort}`] }] },
        ],
      }),
    );
    const promData = join(dir, 'prometheus-data');
    rmSync(promData, { recursive: true, force: true });
    daemons.push(
      await startDaemon(
        PROMETHEUS,
        [
          `--config.file=${promFile}`,
          `--storage.tsdb.path=${promData}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        `${prometheusUrl}/-/ready`,
      ),
    );
    return {
      prometheusUrl,
      alertmanagerUrl,
      scrapeIntervalSeconds: SCRAPE_INTERVAL_S,
      async alerts() {
        const r = await fetch(`${prometheusUrl}/api/v1/alerts`);
        const body = (await r.json()) as {
          data: { alerts: { labels: Record<string, string>; state: string; activeAt: string }[] };
        };
        return body.data.alerts
          .filter((a) => a.state === 'firing' || a.state === 'pending')
          .map((a) => ({
            name: a.labels['alertname'] ?? '?',
            labels: a.labels,
            state: a.state as 'pending' | 'firing',
            activeAt: a.activeAt,
          }));
      },
      async stop() {
        for (const d of daemons.reverse()) await d.stop();
      },
    };
  } catch (err) {
    for (const d of daemons.reverse()) await d.stop();
    throw err;
  }
}
