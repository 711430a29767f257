import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaqError } from '../../protocol/index.js';
import {
  affinityFromStatus,
  cgroupMemoryLimit,
  confine,
  discoverTopology,
  formatCpuList,
  parseCpuList,
  topologyFromFile,
} from '../../agent/topology.js';
import type { NodeTopology } from '../../protocol/agent-link.js';
import { daqopsArgv } from '../helpers/daqops.js';
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
      writeFileSync(
        join(dir, 'bad3.yaml'),
        'node: x\nnuma:\n  - id: 0\n    cpus: "0"\ndevices:\n  - name: b\n    links: [0, "one"]\n',
      );
      assert.throws(
        () => topologyFromFile(join(dir, 'bad3.yaml')),
        (e: unknown) => e instanceof DaqError && e.field === 'topology.devices[0].links[1]',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('agent/topology: what the agent may use', () => {
  const machine = [
    { id: 0, cpus: [0, 1, 2, 3], memoryBytes: 8 * 1024 ** 3 },
    { id: 1, cpus: [4, 5, 6, 7], memoryBytes: 8 * 1024 ** 3 },
  ];

  it('reads the affinity lists of /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1,4\nMems_allowed_list:\t0\n';
    assert.deepEqual(affinityFromStatus(status), { cpus: [0, 1, 4], mems: [0] });
    assert.deepEqual(affinityFromStatus('Name:\tx\n'), { cpus: undefined, mems: undefined });
  });

  it('offers the allowed CPUs of each NUMA node, and no NUMA node without one', () => {
    const whole = confine(machine, { cpus: [0, 1, 2, 3, 4, 5, 6, 7], mems: [0, 1] });
    assert.deepEqual(whole.because, [], 'nothing restricted, nothing said');
    assert.deepEqual(whole.numa, machine);
    const one = confine(machine, { cpus: [2] });
    assert.deepEqual(
      one.numa.map((n) => [n.id, n.cpus]),
      [[0, [2]]],
    );
    assert.match(one.because.join(';'), /allows 1 of the machine's 8 CPUs/);
    assert.match(one.because.join(';'), /NUMA node\(s\) 1 not offered/);
    const mems = confine(machine, { cpus: [0, 4], mems: [1] });
    assert.deepEqual(
      mems.numa.map((n) => [n.id, n.cpus]),
      [[1, [4]]],
      'a NUMA node whose memory may not be taken is not offered',
    );
  });

  it('shrinks memory to the cgroup limit, in proportion across NUMA nodes', () => {
    const c = confine(machine, { memory: { bytes: 4 * 1024 ** 3, file: '/sys/fs/cgroup/x/memory.max' } });
    assert.deepEqual(
      c.numa.map((n) => n.memoryBytes),
      [2 * 1024 ** 3, 2 * 1024 ** 3],
    );
    assert.match(c.because[0]!, /memory limited to 4\.0 GiB by \/sys\/fs\/cgroup\/x\/memory\.max/);
    const above = confine(machine, { memory: { bytes: 64 * 1024 ** 3, file: 'f' } });
    assert.deepEqual(above.because, [], 'a limit above the machine restricts nothing');
  });

  it("takes the tightest memory limit from the agent's cgroup up to the root (v2 and v1)", () => {
    const root = mkdtempSync(join(tmpdir(), 'daqops-cgroup-'));
    try {
      mkdirSync(join(root, 'kubepods', 'pod1', 'agent'), { recursive: true });
      writeFileSync(join(root, 'kubepods', 'memory.max'), `${6 * 1024 ** 3}\n`);
      writeFileSync(join(root, 'kubepods', 'pod1', 'memory.max'), `${2 * 1024 ** 3}\n`);
      writeFileSync(join(root, 'kubepods', 'pod1', 'agent', 'memory.max'), 'max\n');
      assert.deepEqual(cgroupMemoryLimit('0::/kubepods/pod1/agent\n', root), {
        bytes: 2 * 1024 ** 3,
        file: join(root, 'kubepods', 'pod1', 'memory.max'),
      });
      assert.equal(cgroupMemoryLimit('0::/elsewhere\n', root), undefined, 'no limit file, no limit');
      mkdirSync(join(root, 'memory', 'daq'), { recursive: true });
      writeFileSync(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
      writeFileSync(join(root, 'memory', 'daq', 'memory.limit_in_bytes'), `${3 * 1024 ** 3}\n`);
      assert.deepEqual(cgroupMemoryLimit('4:memory:/daq\n2:cpu,cpuacct:/daq\n', root), {
        bytes: 3 * 1024 ** 3,
        file: join(root, 'memory', 'daq', 'memory.limit_in_bytes'),
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('advertises one CPU when started under taskset -c 0, says why, and reads this machine otherwise', async () => {
    const out = execFileSync('taskset', ['-c', '0', ...daqopsArgv('agent', 'topology', '--json').flat()], {
      encoding: 'utf8',
    });
    const t = JSON.parse(out) as NodeTopology;
    assert.deepEqual(
      t.numa.flatMap((n) => n.cpus),
      [0],
    );
    if (cpus().length > 1) {
      assert.equal(t.restricted?.machineCpus, cpus().length);
      assert.match(t.restricted.because.join(';'), /CPU affinity 0 allows 1 of/);
    }
    const here = await discoverTopology({ confinement: { cpus: [0] } });
    assert.deepEqual(
      here.numa.flatMap((n) => n.cpus),
      [0],
    );
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
