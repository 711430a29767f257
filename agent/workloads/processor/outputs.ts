/**
 * What a processor publishes for the records of one fetch (docs/data-path.md "Processor"): per timeframe
 * its event records, the dead-letter records of its corrupt words and its accounting record; per record
 * set aside, the record and its accounting. Pure: the records are built here, sent by the output pipeline
 * (output-pipeline.ts), and `after` runs once they are acknowledged.
 */
import {
  encodeAccounting,
  type DeadletterAccounting,
  type ProcessorAccounting,
} from '../../../protocol/accounting.js';
import { CORRUPT_WORDS_REASON, encodeCorruptWords } from '../../../protocol/deadletter.js';
import {
  EVENT_FORMAT,
  EVENT_LINKS_HEADER,
  EVENT_PARTS_HEADER,
  EVENT_PART_HEADER,
  encodeEventRecords,
} from '../../../protocol/events.js';
import {
  DEADLETTER_DETAIL_HEADER,
  DEADLETTER_REASON_HEADER,
  deadletterRecord,
  type InRecord,
  type OutRecord,
} from '../../../lib/kafka.js';
import type { AssembledTimeframe } from './assembler.js';
import type { TimeframeResult } from './kernel.js';

export interface Outputs {
  readonly events: OutRecord[];
  readonly deadletter: OutRecord[];
  readonly monitoring: OutRecord[];
  /** (partition, offset) handled once these outputs are acknowledged. */
  readonly offsets: { partition: number; offset: number }[];
  /** What to count once they are acknowledged (totals, metrics, ERS): counted once, never for a lost send. */
  readonly after: (() => void)[];
}

export function noOutputs(): Outputs {
  return { events: [], deadletter: [], monitoring: [], offsets: [], after: [] };
}

/** A timeframe's records: its events, its corrupt words per link, its accounting; its fragments' offsets. */
export function addTimeframe(
  out: Outputs,
  tf: AssembledTimeframe,
  r: TimeframeResult,
  maxRecordBytes: number,
): void {
  const records = encodeEventRecords(tf.run, tf.timeframe, r.events, maxRecordBytes);
  const built = [...new Set(tf.fragments.map((f) => f.header.link))].sort((a, b) => a - b).join('.');
  records.forEach((value, part) =>
    out.events.push({
      key: `${tf.run}-${tf.timeframe}`,
      value,
      headers: {
        'daq-format': EVENT_FORMAT,
        [EVENT_PART_HEADER]: String(part),
        [EVENT_PARTS_HEADER]: String(records.length),
        [EVENT_LINKS_HEADER]: built,
      },
    }),
  );
  const byLink = new Map<number, TimeframeResult['corrupt']>();
  for (const cw of r.corrupt) {
    const words = byLink.get(cw.link);
    if (words === undefined) byLink.set(cw.link, [cw]);
    else words.push(cw);
  }
  for (const [link, words] of byLink) {
    for (const { value, detail } of encodeCorruptWords(tf.run, tf.timeframe, link, words)) {
      out.deadletter.push({
        key: `${tf.run}-${tf.timeframe}-${link}`,
        value,
        headers: { [DEADLETTER_REASON_HEADER]: CORRUPT_WORDS_REASON, [DEADLETTER_DETAIL_HEADER]: detail },
      });
    }
  }
  const links: Record<string, ProcessorAccounting['links'][string]> = {};
  for (const [link, counts] of r.perLink) links[String(link)] = { ...counts };
  const accounting: ProcessorAccounting = {
    stage: 'processor',
    run: tf.run,
    timeframe: tf.timeframe,
    links,
    missingLinks: tf.missingLinks,
    events: r.events.length,
    hitsInEvents: r.hitsInEvents,
  };
  out.monitoring.push(encodeAccounting(accounting));
  for (const f of tf.fragments) out.offsets.push({ partition: f.partition, offset: f.offset });
}

/** A record set aside whole (`reason`: bad-header, late): the record as it came, and its accounting. */
export function addDeadletter(
  out: Outputs,
  rec: InRecord,
  reason: string,
  detail: string,
  a: Omit<DeadletterAccounting, 'stage' | 'reason'>,
): void {
  out.deadletter.push(deadletterRecord(rec, reason, detail));
  out.monitoring.push(encodeAccounting({ stage: 'deadletter', reason, ...a }));
  out.offsets.push({ partition: rec.partition, offset: Number(rec.offset) });
}
