import assert from 'node:assert/strict';
import { recover } from '../../../../platform/control/transitions/recover.js';
import { FakeTransitionContext } from '../../../helpers/transition-context.js';

describe('platform/control/transitions/recover', () => {
  it('RECOVER stops and releases what is left, then deploys afresh', async () => {
    const env = new FakeTransitionContext(undefined, { state: 'ERROR', placedIn: 'ERROR' });
    await recover(env);
    const release = env.calls.indexOf('release');
    const place = env.calls.indexOf('place');
    assert.ok(release > 0 && place > release, env.calls.join(', '));
    assert.ok(env.tasks().every((t) => t.state === 'STANDBY'));
  });
});
