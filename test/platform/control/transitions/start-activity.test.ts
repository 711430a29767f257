import assert from 'node:assert/strict';
import { startActivity } from '../../../../platform/control/transitions/start-activity.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/start-activity', () => {
  it('START_ACTIVITY begins the run, starts downstream first, gives the readouts the clock, then records start-completed', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'CONFIGURED', placedIn: 'CONFIGURED' });
    const before = Date.now();
    await startActivity(env);
    assert.equal(env.calls[0], 'run start');
    assert.deepEqual(env.calls.slice(1), [
      'START writer',
      'START proc-0',
      'START proc-1',
      'START ro-0',
      'run start-completed',
    ]);
    assert.ok(env.epochMs! >= before + 2000, 'timeframe 0 lies ahead of the START');
    const ro = env.payloads.find((p) => p.task === 'ro-0')!.payload;
    assert.deepEqual(ro, { run: env.run, epochMs: env.epochMs });
    assert.deepEqual(env.payloads.find((p) => p.task === 'writer')!.payload, { run: env.run });
  });
});
