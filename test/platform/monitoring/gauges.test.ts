import assert from 'node:assert/strict';
import { Metrics } from '../../../lib/metrics.js';
import { updatePlatformGauges } from '../../../platform/monitoring/gauges.js';
import { environments, miniEnvironment } from '../../helpers/environments.js';

describe('platform/monitoring/gauges', () => {
  it('counts environments and tasks by state, and forgets an environment that is gone', async () => {
    const h = environments();
    const a = miniEnvironment(h);
    const m = new Metrics({ task: 'platform' }, { processMetrics: false });
    await a.transition('DEPLOY');
    updatePlatformGauges(m, h.repo.all(), h.store);
    let text = await m.text();
    assert.match(text, /daq_platform_environments\{[^}]*state="DEPLOYED"[^}]*\} 1/);
    assert.match(text, /daq_platform_tasks\{[^}]*state="STANDBY"[^}]*\} 2/);
    assert.match(
      text,
      new RegExp(
        `daq_platform_environment_state\\{[^}]*environment="${a.id}"[^}]*state="DEPLOYED"[^}]*\\} 1`,
      ),
    );
    updatePlatformGauges(m, [], h.store);
    text = await m.text();
    assert.ok(!text.includes(a.id), 'no series left behind');
    assert.match(text, /daq_platform_environments\{[^}]*state="DEPLOYED"[^}]*\} 0/);
  });
});
