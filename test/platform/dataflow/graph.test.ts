import assert from 'node:assert/strict';
import { dataflowGraph } from '../../../platform/dataflow/graph.js';
import { parseTemplate } from '../../../platform/workflow/template.js';

const TEMPLATE = parseTemplate(
  `
name: g
roles:
  - name: readout
    tasks:
      - { name: ro-north, workload: readout, resources: { cores: 1, links: [3] }, config: { link: 3 } }
      - { name: ro-south, workload: readout, resources: { cores: 1, links: [7] }, config: { link: 7 } }
  - name: processing
    tasks:
      - { name: proc-0, workload: processor, resources: { cores: 1 } }
      - { name: proc-1, workload: processor, resources: { cores: 1 } }
  - name: storage
    tasks:
      - { name: writer, workload: writer, resources: { cores: 0 }, config: { dir: /tmp/x } }
`,
  'g.yaml',
);

describe('platform/dataflow/graph', () => {
  it('draws tasks by stage with the topics between, each edge at its own task’s rate, links from the template', () => {
    const { nodes, edges } = dataflowGraph(TEMPLATE, {
      taskEdges: [
        { task: 'ro-north', source: 'link-3', target: 'raw-hits', bytesPerSecond: 300 },
        // Counted by another task for a link it does not read: not ro-south's.
        { task: 'ro-south', source: 'link-3', target: 'raw-hits', bytesPerSecond: 999 },
        { task: 'ro-south', source: 'link-7', target: 'raw-hits', bytesPerSecond: 700 },
        { task: 'proc-0', source: 'raw-hits', target: 'processors', bytesPerSecond: 600 },
        { task: 'proc-1', source: 'raw-hits', target: 'processors', bytesPerSecond: 400 },
        { task: 'proc-0', source: 'processors', target: 'events', bytesPerSecond: 60 },
        { task: 'writer', source: 'events', target: 'writer', bytesPerSecond: 100 },
      ],
    });
    assert.deepEqual(
      nodes.map((n) => [n.id, n.kind, n.column]),
      [
        ['ro-north', 'task', 0],
        ['ro-south', 'task', 0],
        ['proc-0', 'task', 2],
        ['proc-1', 'task', 2],
        ['writer', 'task', 4],
        ['raw-hits', 'topic', 1],
        ['events', 'topic', 3],
      ],
    );
    assert.deepEqual(nodes.find((n) => n.id === 'ro-south')?.links, [7]);
    const rate = (s: string, t: string) =>
      edges.find((e) => e.source === s && e.target === t)?.bytesPerSecond;
    assert.equal(rate('ro-north', 'raw-hits'), 300);
    assert.equal(rate('ro-south', 'raw-hits'), 700, 'its own link, not a name nor another link');
    assert.equal(rate('raw-hits', 'proc-0'), 600);
    assert.equal(rate('raw-hits', 'proc-1'), 400);
    assert.equal(rate('proc-1', 'events'), 0, 'no counter yet: 0');
    assert.equal(rate('events', 'writer'), 100);
    assert.equal(edges.length, 7);
  });
});
