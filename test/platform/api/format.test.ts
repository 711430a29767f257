import assert from 'node:assert/strict';
import { agentLine, envDetail, envLine, runLine } from '../../../platform/api/format.js';

describe('platform/api/format', () => {
  it('writes one line per environment, agent and run, and an environment with its tasks', () => {
    const env = {
      id: 'testbed-abc123',
      template: 'testbed',
      namespace: 'testbed-abc123',
      state: 'RUNNING' as const,
      run: 12,
      rollUp: 'RUNNING',
      allowed: ['STOP_ACTIVITY' as const],
      masks: [],
      tasks: [
        {
          name: 'readout-0',
          workload: 'readout',
          node: 'n1',
          cpus: [0, 1],
          numa: 0,
          memoryMiB: 256,
          critical: false,
          state: 'RUNNING' as const,
          excluded: true,
          pid: 1,
          message: undefined,
        },
        {
          name: 'readout-1',
          workload: 'readout',
          node: 'n2',
          cpus: [],
          numa: 1,
          memoryMiB: 256,
          placement: 'n2, NUMA 1: link 1 → board-b on n2 (NUMA 1)',
          critical: false,
          state: 'LOST' as const,
          excluded: false,
          pid: 2,
          message: 'agent of node n2 lost',
          lostAt: '2026-12-04T20:00:00.000Z',
        },
      ],
    };
    assert.match(envLine(env), /^testbed-abc123 +RUNNING +run 12 +tasks 2 \(RUNNING; 1 LOST, 1 excluded\)$/);
    assert.match(envDetail(env), /\n {2}readout-0 +RUNNING +n1 cpus 0,1 \(non-critical\) EXCLUDED\n/);
    assert.match(
      envDetail(env),
      /\n {2}readout-1 +LOST +n2 cpus shared \(non-critical\) since 2026-12-04T20:00:00\.000Z\n {19}placed n2, NUMA 1: link 1 → board-b on n2 \(NUMA 1\)$/,
      'each task with the reason for its place',
    );
    assert.equal(
      agentLine({ node: 'n1', connected: false, lost: true, tasks: 3, cores: 8, lastSeenMs: 0 }).replace(
        / +/g,
        ' ',
      ),
      'n1 LOST 8 cores, 3 tasks',
    );
    assert.match(
      runLine({
        run: 3,
        environment: 'e',
        template: 't',
        vars: {},
        startedBy: 'shifter:alice',
        start: '2026-12-01T00:00:00Z',
        startCompleted: null,
        end: null,
        endCompleted: null,
        reconciliation: null,
      }),
      /^run 3 +e +by shifter:alice +2026-12-01T00:00:00Z → running$/,
    );
  });
});
