/**
 * One real Kafka broker for the whole mocha run, started on first use (a run of protocol tests alone starts
 * none) and stopped by mocha's global teardown. With DAQOPS_KAFKA_BROKERS set, that cluster is used and
 * nothing is started.
 */
import { envBrokerList } from '../../lib/env.js';
import { startLocalKafka, stopLocalKafka, type LocalKafka } from '../../deploy/local/kafka-local.js';

let local: LocalKafka | undefined;
let starting: Promise<readonly string[]> | undefined;

export function testKafkaBrokers(): Promise<readonly string[]> {
  const external = envBrokerList('DAQOPS_KAFKA_BROKERS');
  if (external !== undefined) return Promise.resolve(external);
  starting ??= startLocalKafka().then((k) => {
    local = k;
    return k.brokers;
  });
  return starting;
}

async function stopTestKafka(): Promise<void> {
  const k = local;
  local = undefined;
  if (k !== undefined) await stopLocalKafka(k);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (starting !== undefined) await starting.catch(() => undefined);
  await stopTestKafka();
}

// A run cut short with Ctrl-C must not leave a broker behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void stopTestKafka().finally(() => process.exit(130));
  });
}
