/** Reads a namespace's accounting records from Kafka and reconciles one run (protocol/accounting.ts). */
import {
  KIND_HEADER,
  ACCOUNTING_KIND,
  decodeAccounting,
  type Reconciliation,
} from '../protocol/accounting.js';
import { RunBalance } from '../protocol/balance.js';
import { topicNames } from '../protocol/topics.js';
import { headerText, readTopicToEnd, type KafkaClient } from './kafka.js';

/** Folds the run's records as they are read (RunBalance): nothing kept per record, however long the topic. */
export async function reconcileRun(
  client: KafkaClient,
  namespace: string,
  run: number,
): Promise<Reconciliation> {
  const balance = new RunBalance(run);
  await readTopicToEnd(client, topicNames(namespace).monitoring, (r) => {
    if (headerText(r.headers, KIND_HEADER) !== ACCOUNTING_KIND) return;
    balance.add(decodeAccounting(r.value));
  });
  return balance.reconciliation();
}

export function formatReconciliation(r: Reconciliation): string {
  const lines = [
    `run ${r.run}${r.readoutFinal ? '' : ' (readout still running or stopped without a final report)'}`,
    `  produced     ${r.produced.words} words (${r.produced.hits} hits, ${r.produced.segments} segments) in ${r.produced.messages} messages`,
    `  processed    ${r.processed.words} words (${r.processed.hits} hits, ${r.processed.segments} segments, ${r.processed.corrupt} corrupt) in ${r.timeframes} timeframes (${r.incompleteTimeframes} incomplete)`,
    ...(r.notProduced.words > 0
      ? [
          `  not produced ${r.notProduced.words} words (${r.notProduced.hits} hits): a readout's buffer was full while Kafka was away`,
        ]
      : []),
    `  dead-letter  ${r.deadletteredWords} words in whole messages`,
    `  events       ${r.events.built} built with ${r.events.hits} hits, ${r.events.stored} stored`,
    `  lost         ${r.lost}`,
  ];
  for (const [link, x] of Object.entries(r.perLink)) {
    const beyond = x.beyondReport ?? 0;
    const unfinished =
      x.final === false
        ? ` (no final report: to its readout's last one${beyond > 0 ? `; ${beyond} words processed came after it` : ''})`
        : '';
    lines.push(
      `  link ${link}: produced ${x.produced}${unfinished}, processed ${x.processed}, dead-lettered ${x.deadlettered}, lost ${x.lost}`,
    );
  }
  return lines.join('\n');
}
