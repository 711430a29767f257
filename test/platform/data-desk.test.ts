import assert from 'node:assert/strict';
import { ANSWER_WITHIN_MS, DataDesk } from '../../platform/data-desk.js';
import type { EnvironmentRepository } from '../../platform/control/repository.js';
import type { RunRecord } from '../../platform/store/store.js';
import type { AccountingRecord } from '../../protocol/accounting.js';
import { RunBalance } from '../../protocol/balance.js';
import { DaqError } from '../../protocol/errors.js';

const RUN: RunRecord = {
  run: 7,
  environment: 'env-1',
  template: 'testbed',
  vars: {},
  startedBy: 'test',
  start: null,
  startCompleted: null,
  end: null,
  endCompleted: null,
  reconciliation: null,
};

type Feed = NonNullable<ConstructorParameters<typeof DataDesk>[0]['feed']>;

/**
 * The desk over a feed whose reads of Kafka can be made to hang (no answer yet) or fail (refused), as the
 * platform's feed sees a broker that is gone; what it folded stays known.
 */
function deskWith(words: number): {
  desk: DataDesk;
  kafka: { mode: 'up' | 'hang' | 'refuse'; words: number };
} {
  const kafka = { mode: 'up' as 'up' | 'hang' | 'refuse', words };
  let folded = new RunBalance(7);
  let readToEndAt: number | undefined;
  const feed: Feed = {
    catchUp: async () => {
      if (kafka.mode === 'hang') return new Promise(() => {});
      if (kafka.mode === 'refuse') throw new DaqError('KAFKA_UNAVAILABLE', 'broker transport failure');
      folded = new RunBalance(7);
      folded.add(readout(kafka.words));
      readToEndAt = Date.now();
    },
    balance: () => Promise.reject(new Error('the desk asks catchUp and known')),
    known: () => folded.reconciliation(),
    readToEndAt: () => readToEndAt,
    aggregates: () => [],
    forget: () => {},
  };
  const environments = {
    find: () => ({ namespace: 'ns' }),
    get: () => ({ namespace: 'ns' }),
  } as unknown as EnvironmentRepository;
  return { desk: new DataDesk({ environments, run: () => RUN, feed }), kafka };
}

const readout = (words: number): AccountingRecord => ({
  stage: 'readout',
  run: 7,
  link: 0,
  incarnation: 'a',
  words,
  hits: words,
  segments: 0,
  messages: 1,
  bytes: 8 * words,
  timeframes: 1,
  lastSequence: 0,
  final: false,
});

describe('platform/data-desk', () => {
  it('answers a balance live while Kafka answers', async () => {
    const { desk } = deskWith(100);
    const b = await desk.balance(7);
    assert.equal(b.source, 'live');
    assert.equal(b.reconciliation?.produced.words, 100);
  });

  it('answers within its bound while Kafka hangs: stale, with what it had and when it last read to the end', async () => {
    const { desk, kafka } = deskWith(100);
    await desk.balance(7);
    const readAt = Date.now();
    kafka.mode = 'hang';
    kafka.words = 250;
    const t0 = Date.now();
    const b = await desk.balance(7);
    const took = Date.now() - t0;
    assert.ok(took >= ANSWER_WITHIN_MS - 50 && took < ANSWER_WITHIN_MS + 1000, `answered in ${took} ms`);
    assert.equal(b.source, 'stale');
    assert.equal(b.reconciliation?.produced.words, 100, 'the balance as far as it had read');
    assert.match(b.detail ?? '', /did not answer within 1500 ms/);
    assert.ok(b.asOf !== undefined && Math.abs(Date.parse(b.asOf) - readAt) < 1000, b.asOf);
  });

  it('answers stale at once when Kafka refuses, naming why', async () => {
    const { desk, kafka } = deskWith(100);
    kafka.mode = 'refuse';
    const b = await desk.balance(7);
    assert.equal(b.source, 'stale');
    assert.equal(b.asOf, undefined, 'never read to the end in this process');
    assert.match(b.detail ?? '', /broker transport failure/);
  });
});
