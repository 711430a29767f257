import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DaqError } from '../../../protocol/index.js';
import type { NodeTopology } from '../../../protocol/agent-link.js';
import { ResourceLedger, type PlacementRequest } from '../../../platform/placement/ledger.js';

function node(
  name: string,
  numaCpus: number[][],
  devices: NodeTopology['devices'] = [],
  memGiB = 8,
): NodeTopology {
  let next = 0;
  return {
    node: name,
    numa: numaCpus.map((n, id) => ({ id, cpus: n.map(() => next++), memoryBytes: memGiB * 1024 ** 3 })),
    memoryBytes: numaCpus.length * memGiB * 1024 ** 3,
    disks: [],
    nics: [],
    devices,
    simulated: true,
  };
}

const req = (task: string, cores: number, more: Partial<PlacementRequest> = {}): PlacementRequest => ({
  task,
  cores,
  memoryMiB: 256,
  ...more,
});

describe('platform/placement/ledger', () => {
  it('puts a task near its device, on the device NUMA node, and keeps a task on one NUMA node', () => {
    const l = new ResourceLedger();
    l.addNode(
      node('a', [
        [0, 0, 0, 0],
        [0, 0, 0, 0],
      ]),
    );
    l.addNode(
      node(
        'b',
        [
          [0, 0, 0, 0],
          [0, 0, 0, 0],
        ],
        [{ name: 'kcu1500-0', numaNode: 1, links: [0, 1] }],
      ),
    );
    const p = l.allocate('env1', [
      req('proc', 3),
      req('ro', 2, { near: 'kcu1500-0' }),
      req('pinned', 2, { numa: 0 }),
    ]);
    const ro = p.find((x) => x.task === 'ro')!;
    assert.equal(ro.node, 'b');
    assert.equal(ro.numa, 1);
    assert.deepEqual(ro.cpus, [4, 5]);
    const proc = p.find((x) => x.task === 'proc')!;
    assert.equal(proc.cpus.length, 3);
    assert.equal(p.find((x) => x.task === 'pinned')!.numa, 0);
  });

  it('refuses an environment that does not fit, names each task and why, and allocates nothing', () => {
    const l = new ResourceLedger();
    l.addNode(node('a', [[0, 0]]));
    l.allocate('first', [req('x', 1)]);
    const before = l.free();
    assert.throws(
      () => l.allocate('second', [req('ok', 1), req('big', 3), req('dev', 1, { near: 'felix' })]),
      (e: unknown) =>
        e instanceof DaqError &&
        e.code === 'PLACEMENT_FAILED' &&
        /big: needs 3 core\(s\) and 256 MiB; at most \d free core/.test(e.message) &&
        /dev: no node has device felix/.test(e.message),
    );
    assert.deepEqual(l.free(), before, 'nothing of the failed environment stays locked');
    assert.equal(l.placement('second').length, 0);
  });

  it('releases on RESET/EXIT and when a node is lost', () => {
    const l = new ResourceLedger();
    l.addNode(node('a', [[0, 0]]));
    l.addNode(node('b', [[0, 0]]));
    l.allocate('e', [req('x', 2), req('y', 2)]);
    assert.throws(() => l.allocate('f', [req('z', 1)]));
    assert.deepEqual(l.removeNode('a'), ['e']);
    l.release('e');
    assert.equal(l.allocate('f', [req('z', 2)])[0]!.node, 'b');
  });

  it('places shared tasks (cores: 0) without locking a core, counting their memory', () => {
    const l = new ResourceLedger();
    l.addNode(node('a', [[0, 0]], [], 1));
    const p = l.allocate('e', [req('proc-0', 1), req('proc-1', 1), req('writer', 0), req('ro', 0)]);
    assert.deepEqual(p.find((x) => x.task === 'writer')?.cpus, []);
    assert.deepEqual(
      p.filter((x) => x.cpus.length > 0).flatMap((x) => x.cpus),
      [0, 1],
    );
    assert.deepEqual(l.free(), [{ node: 'a', numa: 0, freeCores: 0, freeMemoryMiB: 1024 - 4 * 256 }]);
    assert.throws(() => l.allocate('f', [req('more', 0)]), /needs 0 core\(s\) and 256 MiB/);
  });

  it('restores placements from the store and locks them again as their nodes register', () => {
    const l = new ResourceLedger();
    l.addNode(node('a', [[0, 0, 0]]));
    const placed = l.allocate('e', [req('x', 2), req('y', 0)]);
    const reloaded = new ResourceLedger();
    reloaded.restore('e', placed);
    assert.deepEqual(reloaded.free(), [], 'node not registered yet');
    reloaded.addNode(node('a', [[0, 0, 0]]));
    assert.deepEqual(reloaded.free(), l.free());
    reloaded.addNode(node('a', [[0, 0, 0]]));
    assert.deepEqual(reloaded.free(), l.free(), 'a second registration locks nothing twice');
    assert.throws(() => reloaded.allocate('f', [req('z', 2)]), /PLACEMENT|cannot be placed/);
  });

  it('moves one task off a node, or keeps its old place when nothing fits', () => {
    const l = new ResourceLedger();
    l.addNode(node('a', [[0]]));
    l.addNode(node('b', [[0]]));
    l.allocate('e', [req('x', 1), req('y', 1)]);
    const x = l.placement('e').find((p) => p.task === 'x')!;
    assert.throws(() => l.move('e', 'x', x.node, req('x', 1)), /cannot be moved off/);
    assert.deepEqual(
      l.placement('e').find((p) => p.task === 'x'),
      x,
      'the old place is kept',
    );
    l.release('e');
    l.allocate('f', [req('x', 1)]);
    const from = l.placement('f')[0]!.node;
    const moved = l.move('f', 'x', from, req('x', 1));
    assert.notEqual(moved.node, from);
    assert.equal(l.placement('f').length, 1, 'placed once');
    assert.deepEqual(
      l.free().map((n) => [n.node, n.freeCores]),
      [
        ['a', from === 'a' ? 1 : 0],
        ['b', from === 'b' ? 1 : 0],
      ],
      'the old core is free again',
    );
  });

  it('puts a readout on the node whose board carries its link, on the board NUMA node, and says so', () => {
    const l = new ResourceLedger();
    l.addNode(
      node(
        'node-a',
        [
          [0, 0],
          [0, 0],
        ],
        [{ name: 'board-a', numaNode: 1, links: [0] }],
      ),
    );
    l.addNode(
      node(
        'node-b',
        [
          [0, 0],
          [0, 0],
        ],
        [{ name: 'board-b', numaNode: 0, links: [1, 2] }],
      ),
    );
    l.addNode(node('node-c', [[0, 0]]));
    const p = l.allocate('e', [
      req('readout-0', 1, { links: [0], role: 'readout' }),
      req('readout-1', 1, { links: [1], role: 'readout' }),
      req('readout-2', 0, { links: [2], role: 'readout' }),
    ]);
    const at = (t: string) => p.find((x) => x.task === t)!;
    assert.deepEqual(
      ['readout-0', 'readout-1', 'readout-2'].map((t) => [at(t).node, at(t).numa]),
      [
        ['node-a', 1],
        ['node-b', 0],
        ['node-b', 0],
      ],
      'each where its fibre ends, whatever spreading would prefer',
    );
    assert.equal(at('readout-1').reason, 'node-b, NUMA 0: link 1 → board-b on node-b (NUMA 0)');
    // A link no board carries (an emulated readout) is free, and the reason says so.
    const free = l.allocate('f', [req('emulated', 0, { links: [7], role: 'readout' })]);
    assert.match(free[0]!.reason!, /link\(s\) 7 on no registered node's board \(emulated\)/);
  });

  it('refuses links it cannot honour together, naming where each one is', () => {
    const l = new ResourceLedger();
    l.addNode(
      node(
        'node-a',
        [
          [0, 0],
          [0, 0],
        ],
        [{ name: 'board-a', numaNode: 1, links: [0] }],
      ),
    );
    l.addNode(node('node-b', [[0, 0]], [{ name: 'board-b', numaNode: 0, links: [1] }]));
    const fails = (r: PlacementRequest, problem: RegExp) =>
      assert.throws(
        () => l.allocate('e', [r]),
        (e: unknown) => e instanceof DaqError && e.code === 'PLACEMENT_FAILED' && problem.test(e.message),
      );
    fails(
      req('both', 1, { links: [0, 1] }),
      /links?\(s\) 0, 1 are on boards of different nodes \(link 0 → board-a on node-a \(NUMA 1\), link 1 → board-b on node-b/,
    );
    fails(req('half', 1, { links: [0, 5] }), /link\(s\) 5 on no node's board while link\(s\) 0 are wired/);
    fails(req('near', 1, { links: [0], near: 'board-b' }), /near board-b contradicts its links/);
    fails(req('numa', 1, { links: [0], numa: 0 }), /NUMA node 0 contradicts where it must go/);
    fails(req('big', 3, { links: [0] }), /needs 3 core\(s\).*link 0 → board-a on node-a/);
    assert.equal(l.placement('e').length, 0, 'nothing allocated');
    // A readout bound to a lost node's board cannot move.
    l.allocate('g', [req('ro', 0, { links: [1] })]);
    assert.throws(
      () => l.move('g', 'ro', 'node-b', req('ro', 0, { links: [1] })),
      /wired only to node node-b/,
    );
  });

  it('spreads the tasks of one role across the nodes that fit, unless the role packs', () => {
    const l = new ResourceLedger();
    for (const n of ['n1', 'n2', 'n3']) l.addNode(node(n, [[0, 0, 0, 0]]));
    const procs = (role: string, spread: boolean) =>
      Array.from({ length: 4 }, (_, i) => req(`${role}-${i}`, 1, { role, spread }));
    const spread = l.allocate('e', [...procs('processor', true), req('writer', 0, { role: 'storage' })]);
    const perNode = (ps: readonly { node: string; role?: string | undefined }[], role: string) =>
      ['n1', 'n2', 'n3'].map((n) => ps.filter((p) => p.role === role && p.node === n).length);
    assert.deepEqual(perNode(spread, 'processor'), [2, 1, 1], 'no node holds the whole group');
    assert.match(
      spread.find((p) => p.task === 'processor-1')!.reason!,
      /spread: 0 other processor task\(s\) on n\d, the fewest of the 3 nodes that fit/,
    );
    l.release('e');
    const packed = l.allocate('p', procs('packed', false));
    assert.deepEqual(perNode(packed, 'packed'), [4, 0, 0], 'pack: as few nodes as fit');
    assert.match(packed[0]!.reason!, /packed: best fit of 3 nodes/);
    // Moving a spread task off a node keeps the group spread over what is left.
    l.release('p');
    l.allocate('m', procs('processor', true).slice(0, 3));
    const on = l.placement('m').find((p) => p.node === 'n1')!;
    const moved = l.move('m', on.task, 'n1', req(on.task, 1, { role: 'processor', spread: true }));
    assert.notEqual(moved.node, 'n1');
    assert.deepEqual(
      perNode(l.placement('m'), 'processor').slice(1).sort(),
      [1, 2],
      'the moved task joins the node with fewer of its role',
    );
  });

  it('never gives a core to two tasks, nor more memory than a NUMA node has (random nodes and environments)', () => {
    const topo = fc.array(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 2 }), {
      minLength: 1,
      maxLength: 4,
    });
    const envs = fc.array(
      fc.array(
        fc.record({
          cores: fc.integer({ min: 0, max: 4 }),
          numa: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
          memoryMiB: fc.integer({ min: 0, max: 6000 }),
        }),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(
        topo,
        envs,
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        (nodes, environments, releases) => {
          const l = new ResourceLedger();
          nodes.forEach((numa, i) =>
            l.addNode(
              node(
                `n${i}`,
                numa.map((k) => Array.from({ length: k }, () => 0)),
                [],
                4,
              ),
            ),
          );
          const live = new Set<string>();
          environments.forEach((tasks, e) => {
            const env = `env${e}`;
            try {
              l.allocate(
                env,
                tasks.map((t, i) => req(`t${i}`, t.cores, { numa: t.numa, memoryMiB: t.memoryMiB })),
              );
              live.add(env);
            } catch (err) {
              assert.ok(err instanceof DaqError && err.code === 'PLACEMENT_FAILED');
              assert.equal(l.placement(env).length, 0);
            }
            if (releases[e] === true && live.has(env)) {
              l.release(env);
              live.delete(env);
            }
          });
          const owners = new Map<string, string>();
          const memory = new Map<string, number>();
          for (const env of live) {
            for (const p of l.placement(env)) {
              for (const c of p.cpus) {
                const key = `${p.node}/${c}`;
                assert.ok(!owners.has(key), `core ${key} given to ${owners.get(key)} and ${env}/${p.task}`);
                owners.set(key, `${env}/${p.task}`);
              }
              const mk = `${p.node}/${p.numa}`;
              memory.set(mk, (memory.get(mk) ?? 0) + p.memoryMiB);
            }
          }
          for (const m of memory.values()) assert.ok(m <= 4096, `${m} MiB on a 4 GiB NUMA node`);
          const totalFree = l.free().reduce((n, f) => n + f.freeCores, 0);
          assert.equal(
            totalFree + owners.size,
            nodes.flat().reduce((a, b) => a + b, 0),
            'free + locked = all cores',
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
