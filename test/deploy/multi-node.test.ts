/**
 * Several nodes for real (docs/multi-node.md): three agents, each in its own network namespace with its
 * own address, a platform and a broker on a bridge they reach over their veth pairs — no loopback
 * between them. Real processes, real Kafka. Needs root (CI runs as root); the namespaces and links are
 * made and removed here, also when the test fails.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectRun } from '../../agent/workloads/writer/inspect.js';
import { runDir } from '../../agent/workloads/writer/run-store.js';
import { formatReconciliation } from '../../lib/reconcile.js';
import type { EnvironmentView } from '../../platform/platform.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { netnsAvailable } from '../helpers/netns.js';
import { until } from '../helpers/until.js';

/** Three links on two boards: board-a carries links 0 and 1, board-b link 2; node-c has none. */
const TEMPLATE = `name: three-links
roles:
  - name: readout
    tasks:
      - name: readout-{{index}}
        replicas: 3
        workload: readout
        critical: false
        resources: { cores: 0, memoryMiB: 256, links: ['{{index}}'] }
        config:
          namespace: '{{namespace}}'
          link: '{{index}}'
          chambers: 6
          pacing: realtime
          source: { type: emulator, muonRateHz: 300, noiseRateHzPerChannel: 50 }
  - name: processing
    tasks:
      - name: processor-{{index}}
        replicas: 3
        workload: processor
        resources: { cores: 1, memoryMiB: 512 }
        config: { namespace: '{{namespace}}', chambers: 6, links: [0, 1, 2] }
  - name: storage
    tasks:
      - name: writer
        workload: writer
        # Near its disk (board-a's node here): never on node-c, the node the tests cut off.
        resources: { cores: 0, memoryMiB: 512, near: board-a }
        config: { namespace: '{{namespace}}', dataDir: '{{dataDir}}' }
vars:
  namespace: three-links
`;

const NODES = [
  { name: 'node-a', devices: '[{ name: board-a, numaNode: 0, links: [0, 1] }]' },
  { name: 'node-b', devices: '[{ name: board-b, numaNode: 0, links: [2] }]' },
  { name: 'node-c', devices: '[]' },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  readonly c: Cluster;
  readonly env: EnvironmentView;
  readonly run: number;
  readonly dataDir: string;
  /** Hits processed so far in the run. */
  processed(): Promise<number>;
}

/**
 * A cluster of NODES with the three-link environment RUNNING and hits of every link processed; `body`
 * gets it, and the cluster, the namespaces and the broker are gone afterwards, also when it fails. A
 * failure carries the processes' last lines.
 */
async function withRunning(body: (r: Running) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'daqops-multi-'));
  let c: Cluster | undefined;
  try {
    // The platform's defaults: a node silent for 5 heartbeats of 1 s is lost, well inside a 30 s cut.
    c = await startCluster(dir, NODES);
    const { api } = c;
    const dataDir = join(dir, 'data');
    const created = await api.createEnvironment({ yaml: TEMPLATE }, { dataDir });
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY']) await api.transition(created.id, t);
    const env = await api.environment(created.id);
    const run = env.run!;
    await until(
      'hits of every link to be processed',
      async () => {
        const b = (await api.runBalance(run)).reconciliation;
        return b !== null && ['0', '1', '2'].every((l) => (b.perLink[l]?.processed ?? 0) > 1000);
      },
      120_000,
    );
    const processed = async (): Promise<number> =>
      (await api.runBalance(run)).reconciliation?.processed.hits ?? 0;
    await body({ c, env, run, dataDir, processed });
  } catch (err) {
    const last = c?.lines.slice(-60).join('\n') ?? '';
    throw new Error(`${String(err)}\nlast lines:\n${last}`, { cause: err });
  } finally {
    await c?.stop();
    if (process.env['DAQOPS_KEEP_TEST_DIR'] === undefined) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir} (DAQOPS_KEEP_TEST_DIR)`);
  }
}

/** Stops the run: lost 0 and no event stored twice; returns the balance. */
async function stopClean(r: Running): Promise<void> {
  await r.c.api.transition(r.env.id, 'STOP_ACTIVITY');
  const balance = (await r.c.api.runBalance(r.run)).reconciliation!;
  assert.equal(balance.lost, 0, JSON.stringify(balance));
  assert.ok(balance.produced.words > 0);
  const stored = inspectRun(runDir(r.dataDir, r.run));
  assert.ok(stored.events > 0, 'events stored');
  assert.equal(stored.duplicateIds, 0, 'no event stored twice');
  await r.c.api.transition(r.env.id, 'EXIT');
}

/** Every task of the environment runs as exactly one process, on the node the platform says. */
function oneCopyEach(c: Cluster, env: EnvironmentView, now: EnvironmentView): string | undefined {
  const copies = c.copies();
  for (const t of now.tasks) {
    if (t.state === 'LOST' || t.excluded) continue;
    const where = copies.get(`${env.id}/${t.name}`) ?? [];
    if (where.length !== 1 || where[0] !== t.node)
      return `${t.name}: the platform says ${t.node}, processes on [${where.join(', ')}]`;
  }
  return undefined;
}

describe('several nodes, each in its own network namespace (real platform, agents and Kafka)', function () {
  this.timeout(600_000);

  before(function () {
    if (!netnsAvailable()) this.skip(); // not root: namespaces cannot be made (CI runs as root)
  });

  it('puts each readout on its board’s node and NUMA node, spreads the processors, says why; a drain mid-run moves them on, lost = 0', async () => {
    await withRunning(async (r) => {
      const { api } = r.c;
      const at = (task: string) => r.env.tasks.find((t) => t.name === task)!;
      assert.deepEqual(
        ['readout-0', 'readout-1', 'readout-2'].map((t) => [t, at(t).node, at(t).numa]),
        [
          ['readout-0', 'node-a', 0],
          ['readout-1', 'node-a', 0],
          ['readout-2', 'node-b', 0],
        ],
        'each readout where its fibre ends',
      );
      assert.match(at('readout-2').placement ?? '', /link 2 → board-b on node-b \(NUMA 0\)/);
      assert.deepEqual(
        new Set(['processor-0', 'processor-1', 'processor-2'].map((t) => at(t).node)),
        new Set(['node-a', 'node-b', 'node-c']),
        'one processor per node: no node takes the whole group',
      );
      assert.match(at('processor-1').placement ?? '', /spread: 0 other processing task\(s\)/);
      assert.equal(at('writer').node, 'node-a', 'the writer near its disk');

      // Drain node-c mid-run: what it holds moves off it (a processor stoplessly), the run goes on.
      const onC = r.env.tasks.filter((t) => t.node === 'node-c').map((t) => t.name);
      assert.ok(onC.length > 0, 'node-c holds a processor');
      const drained = await api.drainNode('node-c', 'test: drain mid-run');
      assert.deepEqual(drained.failed, [], 'every move succeeded');
      const after = await api.environment(r.env.id);
      assert.equal(after.state, 'RUNNING');
      for (const name of onC) {
        const t = after.tasks.find((x) => x.name === name)!;
        assert.notEqual(t.node, 'node-c', `${name} left the drained node`);
        assert.equal(t.state, 'RUNNING', `${name} runs on ${t.node}`);
      }
      assert.ok((await api.agents()).find((a) => a.node === 'node-c')?.cordoned, 'shown drained');
      await until(
        'one copy of each task after the move',
        async () => oneCopyEach(r.c, r.env, await api.environment(r.env.id)) === undefined,
        30_000,
      );
      const before = await r.processed();
      await until(
        'hits to go on after the drain',
        async () => (await r.processed()) > before + 5000,
        120_000,
      );
      await api.uncordonNode('node-c');
      assert.equal((await api.agents()).find((a) => a.node === 'node-c')?.cordoned, false, 'uncordoned');
      await stopClean(r);
    });
  });

  it('a node cut off for 30 s while the platform moves its processor: one copy of each task once healed, one incident rooted at the node, lost = 0', async () => {
    await withRunning(async (r) => {
      const { api } = r.c;
      const moving = r.env.tasks.find((t) => t.node === 'node-c')!;
      assert.equal(moving.workload, 'processor', 'node-c holds a processor alone');
      const cutAt = Date.now();
      r.c.cut('node-c', true);
      await until(
        `the platform to move ${moving.name} off the cut-off node`,
        async () => {
          const t = (await api.environment(r.env.id)).tasks.find((x) => x.name === moving.name)!;
          return t.node !== 'node-c' && t.state === 'RUNNING';
        },
        60_000,
      );
      const during = await api.environment(r.env.id);
      assert.equal(during.state, 'RUNNING', 'the run goes on while the node is away');
      const before = await r.processed();
      await until(
        'hits to go on without the node',
        async () => (await r.processed()) > before + 5000,
        60_000,
      );
      // The fault lasts 30 s: how long the node is away is the scenario, not a wait for something.
      await sleep(Math.max(0, cutAt + 30_000 - Date.now()));
      r.c.cut('node-c', false);
      await until(
        'node-c to join again',
        async () => (await api.agents()).find((a) => a.node === 'node-c')?.connected === true,
        60_000,
      );
      // The copy node-c kept running is superseded: stopped, so exactly one copy of each task runs.
      await until(
        'one copy of each task once healed',
        async () => oneCopyEach(r.c, r.env, await api.environment(r.env.id)) === undefined,
        60_000,
      ).catch(async (err: unknown) => {
        const why = oneCopyEach(r.c, r.env, await api.environment(r.env.id));
        throw new Error(`${String(err)}: ${why}`);
      });
      const healed = await api.environment(r.env.id);
      assert.equal(healed.state, 'RUNNING');
      assert.ok(
        healed.tasks.every((t) => t.state === 'RUNNING'),
        healed.tasks.map((t) => `${t.name} ${t.state}`).join(', '),
      );
      const more = await r.processed();
      await until('hits to go on once healed', async () => (await r.processed()) > more + 5000, 60_000);
      await stopClean(r);
      const incidents = await api.incidents();
      assert.deepEqual(
        incidents.map((i) => [i.root.name, i.root.component.kind, i.root.component.id]),
        [['AgentLost', 'node', 'node-c']],
        `one incident, rooted at the node:\n${JSON.stringify(incidents, null, 1)}`,
      );
      const superseded = incidents[0]!.timeline.some((e) => /superseded/i.test(e.text));
      assert.ok(
        superseded,
        `the incident says the old copy was stopped:\n${JSON.stringify(incidents[0], null, 1)}`,
      );
    });
  });

  it('a node holding a readout lost (every process SIGKILLed): its task shows LOST, the run goes on, the balance says the link ended without a final report', async () => {
    await withRunning(async (r) => {
      const { api } = r.c;
      const gone = r.env.tasks.filter((t) => t.node === 'node-b').map((t) => t.name);
      assert.ok(gone.includes('readout-2'), 'node-b holds readout-2');
      const link2Before = (await api.runBalance(r.run)).reconciliation!.perLink['2']!.processed;
      await r.c.kill('node-b');
      await until(
        'readout-2 to show LOST',
        async () =>
          (await api.environment(r.env.id)).tasks.find((t) => t.name === 'readout-2')?.state === 'LOST',
        60_000,
      );
      await until(
        'the tasks of node-b that can move to run elsewhere',
        async () => {
          const now = await api.environment(r.env.id);
          return gone
            .filter((n) => n !== 'readout-2')
            .every((n) => {
              const t = now.tasks.find((x) => x.name === n)!;
              return t.node !== 'node-b' && t.state === 'RUNNING';
            });
        },
        60_000,
      );
      const now = await api.environment(r.env.id);
      assert.equal(now.state, 'RUNNING', 'the run goes on without link 2');
      const lost = now.tasks.find((t) => t.name === 'readout-2')!;
      assert.ok(lost.lostAt !== undefined, 'with the time it was lost');
      const before = await r.processed();
      await until(
        'hits of links 0 and 1 to go on',
        async () => (await r.processed()) > before + 5000,
        60_000,
      );
      await r.c.api.transition(r.env.id, 'STOP_ACTIVITY');
      const balance = (await api.runBalance(r.run)).reconciliation!;
      const said = JSON.stringify(balance);
      assert.equal(balance.lost, 0, said);
      assert.equal(balance.readoutFinal, false, 'not every readout sent its final report');
      assert.equal(balance.perLink['2']?.final, false, 'link 2 ended without one');
      assert.equal(balance.perLink['0']?.final, true);
      assert.equal(balance.perLink['1']?.final, true);
      // Link 2 is counted to its readout's last report, and what was processed of it beyond that report is
      // said, not netted against the other links.
      const link2 = balance.perLink['2'];
      assert.ok(link2.processed >= link2Before, `nothing processed of link 2 is forgotten: ${said}`);
      assert.equal(link2.beyondReport, Math.max(0, link2.processed - link2.produced), said);
      for (const l of ['0', '1']) {
        const x = balance.perLink[l]!;
        assert.equal(x.processed, x.produced, `link ${l} balanced to its final report: ${said}`);
      }
      assert.match(
        formatReconciliation(balance),
        /link 2: produced \d+ \(no final report: to its readout's last one/,
      );
      const stored = inspectRun(runDir(r.dataDir, r.run));
      assert.equal(stored.duplicateIds, 0, 'no event stored twice');
    });
  });
});
