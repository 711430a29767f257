import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ErsIssue } from '../../protocol/index.js';
import type { TaskRef, TaskSpec } from '../../protocol/agent-link.js';
import { ErsReporter } from '../../lib/ers.js';
import { Supervisor } from '../../agent/supervisor.js';
import { detectPinningTools, readMemoryPolicy } from '../../agent/pinning.js';
import { RestartPolicy } from '../../agent/restart-policy.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';
import { uniqueNamespace } from '../helpers/data-path.js';

const IDLE = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

function commandTask(task: string, argv: string[], cpus: number[], memoryNode?: number): TaskSpec {
  return { task, environment: 'test', kind: 'command', config: {}, argv, cpus, memoryNode, critical: true };
}

const ref = (task: string): TaskRef => ({ environment: 'test', task });

function harness(restart = { maxRestarts: 5, windowMs: 60_000, initialBackoffMs: 20, maxBackoffMs: 100 }) {
  const issues: ErsIssue[] = [];
  const ers = new ErsReporter({ application: 'test-agent', sink: (i) => issues.push(i) });
  const sup = new Supervisor({
    node: `node-${process.pid}`,
    ers,
    forwardErs: (i) => issues.push(i as ErsIssue),
    tools: detectPinningTools(),
    restart,
    commandTimeoutMs: 20_000,
  });
  return { sup, issues };
}

describe('agent/supervisor', function () {
  this.timeout(120_000);

  it('runs processes on exactly the cores it gave them, memory bound to the NUMA node (checked in /proc)', async () => {
    const { sup, issues } = harness();
    try {
      const a = await sup.spawn(commandTask('pinned-0', IDLE, [0], 0));
      const b = await sup.spawn(commandTask('pinned-1', IDLE, [1], 0));
      assert.equal(a.cpus, '0');
      assert.equal(b.cpus, '1');
      assert.equal(a.state, 'RUNNING');
      if (detectPinningTools().numactl) assert.equal(readMemoryPolicy(a.pid!), 'bind:0');
      assert.equal(issues.filter((i) => i.name === 'daqops.agent.PinningFailed').length, 0);
    } finally {
      await sup.shutdown();
    }
  });

  it('pins no task to a CPU the node does not offer (the agent under taskset or in a cpuset)', async () => {
    const issues: ErsIssue[] = [];
    const ers = new ErsReporter({ application: 'test-agent', sink: (i) => issues.push(i) });
    const sup = new Supervisor({
      node: `offer-${process.pid}`,
      ers,
      forwardErs: () => undefined,
      tools: detectPinningTools(),
      offeredCpus: [0],
    });
    try {
      await assert.rejects(
        () => sup.spawn(commandTask('outside', IDLE, [0, 1])),
        (e: unknown) =>
          e instanceof Error && /CPU\(s\) 1 are not offered by offer-\d+ \(it offers 0\)/.test(e.message),
      );
      assert.equal(sup.get(ref('outside')), undefined, 'nothing was started or kept');
      const inside = await sup.spawn(commandTask('inside', IDLE, [0]));
      assert.equal(inside.cpus, '0');
    } finally {
      await sup.shutdown();
    }
  });

  it('restarts a crash-looping task with backoff and reports it failed after the cap', async () => {
    const { sup, issues } = harness({
      maxRestarts: 3,
      windowMs: 60_000,
      initialBackoffMs: 20,
      maxBackoffMs: 100,
    });
    const events: string[] = [];
    sup.on('task-event', (_t, e) => events.push(e));
    try {
      await sup.spawn(
        commandTask('crasher', [process.execPath, '-e', 'setTimeout(() => process.exit(3), 50)'], [0]),
      );
      const deadline = Date.now() + 20_000;
      while (sup.get(ref('crasher'))?.failed !== true && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const r = sup.get(ref('crasher'))!;
      assert.equal(r.failed, true);
      assert.equal(r.state, 'ERROR');
      assert.equal(r.restarts, 3);
      assert.match(r.message ?? '', /3 restarts/);
      assert.equal(events.filter((e) => e === 'restarted').length, 3);
      assert.equal(issues.filter((i) => i.name === 'daqops.agent.TaskExited').length >= 4, true);
      assert.equal(issues.filter((i) => i.name === 'daqops.agent.TaskFailed').length, 1);
    } finally {
      await sup.shutdown();
    }
  });

  it('drives a real workload through its task state machine over IPC, every command answered or refused', async () => {
    const brokers = await testKafkaBrokers();
    const { sup, issues } = harness();
    const spec: TaskSpec = {
      task: 'proc-ipc',
      environment: 'test',
      kind: 'processor',
      config: { namespace: uniqueNamespace('ipc'), brokers, task: 'proc-ipc', environment: 'test' },
      cpus: [1],
      critical: true,
    };
    try {
      const s = await sup.spawn(spec);
      assert.equal(s.state, 'STANDBY');
      assert.equal(s.cpus, '1');
      // Its malloc arenas limited to 2 (docs/agent.md "Memory").
      const proc = `/proc/${sup.get(ref('proc-ipc'))!.pid!}`;
      assert.ok(readFileSync(`${proc}/environ`, 'utf8').split('\0').includes('MALLOC_ARENA_MAX=2'));
      await assert.rejects(sup.transition(ref('proc-ipc'), 'START'), /cannot take transition START/);
      assert.equal(
        (await sup.transition(ref('proc-ipc'), 'CONFIGURE', { config: spec.config })).state,
        'CONFIGURED',
      );
      assert.equal((await sup.transition(ref('proc-ipc'), 'START', { run: 7 })).state, 'RUNNING');
      const metrics = await sup.metrics();
      assert.ok(
        JSON.stringify(metrics).includes('daq_processor_timeframes_total'),
        `workload metrics over IPC: ${JSON.stringify(metrics.flat().map((x) => (x as { name: string }).name))}`,
      );
      assert.equal((await sup.transition(ref('proc-ipc'), 'STOP')).state, 'CONFIGURED');
      const pid = sup.get(ref('proc-ipc'))!.pid!;
      assert.equal((await sup.transition(ref('proc-ipc'), 'EXIT')).state, 'DONE');
      assert.throws(() => process.kill(pid, 0), 'the workload process is gone after EXIT');
      const bad = { ...spec, task: 'proc-bad' };
      await sup.spawn(bad);
      await assert.rejects(
        sup.transition(ref('proc-bad'), 'CONFIGURE', { config: { link: 'x', namespace: 'a.b', brokers } }),
        /namespace/,
      );
      assert.ok(
        issues.every((i) => i.name !== 'daqops.agent.TaskExited'),
        'no unexpected exit',
      );
    } finally {
      await sup.shutdown();
    }
  });
});

describe('agent/supervisor output capture', () => {
  it('forwards a workload ERS record as is and wraps other output lines as WorkloadOutput issues', async () => {
    const { sup, issues } = harness();
    const record = {
      severity: 'Warning',
      name: 'daqops.processor.CorruptWord',
      message: 'from the workload',
      context: { host: 'h', pid: 1, application: 'x' },
      parameters: {},
      qualifiers: [],
      causes: [],
      time: '2026-11-22T00:00:00Z',
    };
    const script = `console.log(${JSON.stringify(JSON.stringify({ ers: record }))}); console.error('plain complaint'); setInterval(() => {}, 1000);`;
    try {
      await sup.spawn(commandTask('talker', [process.execPath, '-e', script], [0]));
      const deadline = Date.now() + 5000;
      while (issues.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(
        issues.some((i) => i.name === 'daqops.processor.CorruptWord' && i.message === 'from the workload'),
      );
      const wrapped = issues.find((i) => i.name === 'daqops.agent.WorkloadOutput');
      assert.equal(wrapped?.message, 'plain complaint');
      assert.equal(wrapped?.severity, 'Warning');
      assert.equal(wrapped?.parameters['stream'], 'stderr');
    } finally {
      await sup.shutdown();
    }
  });
});

describe('agent/restart-policy', () => {
  it('backs off exponentially and gives up after the cap within the window, then forgives', () => {
    let now = 0;
    const p = new RestartPolicy(
      { maxRestarts: 5, windowMs: 30 * 60_000, initialBackoffMs: 1000, maxBackoffMs: 8000 },
      () => now,
    );
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = p.onExit();
      assert.equal(d.action, 'restart');
      if (d.action === 'restart') delays.push(d.delayMs);
      now += 60_000;
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);
    assert.equal(p.onExit().action, 'give-up');
    now += 30 * 60_000;
    assert.deepEqual(p.onExit(), { action: 'restart', delayMs: 1000, attempt: 1 });
  });
});
