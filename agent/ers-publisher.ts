/**
 * Publishes the ERS issues of a node's tasks (Warning and above, after the logger's throttle) to their
 * environment's Kafka `<ns>.ers` (key = environment), where the platform's incident correlator reads them.
 * The agent learns each environment's namespace and brokers from the CONFIGURE it passes on; the Kafka
 * client is loaded on the first record, so an agent without environments never loads it.
 */
import { severityRank, type ErsIssue } from '../protocol/ers.js';
import { topicNames } from '../protocol/topics.js';
import type { RecordBus } from '../lib/record-bus.js';
import type { Metrics } from '../lib/metrics.js';

export interface EnvironmentBus {
  readonly namespace: string;
  readonly brokers: readonly string[];
}

export class ErsPublisher {
  private readonly environments = new Map<string, EnvironmentBus>();
  private readonly buses = new Map<string, Promise<RecordBus>>();

  constructor(
    private readonly metrics: Metrics,
    private readonly onOutage: (err: unknown) => void,
  ) {}

  /** A CONFIGURE payload went to a task: remember where its environment's ERS go. */
  learn(payload: Readonly<Record<string, unknown>>): void {
    const c = payload['config'];
    if (typeof c !== 'object' || c === null) return;
    const { environment, namespace, brokers } = c as Record<string, unknown>;
    if (typeof environment !== 'string' || typeof namespace !== 'string' || !Array.isArray(brokers)) return;
    const list = brokers.filter((b): b is string => typeof b === 'string');
    if (list.length > 0) this.environments.set(environment, { namespace, brokers: list });
  }

  publish(issue: ErsIssue, environment: string | undefined): void {
    if (severityRank(issue.severity) < severityRank('Warning') || environment === undefined) return;
    const where = this.environments.get(environment);
    if (where === undefined) return;
    const key = where.brokers.join(',');
    let bus = this.buses.get(key);
    if (bus === undefined) {
      bus = Promise.all([import('../lib/kafka.js'), import('../lib/record-bus.js')]).then(
        ([{ KafkaClient }, { RecordBus: Bus }]) =>
          new Bus({
            client: new KafkaClient({
              brokers: where.brokers,
              clientId: 'daqops-agent-ers',
              log: () => undefined,
            }),
            count: (_kind, result, n) =>
              this.metrics.counter('daq_agent_ers_published_total').labels({ result }).inc(n),
            onOutage: this.onOutage,
          }),
      );
      this.buses.set(key, bus);
    }
    const withEnv: ErsIssue =
      issue.context.environment === undefined
        ? { ...issue, context: { ...issue.context, environment } }
        : issue;
    void bus.then((b) => b.push(topicNames(where.namespace).ers, 'ers', environment, withEnv));
  }

  async close(): Promise<void> {
    await Promise.all([...this.buses.values()].map(async (b) => (await b).close()));
  }
}
