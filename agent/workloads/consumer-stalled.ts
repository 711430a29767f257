/**
 * What a consuming stage (processor, writer) does when its Kafka consumer stopped fetching while records
 * wait for it (lib/consumer-watch.ts): says so as ERS and ends, so that it is restarted — by the
 * platform's WorkloadCrash runbook, or the agent's own policy — and re-reads from its last commit, the
 * path every crash takes and the tests hold to lost = 0.
 */
import type { ConsumerStall } from '../../lib/consumer-watch.js';
import type { ErsReporter } from '../../lib/ers.js';
import { DaqError } from '../../protocol/errors.js';
export function consumerStalled(ers: ErsReporter, stage: string, s: ConsumerStall): DaqError {
  const where = s.partitions.map((p) => `[${p.partition}] at ${p.at} of ${p.end}`).join(', ');
  const message = `the ${stage}'s consumer of ${s.topic} took nothing for ${Math.round(s.idleMs / 1000)} s while records waited (${where}); ending to be restarted`;
  ers.raise('daqops.kafka.ConsumerStalled', message, {
    topic: s.topic,
    partitions: s.partitions.map((p) => p.partition).join(','),
  });
  return new DaqError('INTERNAL', message);
}
