/**
 * One real Kafka broker for the whole mocha run, started on first use (a run of protocol tests alone starts
 * none) and stopped by mocha's global teardown. With DAQOPS_KAFKA_BROKERS set, that cluster is used and
 * nothing is started. Tests that need a cluster ask testKafkaCluster() the same way.
 */
import { envBrokerList } from '../../lib/env.js';
import {
  startLocalKafka,
  startLocalKafkaCluster,
  stopLocalKafka,
  stopLocalKafkaCluster,
  type LocalKafka,
  type LocalKafkaCluster,
} from '../../deploy/local/kafka-local.js';

let local: LocalKafka | undefined;
let starting: Promise<readonly string[]> | undefined;
let cluster: LocalKafkaCluster | undefined;
let startingCluster: Promise<LocalKafkaCluster> | undefined;

export function testKafkaBrokers(): Promise<readonly string[]> {
  const external = envBrokerList('DAQOPS_KAFKA_BROKERS');
  if (external !== undefined) return Promise.resolve(external);
  starting ??= startLocalKafka().then((k) => {
    local = k;
    return k.brokers;
  });
  return starting;
}

/**
 * A local three-broker cluster (replication 3, min ISR 2) for the whole mocha run, started on first use
 * the way testKafkaBrokers starts one broker, and stopped by the same teardown. Tests that stop a member
 * start it again before they end (restartLocalKafka on the member), so the next test finds it whole.
 */
export function testKafkaCluster(): Promise<LocalKafkaCluster> {
  startingCluster ??= startLocalKafkaCluster(3).then((c) => (cluster = c));
  return startingCluster;
}

async function stopTestKafka(): Promise<void> {
  const k = local;
  local = undefined;
  const c = cluster;
  cluster = undefined;
  await Promise.all([
    k === undefined ? undefined : stopLocalKafka(k),
    c === undefined ? undefined : stopLocalKafkaCluster(c),
  ]);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (starting !== undefined) await starting.catch(() => undefined);
  if (startingCluster !== undefined) await startingCluster.catch(() => undefined);
  await stopTestKafka();
}

// A run cut short with Ctrl-C must not leave a broker behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void stopTestKafka().finally(() => process.exit(130));
  });
}
