/** RESET on its own against a fake context, with the two transitions that send no command (EXIT kills, GO_ERROR does nothing). */
import assert from 'node:assert/strict';
import { reset } from '../../../../platform/control/transitions/reset.js';
import { exit } from '../../../../platform/control/transitions/exit.js';
import { goError } from '../../../../platform/control/transitions/go-error.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/reset', () => {
  it('RESET sends RESET to the active tasks only; EXIT kills every task and releases; GO_ERROR touches nothing', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'CONFIGURED', placedIn: 'CONFIGURED' });
    await env.taskFailed('ro-0', 'gone'); // excluded
    await reset(env);
    assert.deepEqual(env.calls.sort(), ['RESET proc-0', 'RESET proc-1', 'RESET writer']);
    env.calls.length = 0;
    await goError(env);
    assert.deepEqual(env.calls, []);
    await exit(env);
    assert.deepEqual(env.calls.slice(0, 4).sort(), [
      'kill proc-0',
      'kill proc-1',
      'kill ro-0',
      'kill writer',
    ]);
    assert.equal(env.calls.at(-1), 'release');
  });
});
