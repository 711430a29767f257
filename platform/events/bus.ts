/**
 * The platform's voice on Kafka: control events to `<ns>.control` and its own ERS issues to `<ns>.ers`,
 * per environment namespace, keyed by environment so each environment's records stay in order. It never
 * blocks run control (lib/record-bus.ts): when Kafka is away the records are counted as dropped
 * (`daq_platform_bus_records_total`) and an ERS Warning says so once per outage; the store keeps the truth.
 */
import type { ErsIssue } from '../../protocol/ers.js';
import { topicNames } from '../../protocol/topics.js';
import type { KafkaClient } from '../../lib/kafka.js';
import type { Metrics } from '../../lib/metrics.js';
import { RecordBus } from '../../lib/record-bus.js';
import type { ControlEvent } from '../control/types.js';

export interface ControlBusOptions {
  readonly client: KafkaClient;
  readonly metrics?: Metrics;
  readonly flushMs?: number;
  readonly maxBuffered?: number;
  /** Told once per outage that records are being dropped (the platform raises an ERS Warning). */
  readonly onOutage?: (err: unknown) => void;
}

export class ControlBus {
  private readonly bus: RecordBus;

  constructor(o: ControlBusOptions) {
    this.bus = new RecordBus({
      client: o.client,
      ...(o.flushMs === undefined ? {} : { flushMs: o.flushMs }),
      ...(o.maxBuffered === undefined ? {} : { maxBuffered: o.maxBuffered }),
      ...(o.onOutage === undefined ? {} : { onOutage: o.onOutage }),
      count: (kind, result, n) =>
        o.metrics?.counter('daq_platform_bus_records_total').labels({ kind, result }).inc(n),
    });
  }

  control(namespace: string, e: ControlEvent): void {
    this.bus.push(topicNames(namespace).control, 'control', e.environment, e);
  }

  ers(namespace: string, issue: ErsIssue): void {
    this.bus.push(topicNames(namespace).ers, 'ers', issue.context.environment ?? '', issue);
  }

  flush(): Promise<void> {
    return this.bus.flush();
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}
