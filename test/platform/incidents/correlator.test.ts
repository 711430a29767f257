import assert from 'node:assert/strict';
import { Correlator } from '../../../platform/incidents/correlator.js';
import { DataflowTopology } from '../../../platform/incidents/topology.js';
import type { Component, SignalInput } from '../../../platform/incidents/types.js';

const TOPO = new DataflowTopology('env-1', [
  { name: 'readout-0', workload: 'readout', node: 'n1', stage: 0, links: [0] },
  { name: 'readout-1', workload: 'readout', node: 'n1', stage: 0, links: [1] },
  { name: 'processor-0', workload: 'processor', node: 'n1', stage: 1, links: [] },
  { name: 'processor-1', workload: 'processor', node: 'n2', stage: 1, links: [] },
  { name: 'writer', workload: 'writer', node: 'n2', stage: 2, links: [] },
]);

function setup() {
  let now = Date.parse('2026-11-22T03:00:00Z');
  const changes: string[] = [];
  const c = new Correlator({
    now: () => now,
    windowMs: 60_000,
    settleMs: 10_000,
    quietMs: 600_000,
    topology: (env) => (env === 'env-1' ? TOPO : undefined),
    onChange: (i, change) => changes.push(`${i.id}:${change}`),
  });
  return { c, changes, advance: (ms: number) => (now += ms) };
}

const sig = (name: string, component: Component, more: Partial<SignalInput> = {}): SignalInput => ({
  fingerprint: `${name}/${component.kind}:${component.id}`,
  source: 'alertmanager',
  name,
  severity: 'warning',
  environment: 'env-1',
  component,
  summary: name,
  at: '2026-11-22T03:00:00Z',
  status: 'firing',
  point: false,
  ...more,
});
const task = (id: string): Component => ({ kind: 'task', id });

describe('platform/incidents/correlator', () => {
  it('folds a storm of 3,000 alerts into one incident, its root and title the same as if ranked from scratch', () => {
    const { c, advance } = setup();
    const first = c.ingest(sig('DataflowStalled', task('writer')))!;
    for (let i = 0; i < 3000; i++) {
      advance(1);
      const comp = i === 2000 ? task('readout-1') : task(i % 2 === 0 ? 'processor-0' : 'processor-1');
      c.ingest(sig(`Storm${i}`, comp, { severity: i === 1500 ? 'critical' : 'warning' }));
    }
    assert.equal(c.incidents.size, 1);
    const inc = c.get(first.incident.id);
    assert.equal(inc.signals.length, 3001);
    assert.deepEqual(inc.root.component, task('readout-1'), 'the most upstream, though it came late');
    assert.equal(inc.severity, 'critical');
    assert.equal(inc.title, 'Storm2000 on task readout-1 (env-1) (+3000 downstream symptoms)');
  });

  it('opens one incident per task the dataflow does not know, and a Kafka signal then joins the latest of them', () => {
    const { c, advance } = setup();
    for (let i = 0; i < 2000; i++) {
      advance(1);
      c.ingest(sig('DaqTaskRestarted', task(`storm-task-${i}`)));
    }
    assert.equal(c.incidents.size, 2000, 'unknown tasks are connected to nothing but Kafka');
    advance(1);
    const k = c.ingest(sig('KafkaUnreachable', { kind: 'kafka', id: '127.0.0.1:9092' }))!;
    assert.equal(k.change, 'signal');
    assert.deepEqual(k.incident.signals[0]!.component, task('storm-task-1999'), 'the latest updated');
    // And a later task signal joins the incident that now holds Kafka.
    advance(1);
    const t = c.ingest(sig('DaqTaskRestarted', task('storm-task-5000')))!;
    assert.equal(t.incident.id, k.incident.id);
  });

  it('takes a resolved incident out of the joins: a new signal on its component opens a new one', () => {
    const { c, advance } = setup();
    const first = c.ingest(sig('DaqTaskDown', task('processor-0')))!;
    c.resolve(first.incident.id, 'alice');
    advance(1);
    const next = c.ingest(sig('DaqConsumerLagGrowing', task('processor-1')))!;
    assert.equal(next.change, 'opened');
    assert.notEqual(next.incident.id, first.incident.id);
  });

  it('folds an upstream crash and the downstream symptoms it causes into one incident rooted upstream', () => {
    const { c, advance } = setup();
    // The symptoms arrive first (a stall alert fires before the crash report lands)…
    const a = c.ingest(sig('DataflowStalled', task('processor-0')))!;
    advance(500);
    c.ingest(sig('ConsumerLagGrowing', task('writer')));
    advance(500);
    const crash = c.ingest(
      sig('TaskExited', task('readout-0'), { source: 'agent', severity: 'error', point: true }),
    )!;
    advance(500);
    c.ingest(sig('TimeframesIncomplete', { kind: 'link', id: '0' }, { source: 'ers' }));
    assert.equal(c.incidents.size, 1, 'one incident, not four');
    assert.equal(crash.incident.id, a.incident.id);
    const inc = c.get(a.incident.id);
    assert.deepEqual(inc.root.component, task('readout-0'), 'the most upstream failing component');
    assert.equal(inc.severity, 'error', 'the highest severity of its signals');
    assert.match(inc.title, /TaskExited on task readout-0.*\+3 downstream symptoms/);
    assert.ok(inc.timeline.some((e) => /root cause is now TaskExited/.test(e.text)));
  });

  it('keeps independent faults apart: two tasks of one stage, or signals far apart in time', () => {
    const { c, advance } = setup();
    c.ingest(sig('TaskExited', task('readout-0')));
    c.ingest(sig('TaskExited', task('readout-1')));
    assert.equal(c.incidents.size, 2, 'two links are not each other’s symptoms');
    c.ingest(sig('TimeframesIncomplete', task('processor-1'), { source: 'ers' }));
    c.ingest(sig('TaskExited', task('processor-0')));
    assert.equal(c.incidents.size, 2, 'the processors share a consumer group: one fault');
    advance(120_000);
    c.ingest(sig('ConsumerLagGrowing', task('writer')));
    assert.equal(c.incidents.size, 3, 'outside the time window');
    c.ingest(sig('Other', task('x'), { environment: 'env-2' }));
    assert.equal(c.incidents.size, 4, 'another environment');
    const env: Component = { kind: 'environment', id: 'env-1' };
    c.ingest(sig('TransitionFailed', env, { point: true }));
    assert.equal(c.incidents.size, 4, 'a failed transition joins the fault it may come from');
    advance(120_000);
    c.ingest(sig('TransitionFailed', env, { fingerprint: 'deploy-failed', point: true }));
    c.ingest(sig('DaqNoisyChannel', { kind: 'link', id: '0' }));
    assert.equal(
      c.incidents.size,
      6,
      'a link fault does not join an incident only a failed transition opened',
    );
  });

  it('joins a lost node with the failures of the tasks it carried; the node is the root', () => {
    const { c } = setup();
    c.ingest(sig('TaskFailed', task('writer'), { source: 'control', severity: 'error' }));
    c.ingest(sig('AgentLost', { kind: 'node', id: 'n2' }, { source: 'control', severity: 'critical' }));
    c.ingest(sig('TaskFailed', task('processor-1'), { source: 'control', severity: 'error' }));
    assert.equal(c.incidents.size, 1);
    const inc = [...c.incidents.values()][0]!;
    assert.deepEqual(inc.root.component, { kind: 'node', id: 'n2' });
    assert.equal(inc.severity, 'critical');
  });

  it('deduplicates by fingerprint, resolves a signal, and ignores a resolved one it never saw', () => {
    const { c, changes } = setup();
    const s = sig('DataflowStalled', task('processor-0'));
    c.ingest(s);
    assert.equal(c.ingest(s)!.change, 'duplicate');
    assert.equal(c.ingest(s)!.change, 'duplicate');
    const inc = [...c.incidents.values()][0]!;
    assert.equal(inc.signals.length, 1);
    assert.equal(inc.signals[0]!.count, 3);
    assert.equal(c.ingest({ ...s, status: 'resolved' })!.change, 'signal');
    assert.equal(inc.signals[0]!.status, 'resolved');
    assert.equal(c.ingest({ ...s, status: 'resolved' })!.change, 'duplicate', 'a replayed resolve');
    assert.equal(c.ingest(sig('Never', task('writer'), { status: 'resolved' })), undefined);
    assert.deepEqual(
      changes,
      ['1:opened', '1:duplicate', '1:duplicate', '1:signal'],
      'a replayed resolve changes nothing',
    );
  });

  it('resolves by itself once recovered and settled; a repeat within the settle time keeps it one incident', () => {
    const { c, advance } = setup();
    const crash = sig('TaskFailed', task('processor-0'), { source: 'control', severity: 'error' });
    const id = c.ingest(crash)!.incident.id;
    c.setRecovery(id, 'running', 'WorkloadCrash');
    c.ingest({ ...crash, status: 'resolved' });
    c.setRecovery(id, 'succeeded');
    advance(5_000);
    assert.deepEqual(c.tick(), [], 'not settled yet');
    c.ingest(crash);
    assert.equal(c.incidents.size, 1, 'the same fault again is the same incident');
    assert.equal(c.get(id).signals[0]!.count, 2);
    c.ingest({ ...crash, status: 'resolved' });
    advance(10_000);
    assert.deepEqual(
      c.tick().map((i) => i.id),
      [id],
    );
    assert.equal(c.get(id).state, 'resolved');
    assert.equal(c.get(id).resolvedBy, 'platform');
  });

  it('reopens an incident its fault comes back to just after it resolved by itself, not one a human resolved', () => {
    const { c, advance } = setup();
    const away = sig(
      'KafkaUnreachable',
      { kind: 'kafka', id: 'b1:9092' },
      { source: 'control', severity: 'critical' },
    );
    const id = c.ingest(away)!.incident.id;
    c.ingest({ ...away, status: 'resolved' });
    advance(10_000);
    assert.deepEqual(
      c.tick().map((i) => i.id),
      [id],
      'settled',
    );
    advance(1_000);
    // The broker sluggish again a second later: the same fault, the same incident.
    const again = c.ingest(away)!;
    assert.equal(again.incident.id, id);
    assert.equal(c.get(id).state, 'open');
    assert.equal(c.get(id).resolvedAt, undefined);
    assert.equal(c.get(id).signals[0]!.status, 'firing');
    assert.equal(c.get(id).signals[0]!.count, 2);
    assert.match(
      c.get(id).timeline.at(-1)!.text,
      /^reopened: KafkaUnreachable .* 1 s after the incident resolved$/,
    );
    // A symptom joins it again, as it would have before it resolved.
    const symptom = c.ingest(sig('DataflowStalled', task('writer')))!;
    assert.equal(symptom.incident.id, id);
    c.ingest({ ...away, status: 'resolved' });
    c.ingest({ ...sig('DataflowStalled', task('writer')), status: 'resolved' });
    advance(10_000);
    assert.deepEqual(
      c.tick().map((i) => i.id),
      [id],
    );
    // Past the window, the fault coming back is a new incident.
    advance(10_001);
    assert.notEqual(c.ingest(away)!.incident.id, id);
    // Resolved by a human: it stays resolved, and the fault back at once is news.
    const byHand = c.ingest(sig('LinkSilent', { kind: 'link', id: '3' }, { environment: 'env-1' }))!.incident
      .id;
    c.resolve(byHand, 'shifter:alice');
    advance(1_000);
    assert.notEqual(c.ingest(sig('LinkSilent', { kind: 'link', id: '3' }))!.incident.id, byHand);
    assert.equal(c.get(byHand).state, 'resolved');
  });

  it('never resolves by itself what escalated or failed; point signals alone resolve after the quiet time', () => {
    const { c, advance } = setup();
    const esc = c.ingest(sig('TaskFailed', task('writer'), { status: 'firing' }))!.incident.id;
    c.ingest({ ...sig('TaskFailed', task('writer')), status: 'resolved' });
    c.setRecovery(esc, 'escalated');
    const point = c.ingest(
      sig('CorruptWord', task('processor-1'), { point: true, source: 'ers', environment: 'env-3' }),
    )!.incident.id;
    advance(600_000);
    assert.deepEqual(
      c.tick().map((i) => i.id),
      [point],
    );
    assert.equal(c.get(esc).state, 'open');
    c.acknowledge(esc, 'shifter:alice');
    c.note(esc, 'shifter:alice', 'HV trip on chamber 2, called the expert');
    c.resolve(esc, 'shifter:alice');
    assert.deepEqual(
      c
        .get(esc)
        .timeline.slice(-3)
        .map((e) => [e.kind, e.who]),
      [
        ['state', 'shifter:alice'],
        ['note', 'shifter:alice'],
        ['state', 'shifter:alice'],
      ],
    );
  });
});
