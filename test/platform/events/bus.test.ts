import assert from 'node:assert/strict';
import { ErsReporter } from '../../../lib/ers.js';
import { KafkaClient, readTopicToEnd } from '../../../lib/kafka.js';
import { Metrics } from '../../../lib/metrics.js';
import { ControlBus } from '../../../platform/events/bus.js';
import type { ControlEvent } from '../../../platform/control/types.js';
import type { ErsIssue } from '../../../protocol/ers.js';
import { testKafkaBrokers } from '../../helpers/kafka-fixture.js';
import { uniqueNamespace } from '../../helpers/data-path.js';

describe('platform/events/bus', function () {
  this.timeout(60_000);

  it('publishes control events to <ns>.control and ERS issues to <ns>.ers, in order, keyed by environment', async () => {
    const brokers = await testKafkaBrokers();
    const client = new KafkaClient({ brokers, clientId: 'test-bus' });
    const metrics = new Metrics({ task: 'platform' }, { processMetrics: false });
    const bus = new ControlBus({ client, metrics, flushMs: 50 });
    const ns = uniqueNamespace('bus');
    const events: ControlEvent[] = (['before', 'leave', 'enter', 'after'] as const).map((step, i) => ({
      kind: 'environment',
      environment: 'env-1',
      transition: 'CONFIGURE',
      step,
      status: i === 3 ? 'DONE_OK' : 'STARTED',
      state: 'DEPLOYED',
      at: new Date().toISOString(),
    }));
    for (const e of events) bus.control(ns, e);
    const issue = new ErsReporter({ application: 'p', environment: 'env-1', sink: () => undefined }).raise(
      'daqops.platform.TaskFailed',
      'task processor-0 failed',
      { environment: 'env-1', task: 'processor-0' },
    );
    bus.ers(ns, issue);
    await bus.close();
    const control: { key: string | undefined; body: ControlEvent }[] = [];
    await readTopicToEnd(client, `${ns}.control`, (r) =>
      control.push({ key: r.key, body: JSON.parse(r.value.toString()) as ControlEvent }),
    );
    assert.deepEqual(
      control.map((c) => c.body),
      events,
    );
    assert.ok(control.every((c) => c.key === 'env-1'));
    const ers: ErsIssue[] = [];
    await readTopicToEnd(client, `${ns}.ers`, (r) => ers.push(JSON.parse(r.value.toString()) as ErsIssue));
    assert.deepEqual(ers, [JSON.parse(JSON.stringify(issue)) as ErsIssue]);
    assert.match(
      await metrics.text(),
      /daq_platform_bus_records_total\{[^}]*kind="control"[^}]*result="ok"[^}]*\} 4/,
    );
  });

  it('never blocks run control when Kafka is away: records counted as dropped, the outage said once', async () => {
    const client = new KafkaClient({
      brokers: ['127.0.0.1:1'],
      clientId: 'test-bus-down',
      requestTimeoutMs: 300,
      log: () => undefined,
    });
    const metrics = new Metrics({ task: 'platform' }, { processMetrics: false });
    const outages: unknown[] = [];
    const bus = new ControlBus({ client, metrics, flushMs: 10_000, onOutage: (e) => outages.push(e) });
    const e: ControlEvent = { kind: 'run', environment: 'env-1', run: 1, time: 'start', at: 'x' };
    bus.control('down', e);
    await bus.flush();
    bus.control('down', e);
    bus.control('down', e);
    await bus.close();
    assert.equal(outages.length, 1);
    assert.match(await metrics.text(), /kind="control"[^}]*result="dropped"[^}]*\} 3/);
  });
});
