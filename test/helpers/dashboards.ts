/** The checked-in dashboards as data, for the lint test and the live-data check. */
import { readFileSync } from 'node:fs';
import { dashboardFile, generatedDashboards } from '../../dashboards/generate.js';

export interface Target {
  expr: string;
  datasource?: { type?: string; uid?: string };
  refId: string;
}
export interface Panel {
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Target[];
}
export interface Dashboard {
  uid: string;
  description: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown }[] };
}

export function loadDashboards(): Map<string, Dashboard> {
  return new Map(
    [...generatedDashboards().keys()].map((name) => [
      name,
      JSON.parse(readFileSync(dashboardFile(name), 'utf8')) as Dashboard,
    ]),
  );
}

export function panelQueries(d: Dashboard): { panel: string; expr: string }[] {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', expr: t.expr })));
}

/** A panel query as Grafana would send it for the whole daqops scope and the given window. */
export function concreteQuery(expr: string, rateInterval = '30s'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$job', 'daqops-.*')
    .replaceAll('$instance', '.+')
    .replaceAll('$environment', '.+');
}
