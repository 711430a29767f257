/**
 * Accounting records every stage publishes on `<ns>.monitoring` (header daq-kind: accounting). Each record
 * has a key that makes it idempotent — a replayed timeframe republishes the same key — and the
 * reconciliation keeps the last record per key.
 */
export const ACCOUNTING_KIND = 'accounting';
export const AGGREGATE_KIND = 'aggregate';
export const KIND_HEADER = 'daq-kind';

export interface ReadoutAccounting {
  readonly stage: 'readout';
  readonly run: number;
  readonly link: number;
  /** One per process start: counters restart with the process, so incarnations are summed. */
  readonly incarnation: string;
  readonly words: number;
  readonly hits: number;
  readonly segments: number;
  readonly messages: number;
  readonly bytes: number;
  readonly timeframes: number;
  readonly lastSequence: number;
  readonly final: boolean;
  /**
   * Words (and hits among them) the link could not send because its buffer was full while Kafka was
   * slow or away: a real-time source that cannot wait (the emulator, as a front end) sets them aside
   * counted, never silently. Absent in records of older versions: 0.
   */
  readonly notProducedWords?: number;
  readonly notProducedHits?: number;
}

export interface ProcessorLinkAccounting {
  readonly words: number;
  readonly hits: number;
  readonly segments: number;
  readonly corrupt: number;
}

export interface ProcessorAccounting {
  readonly stage: 'processor';
  readonly run: number;
  readonly timeframe: number;
  readonly links: Readonly<Record<string, ProcessorLinkAccounting>>;
  readonly missingLinks: readonly number[];
  readonly events: number;
  readonly hitsInEvents: number;
}

export interface DeadletterAccounting {
  readonly stage: 'deadletter';
  readonly run: number;
  readonly link: number;
  readonly timeframe: number;
  /** The dead-lettered message's sequence and part (or -1 when its headers could not be read). */
  readonly sequence: number;
  readonly part: number;
  readonly words: number;
  readonly reason: string;
}

export interface WriterAccounting {
  readonly stage: 'writer';
  readonly run: number;
  readonly task: string;
  readonly events: number;
  readonly hits: number;
  readonly duplicates: number;
}

export type AccountingRecord =
  ReadoutAccounting | ProcessorAccounting | DeadletterAccounting | WriterAccounting;

export function accountingKey(r: AccountingRecord): string {
  switch (r.stage) {
    case 'readout':
      return `readout/${r.run}/${r.link}/${r.incarnation}`;
    case 'processor':
      return `processor/${r.run}/${r.timeframe}`;
    case 'deadletter':
      return `deadletter/${r.run}/${r.link}/${r.timeframe}/${r.sequence}/${r.part}`;
    case 'writer':
      return `writer/${r.run}/${r.task}`;
  }
}

/** An accounting record as it goes to `<ns>.monitoring`: keyed so a replay republishes the same key. */
export interface EncodedAccounting {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: { readonly [KIND_HEADER]: typeof ACCOUNTING_KIND };
}

/** The one encoder of accounting records (every stage publishes through it). */
export function encodeAccounting(r: AccountingRecord): EncodedAccounting {
  return {
    key: accountingKey(r),
    value: Buffer.from(JSON.stringify(r)),
    headers: { [KIND_HEADER]: ACCOUNTING_KIND },
  };
}

/** An accounting record read back from `<ns>.monitoring` (its value as encodeAccounting wrote it). */
export function decodeAccounting(value: Uint8Array): AccountingRecord {
  return JSON.parse(
    Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'),
  ) as AccountingRecord;
}

/** The data-path balance of one run (docs/data-path.md "Accounting"): `lost` is 0 unless data really was lost. */
export interface Reconciliation {
  readonly run: number;
  readonly produced: {
    readonly words: number;
    readonly hits: number;
    readonly segments: number;
    readonly messages: number;
  };
  /** What the readouts could not send (their buffer full while Kafka was away); not part of `lost`. */
  readonly notProduced: { readonly words: number; readonly hits: number };
  readonly processed: {
    readonly words: number;
    readonly hits: number;
    readonly segments: number;
    readonly corrupt: number;
  };
  readonly deadletteredWords: number;
  readonly timeframes: number;
  readonly incompleteTimeframes: number;
  readonly events: { readonly built: number; readonly hits: number; readonly stored: number };
  /**
   * Words produced but neither processed nor dead-lettered: the links' losses added up, so a link
   * processed beyond its readout's last report never hides another link's loss.
   */
  readonly lost: number;
  /** Events built but not stored (only meaningful once the writer has drained). */
  readonly eventsNotStored: number;
  readonly perLink: Readonly<
    Record<
      string,
      {
        readonly produced: number;
        readonly processed: number;
        readonly deadlettered: number;
        readonly lost: number;
        /**
         * Whether every readout incarnation of the link sent its final report: false for a readout that
         * crashed, was lost with its node or still runs. Its `produced` is then what it had reported.
         */
        readonly final?: boolean;
        /**
         * Words processed or dead-lettered beyond what the link's readout reported: sent after its last
         * report by a readout that never sent a final one (lost, crashed). Counted, never netted against
         * another link's loss. Absent in balances of older versions: 0.
         */
        readonly beyondReport?: number;
      }
    >
  >;
  readonly readoutFinal: boolean;
}
