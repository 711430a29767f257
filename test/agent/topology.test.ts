import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaqError } from '../../protocol/index.js';
import { discoverTopology, formatCpuList, parseCpuList, topologyFromFile } from '../../agent/topology.js';
import { ErsReporter } from '../../lib/ers.js';
import { Supervisor } from '../../agent/supervisor.js';
import { detectPinningTools } from '../../agent/pinning.js';
import type { ErsIssue } from '../../protocol/index.js';
import { until } from '../helpers/until.js';

describe('agent/topology', () => {
  it('reads and writes kernel CPU lists', () => {
    assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
    assert.equal(formatCpuList([11, 10, 0, 1, 2, 3, 8]), '0-3,8,10-11');
    assert.throws(() => parseCpuList('3-1'), /not a CPU list/);
  });

  it('discovers this machine: every CPU in exactly one NUMA node', async () => {
    const t = await discoverTopology();
    const all = t.numa.flatMap((n) => n.cpus).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      cpus().map((_, i) => i),
    );
    assert.ok(t.memoryBytes > 0);
    assert.equal(t.simulated, false);
  });

  it('describes a simulated node from a file and names the bad field otherwise', () => {
    const t = topologyFromFile('test/fixtures/topology-two-numa.yaml');
    assert.equal(t.node, 'daq-ro-01');
    assert.deepEqual(
      t.numa.map((n) => n.cpus.length),
      [8, 8],
    );
    assert.equal(t.devices[0]?.numaNode, 1);
    assert.deepEqual(t.devices[0]?.links, [0, 1]);
    const dir = mkdtempSync(join(tmpdir(), 'daqops-topo-'));
    try {
      writeFileSync(
        join(dir, 'bad.yaml'),
        'node: x\nnuma:\n  - id: 0\n    cpus: "0-3"\n  - id: 1\n    cpus: "3-5"\n',
      );
      assert.throws(
        () => topologyFromFile(join(dir, 'bad.yaml')),
        (e: unknown) => e instanceof DaqError && e.field === 'topology.numa',
      );
      writeFileSync(join(dir, 'bad2.yaml'), 'node: x\nnuma:\n  - id: 0\n    cpus: "zero"\n');
      assert.throws(
        () => topologyFromFile(join(dir, 'bad2.yaml')),
        (e: unknown) => e instanceof DaqError && e.field === 'topology.numa[0].cpus',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent orphans', () => {
  it('stops task processes a previous agent of the node left behind, and only those', async () => {
    const node = `orphan-${process.pid}`;
    const issues: ErsIssue[] = [];
    const ers = new ErsReporter({ application: 'test', sink: (i) => issues.push(i) });
    const old = new Supervisor({ node, ers, forwardErs: () => {}, tools: detectPinningTools() });
    const other = new Supervisor({
      node: `${node}-other`,
      ers,
      forwardErs: () => {},
      tools: detectPinningTools(),
    });
    const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
    const mine = await old.spawn({
      task: 'left',
      environment: 'e',
      kind: 'command',
      config: {},
      argv: idle,
      cpus: [0],
      critical: false,
    });
    const theirs = await other.spawn({
      task: 'keep',
      environment: 'e',
      kind: 'command',
      config: {},
      argv: idle,
      cpus: [0],
      critical: false,
    });
    try {
      // The old agent "dies" without stopping its task; a new one starts.
      const stopped = Supervisor.stopOrphans(node, ers);
      assert.deepEqual(stopped, [mine.pid]);
      await until('the orphan gone', () => {
        try {
          process.kill(mine.pid!, 0);
          return false;
        } catch {
          return true;
        }
      });
      assert.doesNotThrow(() => process.kill(theirs.pid!, 0));
      assert.equal(issues.filter((i) => i.name === 'daqops.agent.OrphanWorkload').length, 1);
    } finally {
      await other.shutdown();
      await old.shutdown();
    }
  });
});
