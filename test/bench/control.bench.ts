/**
 * Control-plane scale: simulated agents in-process (no real workloads), 100 nodes × 100 tasks. Time for
 * DEPLOY + CONFIGURE + START_ACTIVITY of one environment of 10,000 tasks, and the platform's memory.
 * Each node has a readout board carrying one link: one readout per link lands on its board's node and
 * NUMA node, and the processing role spreads over every node (docs/platform.md "Placement").
 * Target ≤ 5 s (seed 002: ALICE's ODC/DDS takes 60–100 s for ~150k tasks on 350 nodes).
 */
import { Environment } from '../../platform/control/environment.js';
import { ResourceLedger } from '../../platform/placement/ledger.js';
import { parseTemplate } from '../../platform/workflow/template.js';
import { SimulatedDriver, simulatedNode } from '../helpers/simulated-driver.js';

export async function benchControlPlane(nodes = 100, tasksPerNode = 100): Promise<number> {
  const driver = new SimulatedDriver();
  driver.keepLog = false;
  const ledger = new ResourceLedger();
  for (let n = 0; n < nodes; n++)
    ledger.addNode({
      ...simulatedNode(`node-${String(n).padStart(3, '0')}`, 2, tasksPerNode / 2),
      devices: [{ name: `board-${n}`, numaNode: 1, links: [n] }],
    });
  const template = parseTemplate(
    `name: scale
roles:
  - name: readout
    tasks:
      - name: readout-{{index}}
        replicas: ${nodes}
        workload: readout
        resources: { cores: 0, memoryMiB: 64, links: ['{{index}}'] }
        config: { link: '{{index}}' }
  - name: workers
    tasks:
      - name: task-{{index}}
        replicas: ${nodes * tasksPerNode - nodes}
        workload: processor
        resources: { cores: 1, memoryMiB: 64 }
        config: { links: [0, 1] }
`,
    'scale.yaml',
  );
  let run = 0;
  const env = new Environment('scale', template, {
    driver,
    ledger,
    nextRun: () => Promise.resolve(++run),
    brokers: ['127.0.0.1:9092'],
    actions: {},
    emit: () => {},
  });
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const times: string[] = [];
  for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) {
    const s = performance.now();
    await env.transition(t);
    times.push(`${t} ${((performance.now() - s) / 1000).toFixed(2)} s`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const mem = process.memoryUsage();
  console.log(
    `  ${nodes} nodes × ${tasksPerNode} tasks = ${nodes * tasksPerNode} tasks (links and spread): DEPLOY + CONFIGURE + START in ${seconds.toFixed(2)} s (${times.join(', ')}); heap +${((mem.heapUsed - heapBefore) / 1024 ** 2).toFixed(0)} MiB, RSS ${(mem.rss / 1024 ** 2).toFixed(0)} MiB (target ≤ 5 s)`,
  );
  if (env.rollUp() !== 'RUNNING') throw new Error(`bench environment is ${env.rollUp()}, not RUNNING`);
  // What placement promised: every readout on its board's node and NUMA node, workers on every node.
  const tasks = env.taskList();
  const misplaced = tasks.filter(
    (t) =>
      t.workload === 'readout' && (t.node !== `node-${t.name.slice(8).padStart(3, '0')}` || t.numa !== 1),
  );
  const workerNodes = new Set(tasks.filter((t) => t.workload === 'processor').map((t) => t.node));
  if (misplaced.length > 0 || workerNodes.size !== nodes)
    throw new Error(
      `placement: ${misplaced.length} readout(s) off their board, workers on ${workerNodes.size} of ${nodes} nodes`,
    );
  return seconds;
}
