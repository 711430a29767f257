import assert from 'node:assert/strict';
import { pollUntil } from '../../lib/poll.js';
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
