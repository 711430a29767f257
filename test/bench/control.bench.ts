/**
 * Control-plane scale: simulated agents in-process (no real workloads), 100 nodes × 100 tasks. Time for
 * DEPLOY + CONFIGURE + START_ACTIVITY of one environment of 10,000 tasks, and the platform's memory.
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
    ledger.addNode(simulatedNode(`node-${String(n).padStart(3, '0')}`, 2, tasksPerNode / 2));
  const template = parseTemplate(
    `name: scale
roles:
  - name: workers
    tasks:
      - name: task-{{index}}
        replicas: ${nodes * tasksPerNode}
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
    `  ${nodes} nodes × ${tasksPerNode} tasks = ${nodes * tasksPerNode} tasks: DEPLOY + CONFIGURE + START in ${seconds.toFixed(2)} s (${times.join(', ')}); heap +${((mem.heapUsed - heapBefore) / 1024 ** 2).toFixed(0)} MiB, RSS ${(mem.rss / 1024 ** 2).toFixed(0)} MiB (target ≤ 5 s)`,
  );
  if (env.rollUp() !== 'RUNNING') throw new Error(`bench environment is ${env.rollUp()}, not RUNNING`);
  return seconds;
}
