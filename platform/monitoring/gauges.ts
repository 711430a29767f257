/** The platform's state gauges on /metrics: environments and tasks by state, each environment's run. */
import type { Metrics } from '../../lib/metrics.js';
import { environmentStates, taskStates } from '../../protocol/states.js';
import type { Environment } from '../control/environment.js';
import type { PlatformStore } from '../store/store.js';

export function updatePlatformGauges(m: Metrics, envs: readonly Environment[], store: PlatformStore): void {
  const tasks = envs.flatMap((e) => e.taskList());
  for (const s of environmentStates)
    m.gauge('daq_platform_environments')
      .labels({ state: s })
      .set(envs.filter((e) => e.state === s).length);
  // Rebuilt whole each time (reset and set in one synchronous step), so an environment that is gone
  // leaves no series behind and a scrape never sees half of it.
  const state = m.gauge('daq_platform_environment_state');
  const run = m.gauge('daq_platform_run_number');
  const started = m.gauge('daq_platform_run_start_timestamp_seconds');
  state.reset();
  run.reset();
  started.reset();
  for (const e of envs) {
    for (const s of environmentStates)
      state.labels({ environment: e.id, state: s }).set(e.state === s ? 1 : 0);
    run.labels({ environment: e.id }).set(e.run ?? 0);
    const record = e.run === undefined || e.state !== 'RUNNING' ? undefined : store.run(e.run);
    const t = record?.start == null ? NaN : Date.parse(record.start);
    started.labels({ environment: e.id }).set(Number.isFinite(t) ? t / 1000 : 0);
  }
  for (const s of taskStates)
    m.gauge('daq_platform_tasks')
      .labels({ state: s })
      .set(tasks.filter((t) => t.state === s).length);
}
