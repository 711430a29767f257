import assert from 'node:assert/strict';
import { answeredWithin, pollUntil, untilAnswered } from '../../lib/poll.js';
import { DaqError, isDaqError } from '../../protocol/errors.js';

describe('lib/poll', () => {
  it('takes a retriable answer (Kafka away for a moment) as "not yet" and goes on asking', async () => {
    let asked = 0;
    await pollUntil(
      'hits to flow',
      () => {
        asked++;
        if (asked < 3)
          throw new DaqError('KAFKA_UNAVAILABLE', 'cannot read x.monitoring: broker transport failure');
        return asked >= 4;
      },
      { ms: 5000, everyMs: 1 },
    );
    assert.equal(asked, 4);
  });

  it('ends at once on an answer that will not change by asking again', async () => {
    let asked = 0;
    await assert.rejects(
      pollUntil(
        'the agent to join',
        () => {
          asked++;
          throw new DaqError('PROCESS_START_FAILED', 'the agent exited with code 1');
        },
        { ms: 5000, everyMs: 1 },
      ),
      (e: unknown) => isDaqError(e, 'PROCESS_START_FAILED'),
    );
    assert.equal(asked, 1);
  });

  it('names what never came and the last retriable answer when time runs out', async () => {
    await assert.rejects(
      pollUntil(
        'data to flow again',
        () => {
          throw new DaqError('KAFKA_UNAVAILABLE', 'broker transport failure');
        },
        { ms: 20, everyMs: 1 },
      ),
      (e: unknown) =>
        isDaqError(e, 'TIMEOUT') &&
        /gave up waiting for data to flow again after 20 ms \(last answer: KAFKA_UNAVAILABLE broker transport failure\)/.test(
          e.message,
        ),
    );
  });
});

describe('lib/poll untilAnswered', () => {
  it('asks again while the answer is retriable, tells of the first failure once, and returns the answer', async () => {
    let asked = 0;
    const told: string[] = [];
    const got = await untilAnswered(
      () => {
        asked++;
        if (asked < 4)
          return Promise.reject(new DaqError('KAFKA_UNAVAILABLE', `coordinator loading (${asked})`));
        return Promise.resolve('metadata');
      },
      { stopped: () => false, onFirstFailure: (e) => told.push(e.message), firstWaitMs: 1, maxWaitMs: 2 },
    );
    assert.equal(got, 'metadata');
    assert.equal(asked, 4);
    assert.deepEqual(told, ['coordinator loading (1)']);
  });

  it('throws an error that asking again will not change, and gives up without an answer once stopped', async () => {
    await assert.rejects(
      untilAnswered(() => Promise.reject(new DaqError('INVALID_CONFIG', 'bad')), { stopped: () => false }),
      (e: unknown) => isDaqError(e, 'INVALID_CONFIG'),
    );
    let stopping = false;
    const got = untilAnswered(
      () => {
        stopping = true;
        return Promise.reject(new DaqError('TIMEOUT', 'no answer'));
      },
      { stopped: () => stopping, firstWaitMs: 1 },
    );
    assert.equal(await got, undefined);
  });

  describe('answeredWithin (a command waiting for Kafka)', () => {
    it('tries again while Kafka is away, says so once, and says when it answered', async () => {
      let asked = 0;
      const said: string[] = [];
      const got = await answeredWithin(
        'reading ns.monitoring',
        () =>
          ++asked < 4
            ? Promise.reject(new DaqError('KAFKA_UNAVAILABLE', 'broker transport failure'))
            : Promise.resolve('balance'),
        { waitMs: 5000, firstWaitMs: 1, say: (l) => said.push(l) },
      );
      assert.equal(got, 'balance');
      assert.equal(asked, 4);
      assert.equal(said.length, 2, said.join('\n'));
      assert.match(
        said[0]!,
        /reading ns\.monitoring: KAFKA_UNAVAILABLE \(broker transport failure\); waited 0 s, trying again for up to 5 s/,
      );
      assert.match(said[1]!, /answered after 0 s/);
    });

    it('gives up after its bound with the last answer and how long it waited', async () => {
      const said: string[] = [];
      const t0 = Date.now();
      await assert.rejects(
        answeredWithin(
          'reading ns.monitoring',
          () => Promise.reject(new DaqError('TIMEOUT', 'read 3 records; not to its end')),
          { waitMs: 300, firstWaitMs: 20, say: (l) => said.push(l) },
        ),
        (e: unknown) =>
          isDaqError(e, 'TIMEOUT') &&
          /reading ns\.monitoring: no answer within 0 s \(read 3 records/.test(e.message),
      );
      assert.ok(Date.now() - t0 >= 300, 'waited its bound');
      assert.ok(Date.now() - t0 < 3000, 'and not much longer');
      assert.equal(said.length, 1, 'said once, not once per try');
    });

    it('does not wait on an answer that will not change (a wrong namespace, a bad option)', async () => {
      let asked = 0;
      await assert.rejects(
        answeredWithin(
          'reading ns.monitoring',
          () => {
            asked++;
            return Promise.reject(new DaqError('INVALID_NAMESPACE', 'bad'));
          },
          { waitMs: 5000, say: () => {} },
        ),
        (e: unknown) => isDaqError(e, 'INVALID_NAMESPACE'),
      );
      assert.equal(asked, 1);
    });
  });
});
