/** Environments on simulated agents for unit tests of the platform's parts, with their store. */
import { Environment } from '../../platform/control/environment.js';
import { EnvironmentRepository } from '../../platform/control/repository.js';
import type { ControlEvent } from '../../platform/control/types.js';
import { ResourceLedger } from '../../platform/placement/ledger.js';
import { PlatformStore } from '../../platform/store/store.js';
import { SimulatedDriver, simulatedNode } from './simulated-driver.js';

export const MINI = `
name: mini
roles:
  - name: readout
    tasks:
      - { name: ro-0, workload: readout, critical: false, resources: { cores: 1, links: [0] }, config: { link: 0 } }
  - name: processing
    tasks:
      - { name: proc, workload: processor, resources: { cores: 1 } }
`;

export function environments(store = new PlatformStore(':memory:'), driver = new SimulatedDriver()) {
  const ledger = new ResourceLedger();
  ledger.addNode(simulatedNode('n1', 1, 4));
  ledger.addNode(simulatedNode('n2', 1, 4));
  const events: ControlEvent[] = [];
  let run = 0;
  const repo = new EnvironmentRepository(
    store,
    (id, template, namespace) =>
      new Environment(
        id,
        template,
        {
          driver,
          ledger,
          nextRun: () => Promise.resolve(++run),
          brokers: ['127.0.0.1:9092'],
          actions: {},
          emit: (e) => events.push(e),
        },
        namespace,
      ),
  );
  return { repo, store, driver, ledger, events };
}
