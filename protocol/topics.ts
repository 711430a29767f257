/** Kafka topic names per environment namespace: `<ns>.raw-hits`, `<ns>.events`, … (docs/data-path.md). */
import { DaqError } from './errors.js';

export const topicKinds = ['raw-hits', 'events', 'monitoring', 'deadletter', 'control', 'ers'] as const;
export type TopicKind = (typeof topicKinds)[number];

/**
 * The largest record value any daqops stage writes: 7 MiB, under the 8 MiB a broker takes in one record
 * batch (deploy/local/kafka-local.ts, `message.max.bytes`) with room for keys and headers. Stages split
 * what is larger (sub-timeframes into parts, a timeframe's events into several records).
 */
export const MAX_RECORD_BYTES = 7 * 1024 * 1024;
/** A broker's limit on one record batch (its `message.max.bytes`): the local broker's, and the minimum daqops needs. */
export const BROKER_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

export interface TopicNames {
  readonly rawHits: string;
  readonly events: string;
  readonly monitoring: string;
  readonly deadletter: string;
  readonly control: string;
  readonly ers: string;
}

// No dots in a namespace: the first dot of a topic name then always separates namespace and kind.
const NAMESPACE = /^[A-Za-z0-9_-]{1,100}$/;

export function validateNamespace(ns: string): string {
  if (!NAMESPACE.test(ns)) {
    throw new DaqError(
      'INVALID_NAMESPACE',
      `namespace "${ns}" must be 1–100 characters of letters, digits, "_" or "-"`,
      { field: 'namespace' },
    );
  }
  return ns;
}

export function topicName(ns: string, kind: TopicKind): string {
  return `${validateNamespace(ns)}.${kind}`;
}

export function topicNames(ns: string): TopicNames {
  return {
    rawHits: topicName(ns, 'raw-hits'),
    events: topicName(ns, 'events'),
    monitoring: topicName(ns, 'monitoring'),
    deadletter: topicName(ns, 'deadletter'),
    control: topicName(ns, 'control'),
    ers: topicName(ns, 'ers'),
  };
}
