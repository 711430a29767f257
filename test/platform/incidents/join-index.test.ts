import assert from 'node:assert/strict';
import fc from 'fast-check';
import { filedUnder, reaching } from '../../../platform/incidents/join-index.js';
import { DataflowTopology } from '../../../platform/incidents/topology.js';
import type { Component } from '../../../platform/incidents/types.js';

/** A topology of up to 8 tasks over 3 stages, 3 nodes and 4 links (a link may feed two tasks). */
const topologies = fc
  .array(
    fc.record({
      stage: fc.integer({ min: 0, max: 2 }),
      node: fc.constantFrom('n1', 'n2', 'n3'),
      links: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
    }),
    { minLength: 0, maxLength: 8 },
  )
  .map(
    (tasks) =>
      new DataflowTopology(
        'env-1',
        tasks.map((t, i) => ({ name: `t${i}`, workload: 'w', ...t })),
      ),
  );

/** Any component, among them tasks, links and nodes the topology does not have. */
const components: fc.Arbitrary<Component> = fc.oneof(
  fc.record({
    kind: fc.constant('task' as const),
    id: fc.constantFrom('t0', 't1', 't2', 't3', 't7', 'gone'),
  }),
  fc.record({ kind: fc.constant('link' as const), id: fc.constantFrom('0', '1', '2', '3', '9') }),
  fc.record({ kind: fc.constant('node' as const), id: fc.constantFrom('n1', 'n2', 'n3', 'n9') }),
  fc.record({ kind: fc.constant('environment' as const), id: fc.constant('env-1') }),
  fc.record({ kind: fc.constant('kafka' as const), id: fc.constant('127.0.0.1:9092') }),
);

describe('platform/incidents/join-index', () => {
  it('names an incident exactly when one of its components may take the signal (connected, and no task joins through the environment)', () => {
    fc.assert(
      fc.property(topologies, components, components, (topo, filed, signal) => {
        const asked = reaching(signal, topo);
        const may =
          (filed.kind !== 'environment' || signal.kind === 'environment') && topo.connected(filed, signal);
        if (asked === 'all') {
          // Asked of every incident; connected() is then true for each (the caller still checks it).
          assert.equal(topo.connected(filed, signal), true);
          return;
        }
        const met = filedUnder(filed, topo).some((k) => asked.includes(k));
        assert.equal(
          met,
          may,
          `${filed.kind}:${filed.id} filed ${filedUnder(filed, topo).join(',')}; asked ${asked.join(',')}`,
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('files a component the topology does not know under nothing a task, link or node asks', () => {
    const topo = new DataflowTopology('env-1', [
      { name: 'readout-0', workload: 'readout', node: 'n1', stage: 0, links: [0] },
    ]);
    assert.deepEqual(filedUnder({ kind: 'task', id: 'storm-task-7' }, topo), []);
    assert.deepEqual(reaching({ kind: 'task', id: 'storm-task-7' }, topo), ['kafka']);
    assert.equal(reaching({ kind: 'kafka', id: 'b:9092' }, topo), 'all');
  });
});
