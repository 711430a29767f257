import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { metricsOfExpr } from '../../alerts/rules.js';
import { GENERATED_MARK } from '../../dashboards/dashboards.js';
import { dashboardFile, generatedDashboards } from '../../dashboards/generate.js';
import { loadDashboards, panelQueries, type Dashboard } from '../helpers/dashboards.js';
import { isCatalogued, metricCatalogue } from '../../protocol/metrics.js';

/** Series that are not daqops' own: Prometheus' and prom-client's process metrics. */
const FOREIGN = new Set(['up', 'ALERTS', 'process_cpu_seconds_total', 'process_resident_memory_bytes']);

function catalogued(name: string): boolean {
  if (isCatalogued(name) || FOREIGN.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return metricCatalogue.some((m) => m.name === base && m.type === 'histogram');
}

describe('dashboards (Grafana, as code)', () => {
  const boards = loadDashboards();

  it('are the JSON the code generates (checked in, marked generated)', () => {
    for (const [name, text] of generatedDashboards()) {
      assert.equal(
        readFileSync(dashboardFile(name), 'utf8'),
        text,
        `dashboards/${name}.json: run npm run dashboards`,
      );
      assert.ok((JSON.parse(text) as Dashboard).description.includes(GENERATED_MARK), name);
    }
    assert.deepEqual([...boards.keys()].sort(), ['dataflow', 'detector', 'node', 'run-control']);
  });

  // The rules of Grafana's dashboard-linter, written as a test.
  describe('pass the dashboard-linter rules', () => {
    for (const [name, d] of loadDashboards()) {
      const panels = d.panels.filter((p) => p.type !== 'row');

      it(`${name}: a templated Prometheus data source everywhere (template-datasource, panel-datasource)`, () => {
        const v = d.templating.list.find((x) => x.name === 'datasource');
        assert.equal(v?.type, 'datasource');
        assert.equal(v?.query, 'prometheus');
        for (const p of panels) {
          assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: panel data source`);
          for (const t of p.targets ?? [])
            assert.equal(t.datasource?.uid, '${datasource}', `${p.title}/${t.refId}`);
        }
      });

      it(`${name}: job and instance variables, and every selector matches on them (template-job/instance, target-job/instance)`, () => {
        for (const v of ['job', 'instance'])
          assert.ok(
            d.templating.list.some((x) => x.name === v && x.type === 'query'),
            `variable ${v}`,
          );
        for (const { panel, expr } of panelQueries(d)) {
          const selectors = [...expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)];
          assert.ok(selectors.length > 0, `${panel}: ${expr}`);
          for (const s of selectors) {
            // The linter's documented exception: ALERTS has only the alert's labels (no job or instance).
            if (s[0].startsWith('ALERTS{')) continue;
            assert.match(s[1]!, /job=~"\$job"/, `${panel}: ${s[0]}`);
            assert.match(s[1]!, /instance=~"\$instance"/, `${panel}: ${s[0]}`);
          }
        }
      });

      it(`${name}: rates over $__rate_interval (target-rate-interval)`, () => {
        for (const { panel, expr } of panelQueries(d)) {
          for (const m of expr.matchAll(/\b(rate|irate|increase)\([^[]*\[([^\]]*)\]/g))
            assert.equal(m[2], '$__rate_interval', `${panel}: ${m[0]}`);
        }
      });

      it(`${name}: every panel has a title, a description and a unit (panel-title-description, panel-units)`, () => {
        assert.ok(panels.length >= 4);
        for (const p of panels) {
          assert.ok((p.title ?? '').length > 3, 'title');
          assert.ok((p.description ?? '').length > 20, `${p.title}: description`);
          assert.ok((p.fieldConfig?.defaults?.unit ?? '') !== '', `${p.title}: unit`);
        }
      });

      it(`${name}: reads only catalogued metrics`, () => {
        const unknown = panelQueries(d).flatMap(({ panel, expr }) =>
          metricsOfExpr(expr)
            .filter((m) => !catalogued(m))
            .map((m) => `${panel}: ${m}`),
        );
        assert.deepEqual(unknown, []);
      });
    }
  });

  it('draw the dataflow as a node graph whose edges and nodes come from one metric', () => {
    const graph = boards.get('dataflow')!.panels.find((p) => p.type === 'nodeGraph');
    assert.ok(graph);
    const [nodes, edges] = graph.targets!;
    assert.match(edges!.expr, /label_join\(.*daq_dataflow_bytes_total.*"id", "->", "source", "target"\)/);
    assert.match(nodes!.expr, /label_replace\(.*"id", "\$1", "target"/);
  });
});
