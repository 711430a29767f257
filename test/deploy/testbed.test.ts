import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTestbed } from '../../deploy/local/testbed.js';
import { inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';

describe('deploy/local/testbed (the README main job)', function () {
  this.timeout(180_000);

  it('runs readout, processors and writer as processes and ends with lost = 0 and every event stored', async () => {
    const brokers = await testKafkaBrokers();
    const dataDir = mkdtempSync(join(tmpdir(), 'daqops-testbed-'));
    const saved = process.env['DAQOPS_KAFKA_BROKERS'];
    process.env['DAQOPS_KAFKA_BROKERS'] = brokers.join(',');
    const lines: string[] = [];
    try {
      const r = await runTestbed({ seconds: 2, dataDir, print: (l) => lines.push(l) });
      assert.equal(r.reconciliation.lost, 0, lines.join('\n'));
      assert.ok(r.reconciliation.produced.hits > 10_000);
      assert.ok(r.reconciliation.events.built > 500, `${r.reconciliation.events.built} events`);
      assert.equal(r.reconciliation.events.stored, r.reconciliation.events.built);
      const inspection = inspectRun(runDir(dataDir, 1));
      assert.equal(inspection.events, r.reconciliation.events.built);
      assert.equal(inspection.duplicateIds, 0);
      const output = lines.join('\n');
      assert.match(output, /^\s+lost\s+0$/m, 'the reconciliation is printed');
      assert.match(output, /drift time \(ns\)/, 'the inspection is printed');
    } finally {
      if (saved === undefined) delete process.env['DAQOPS_KAFKA_BROKERS'];
      else process.env['DAQOPS_KAFKA_BROKERS'] = saved;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
