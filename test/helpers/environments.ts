/** Environments on simulated agents for unit tests of the platform's parts, with their store. */
import type { TaskReport } from '../../protocol/agent-link.js';
import type { TaskState } from '../../protocol/states.js';
import { Environment } from '../../platform/control/environment.js';
import { EnvironmentRepository } from '../../platform/control/repository.js';
import type { ControlEvent } from '../../platform/control/types.js';
import { ResourceLedger } from '../../platform/placement/ledger.js';
import type { RecoveryTarget } from '../../platform/recovery/engine.js';
import { parseTemplate } from '../../platform/workflow/template.js';
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

/** The MINI environment created in a repository of environments(). */
export function miniEnvironment(h: ReturnType<typeof environments>): Environment {
  return h.repo.create({ label: 'mini', text: MINI, template: parseTemplate(MINI, 'mini') }, {}, 'x');
}

/** A template of one writer task, named `name` (uploads and template directories in tests). */
export const minimalTemplate = (name: string): string => `name: ${name}
roles:
  - name: work
    tasks:
      - name: worker
        workload: writer
        resources: { cores: 0, memoryMiB: 64 }
        config: {}
`;

/** Recovery that does nothing (tests of the intake that are not about runbooks). */
export const noRecovery: RecoveryTarget = {
  tasksOf: () => [],
  restartTask: () => Promise.resolve(),
  excludeTask: () => Promise.resolve(),
  moveTask: () => Promise.resolve(),
  transition: () => Promise.resolve(),
  audit: () => undefined,
};

/** An agent's report of a task of `environment` (as heartbeats and task events carry it). */
export function taskReport(
  environment: string,
  task: string,
  kind: string,
  state: TaskState,
  more: Partial<TaskReport> = {},
): TaskReport {
  return {
    task,
    environment,
    kind,
    state,
    pid: undefined,
    restarts: 0,
    cpus: undefined,
    mems: undefined,
    failed: state === 'ERROR',
    ...more,
  };
}
