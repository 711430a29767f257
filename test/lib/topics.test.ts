import assert from 'node:assert/strict';
import type { ClusterDescription } from '../../lib/kafka.js';
import { mayBeLost, replicationFor, survival } from '../../lib/topics.js';
import { isDaqError } from '../../protocol/errors.js';

/** A cluster's metadata of one topic whose partitions have these leaders and in-sync replicas. */
const described = (partitions: { leader: number; isr: number[] }[]): ClusterDescription => ({
  brokers: [1, 2, 3].map((id) => ({ id, host: '127.0.0.1', port: 9000 + id })),
  topics: [
    {
      name: 'ns.raw-hits',
      partitions: partitions.map((p, id) => ({ id, leader: p.leader, replicas: [1, 2, 3], isr: p.isr })),
    },
  ],
});

describe('lib/topics', () => {
  it('gives a topic up to three copies with one to spare, from the brokers the cluster lists', () => {
    assert.deepEqual(replicationFor(1, {}), { replication: 1, minInsync: 1 });
    assert.deepEqual(replicationFor(2, {}), { replication: 2, minInsync: 1 });
    assert.deepEqual(replicationFor(3, {}), { replication: 3, minInsync: 2 });
    assert.deepEqual(replicationFor(5, {}), { replication: 3, minInsync: 2 });
    assert.deepEqual(replicationFor(5, { replication: 5 }), { replication: 5, minInsync: 4 });
    assert.deepEqual(replicationFor(3, { minInsync: 1 }), { replication: 3, minInsync: 1 });
  });

  it("follows the cluster's own replication (its offsets topic) before the brokers it lists now", () => {
    assert.deepEqual(replicationFor(5, {}, 3), { replication: 3, minInsync: 2 });
    assert.deepEqual(replicationFor(5, { replication: 5 }, 3), { replication: 5, minInsync: 4 });
    assert.throws(
      () => replicationFor(2, {}, 3),
      (e: unknown) =>
        isDaqError(e, 'INVALID_CONFIG') && /needs 3 brokers; the cluster lists 2 now/.test(e.message),
      'one of three brokers down: a new topic cannot get its three copies',
    );
  });

  it('refuses a replication the cluster cannot honour, naming both numbers and the setting', () => {
    assert.throws(
      () => replicationFor(2, { replication: 3 }),
      (e: unknown) =>
        isDaqError(e, 'INVALID_CONFIG') &&
        e.field === 'DAQOPS_KAFKA_REPLICATION' &&
        /replication 3 needs 3 brokers; the cluster lists 2/.test(e.message),
    );
    assert.throws(
      () => replicationFor(3, { minInsync: 4 }),
      (e: unknown) => isDaqError(e, 'INVALID_CONFIG') && e.field === 'DAQOPS_KAFKA_MIN_INSYNC',
    );
  });

  it('says what the data path survives from its weakest partition', () => {
    const whole = survival(
      described([
        { leader: 1, isr: [1, 2, 3] },
        { leader: 2, isr: [1, 2, 3] },
      ]),
    );
    assert.equal(whole.brokersMayBeLost, 1);
    assert.equal(whole.text, 'one broker may be lost');
    const one = survival(
      described([
        { leader: 1, isr: [1, 3] },
        { leader: 3, isr: [1, 2, 3] },
      ]),
    );
    assert.equal(one.brokersMayBeLost, 0);
    assert.equal(one.weakest, 'ns.raw-hits[0]');
    assert.equal(one.text, 'no broker may be lost');
    const below = survival(described([{ leader: 1, isr: [1] }]));
    assert.equal(below.brokersMayBeLost, -1);
    assert.match(below.text, /writes stop now: ns\.raw-hits\[0\] has fewer than 2 in-sync copies/);
    const leaderless = survival(described([{ leader: -1, isr: [1, 2, 3] }]));
    assert.equal(
      survival(described([{ leader: 1, isr: [1, 2] }]), () => 1).brokersMayBeLost,
      1,
      'a min ISR of 1 as configured',
    );
    assert.equal(leaderless.brokersMayBeLost, -1);
    assert.equal(mayBeLost(2), '2 brokers may be lost');
  });
});
