/**
 * Send → acknowledge → commit, the order every consuming stage keeps so that a crash never loses
 * acknowledged input (docs/data-path.md "Processor"): a stage's outputs for some input go out; once Kafka
 * (or the disk) acknowledged them the input is marked handled; then the offsets that allows are committed,
 * one commit at a time. Commits waiting for the same partition fold into the latest acknowledged (its
 * offset covers the earlier ones): a commit slower than the acknowledgements costs how often offsets are
 * committed, never memory — at most one waiting item per partition. At most `window` deliveries are in flight:
 * the next push waits for the oldest, which is the stage's backpressure. A delivery that fails is handed
 * to `failed` (the stage ends, committing nothing more); a refused commit is handed to `refused` (the next
 * commit covers it, and a new owner re-reads from the last one).
 */
import { DaqError } from '../../protocol/errors.js';

export interface PipelineStages<T> {
  /** Delivers the outputs of `item`; resolves once they are acknowledged. */
  readonly send: (item: T) => Promise<void>;
  /** The outputs of `item` are acknowledged: mark its input handled; returns the partitions to commit. */
  readonly acknowledged: (item: T) => Iterable<number>;
  /** Commits what `partition` allows now (runs in the commit chain, one at a time). */
  readonly commit: (item: T, partition: number) => Promise<void>;
  /** A commit was refused. */
  readonly refused: (partition: number, err: Error) => void;
  /** A delivery failed: the stage must end. */
  readonly failed: (err: Error) => void;
}

export class OutputPipeline<T> {
  private readonly inFlight = new Set<Promise<void>>();
  /** Per partition, the latest acknowledged item whose commit has not begun. */
  private readonly waiting = new Map<number, T>();
  private committing: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly window: number,
    private readonly stages: PipelineStages<T>,
  ) {
    if (!Number.isInteger(window) || window < 1)
      throw new DaqError('INVALID_CONFIG', `window must be ≥ 1, not ${window}`, { field: 'window' });
  }

  /** Deliveries whose outputs are not yet acknowledged. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Puts `item`'s outputs on their way and returns once they are (not once acknowledged): waits first
   * while `window` deliveries are in flight. After a failed delivery nothing more is sent.
   */
  async push(item: T): Promise<void> {
    while (this.inFlight.size >= this.window) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    const d: Promise<void> = this.stages.send(item).then(
      () => {
        this.inFlight.delete(d);
        if (this.failure !== undefined) return;
        for (const p of new Set(this.stages.acknowledged(item))) {
          // Delete first: a partition acknowledged again goes to the back of the line, as it was.
          this.waiting.delete(p);
          this.waiting.set(p, item);
        }
        this.committing ??= this.commitWaiting();
      },
      (err: unknown) => {
        this.inFlight.delete(d);
        const e = err instanceof Error ? err : new Error(String(err));
        if (this.failure === undefined) {
          this.failure = e;
          this.stages.failed(e);
        }
      },
    );
    this.inFlight.add(d);
  }

  /** Waits until every delivery pushed so far is acknowledged (or failed) and its commits are done. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    while (this.committing !== undefined) await this.committing;
  }

  /** Partitions whose commit waits (each stands for its latest acknowledged item). */
  get commitsWaiting(): number {
    return this.waiting.size;
  }

  /** Commits what waits, one at a time, oldest partition first, until nothing does. */
  private async commitWaiting(): Promise<void> {
    try {
      for (;;) {
        const next = this.waiting.entries().next();
        if (next.done === true) return;
        const [p, item] = next.value;
        this.waiting.delete(p);
        try {
          await this.stages.commit(item, p);
        } catch (err) {
          this.stages.refused(p, err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      this.committing = undefined;
    }
  }
}
