/** lib/broker-loss.ts: telling a librdkafka client stuck away from a cluster that answers from an outage. */
import assert from 'node:assert/strict';
import { BrokerLossWatch, brokersUp } from '../../lib/broker-loss.js';

/** A statistics report as librdkafka writes one, each broker given as name → [source, state]. */
function stats(brokers: Record<string, [string, string]>): string {
  return JSON.stringify({
    name: 'c#consumer-1',
    type: 'consumer',
    brokers: Object.fromEntries(
      Object.entries(brokers).map(([name, [source, state]]) => [name, { name, source, state, nodeid: 1 }]),
    ),
  });
}

const healthy = stats({ '127.0.0.1:9092/1': ['learned', 'UP'], GroupCoordinator: ['logical', 'UP'] });
/** librdkafka issue 5301: every broker forgotten. */
const forgotten = stats({ GroupCoordinator: ['logical', 'TRY_CONNECT'] });
/** Seen after a second pause: the broker left in INIT, the coordinator trying to connect for good. */
const stranded = stats({
  '127.0.0.1:9092/1': ['learned', 'INIT'],
  GroupCoordinator: ['logical', 'TRY_CONNECT'],
});

/** Lets the watch's question to the cluster be answered. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function watch(o: { answers: boolean; needsBroker?: () => boolean }) {
  const clock = { now: 0 };
  const told: number[] = [];
  let asked = 0;
  const w = new BrokerLossWatch({
    afterMs: 10_000,
    now: () => clock.now,
    onStuck: (ms) => told.push(ms),
    reachable: () => {
      asked++;
      return Promise.resolve(o.answers);
    },
    ...(o.needsBroker === undefined ? {} : { needsBroker: o.needsBroker }),
  });
  return { w, clock, told, asked: () => asked };
}

describe('lib/broker-loss', () => {
  it('counts the broker connections that are up, the group coordinator among them', () => {
    assert.equal(brokersUp(healthy), 2);
    assert.equal(brokersUp(forgotten), 0);
    assert.equal(brokersUp(stranded), 0);
    assert.equal(brokersUp(stats({ 'a:1/1': ['learned', 'INIT'], GroupCoordinator: ['logical', 'UP'] })), 1);
    assert.equal(brokersUp(stats({ ':0/internal': ['internal', 'UP'] })), 0);
    assert.equal(brokersUp('{"brokers":{}}'), 0);
  });

  it('cannot read a report that is not one', () => {
    assert.equal(brokersUp('not json'), undefined);
    assert.equal(brokersUp('{"type":"consumer"}'), undefined);
    assert.equal(brokersUp('null'), undefined);
  });

  it('tells once, when no connection came up for the grace after the cluster was seen answering', async () => {
    const { w, clock, told, asked } = watch({ answers: true });
    w.report(healthy);
    clock.now = 2000;
    w.report(stranded);
    clock.now = 10_000;
    w.report(stranded);
    await settle();
    assert.equal(asked(), 0, 'eight seconds without a connection: the cluster is not asked yet');
    clock.now = 12_000;
    w.report(forgotten);
    await settle();
    assert.equal(asked(), 1);
    assert.deepEqual(told, [], 'the cluster has just answered: the client gets its time to reconnect');
    for (clock.now = 14_000; clock.now < 22_000; clock.now += 2000) {
      w.report(forgotten);
      await settle();
    }
    assert.deepEqual(told, []);
    clock.now = 22_000;
    w.report(forgotten);
    await settle();
    assert.deepEqual(
      told,
      [20_000],
      'twenty seconds without a connection, ten of them with the cluster there',
    );
    clock.now = 40_000;
    w.report(forgotten);
    await settle();
    assert.deepEqual(told, [20_000], 'told once');
  });

  it('never tells during an outage (nothing answers), nor when the client reconnects after it', async () => {
    let answers = false;
    const clock = { now: 0 };
    const told: number[] = [];
    const w = new BrokerLossWatch({
      afterMs: 10_000,
      now: () => clock.now,
      onStuck: (ms) => told.push(ms),
      reachable: () => Promise.resolve(answers),
    });
    for (; clock.now <= 120_000; clock.now += 2000) {
      w.report(stranded);
      await settle();
    }
    // The broker is back: the cluster answers at once, the client reconnects 6 s later.
    answers = true;
    for (const t of [122_000, 124_000, 126_000]) {
      clock.now = t;
      w.report(stranded);
      await settle();
    }
    clock.now = 128_000;
    w.report(healthy);
    for (clock.now = 130_000; clock.now <= 200_000; clock.now += 2000) w.report(healthy);
    await settle();
    assert.deepEqual(told, []);
  });

  it('starts over when a connection is up again, and ignores reports it cannot read', async () => {
    const { w, clock, told } = watch({ answers: true });
    w.report(forgotten);
    clock.now = 8000;
    w.report(healthy); // re-bootstrapped by itself
    clock.now = 9000;
    w.report(forgotten);
    clock.now = 19_000;
    w.report('garbage');
    w.report(forgotten); // the cluster answers from here
    await settle();
    clock.now = 25_000;
    w.report(healthy); // and the client is back before its grace ends
    clock.now = 27_000;
    w.report(forgotten);
    clock.now = 37_000;
    w.report(forgotten);
    await settle();
    assert.deepEqual(told, [], 'each time down for less than the grace after the cluster answered');
    clock.now = 47_000;
    w.report(forgotten);
    await settle();
    assert.deepEqual(told, [20_000]);
  });

  it('does not count the time a client needs no broker (an idle producer lets its connections go)', async () => {
    let needs = false;
    const { w, clock, told } = watch({ answers: true, needsBroker: () => needs });
    for (clock.now = 0; clock.now <= 60_000; clock.now += 2000) w.report(stranded);
    await settle();
    assert.deepEqual(told, []);
    needs = true;
    const from = clock.now;
    for (; clock.now <= from + 20_000; clock.now += 2000) {
      w.report(stranded);
      await settle();
    }
    assert.deepEqual(told, [20_000], 'counted from when it needed one');
  });
});
