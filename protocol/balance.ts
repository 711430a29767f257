/**
 * A run's data-path balance folded record by record (docs/data-path.md "Accounting"): what the stages'
 * accounting records say, added as they are read, never read again. Its state does not grow with the
 * run: the readouts' and writers' cumulative records are kept latest per link incarnation and per task;
 * the processors' per-timeframe records are summed, and what was already counted is kept as ranges (an
 * IntervalSet: one range for a run processed without gaps) — per link, the timeframes whose part of that
 * link was counted, so a link's words of a timeframe count once even when two members each handed out
 * the timeframe with other links (a rebalance in between); per timeframe, its events and completeness.
 * Dead-lettered messages are kept the same way per link.
 */
import type {
  AccountingRecord,
  ProcessorAccounting,
  ReadoutAccounting,
  Reconciliation,
  WriterAccounting,
} from './accounting.js';

/** Sorted, disjoint, non-adjacent integer ranges [from, to]: the numbers seen, in as few ranges as they allow. */
export class IntervalSet {
  private ranges: [number, number][] = [];

  private count = 0;

  /** From any ranges (unsorted, overlapping, adjacent): merged. */
  static of(ranges: readonly (readonly [number, number])[]): IntervalSet {
    const s = new IntervalSet();
    const sorted = ranges.filter(([a, b]) => Number.isSafeInteger(a) && Number.isSafeInteger(b) && a <= b);
    sorted.sort((x, y) => x[0] - y[0]);
    for (const [from, to] of sorted) {
      const last = s.ranges[s.ranges.length - 1];
      if (last !== undefined && from <= last[1] + 1) last[1] = Math.max(last[1], to);
      else s.ranges.push([from, to]);
    }
    for (const [a, b] of s.ranges) s.count += b - a + 1;
    return s;
  }

  /** How many numbers it holds. */
  size(): number {
    return this.count;
  }

  /** How many ranges it takes (its memory). */
  get rangeCount(): number {
    return this.ranges.length;
  }

  has(n: number): boolean {
    const i = this.indexAfter(n) - 1;
    return i >= 0 && this.ranges[i]![1] >= n;
  }

  /** Adds `n`; false when it was there already. */
  add(n: number): boolean {
    const r = this.ranges;
    const i = this.indexAfter(n); // first range starting after n
    const prev = i > 0 ? r[i - 1] : undefined;
    if (prev !== undefined && prev[1] >= n) return false;
    const next = r[i];
    const joinsPrev = prev !== undefined && prev[1] === n - 1;
    const joinsNext = next !== undefined && next[0] === n + 1;
    if (joinsPrev && joinsNext) {
      prev[1] = next[1];
      r.splice(i, 1);
    } else if (joinsPrev) prev[1] = n;
    else if (joinsNext) next[0] = n;
    else r.splice(i, 0, [n, n]);
    this.count++;
    return true;
  }

  toJSON(): [number, number][] {
    return this.ranges.map(([a, b]) => [a, b]);
  }

  /** Back from toJSON. */
  static fromJSON(ranges: readonly (readonly [number, number])[]): IntervalSet {
    return IntervalSet.of(ranges);
  }

  private indexAfter(n: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ranges[mid]![0] <= n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Parts of a message per sequence number in a dead-letter key (sequence × PART_SLOTS + part). */
const PART_SLOTS = 2 ** 20;

interface LinkTally {
  processed: number;
  deadlettered: number;
}

/** What a RunBalance keeps, as JSON (the platform's store). */
export interface RunBalanceState {
  readonly run: number;
  readonly readouts: Record<string, ReadoutAccounting>;
  readonly writers: Record<string, WriterAccounting>;
  readonly timeframes: [number, number][];
  /** Per link: the timeframes whose part of the link was counted (absent in states of older versions). */
  readonly linkTimeframes?: Record<string, [number, number][]>;
  readonly processed: { words: number; hits: number; segments: number; corrupt: number };
  readonly incomplete: number;
  readonly events: { built: number; hits: number };
  readonly deadletters: Record<string, [number, number][]>;
  readonly deadletteredWords: number;
  readonly links: Record<string, LinkTally>;
  /** Accounting records folded (duplicates included). */
  readonly records: number;
}

export class RunBalance {
  private readonly readouts = new Map<string, ReadoutAccounting>();
  private readonly writers = new Map<string, WriterAccounting>();
  private readonly timeframes: IntervalSet;
  private readonly linkTimeframes = new Map<number, IntervalSet>();
  private readonly processed = { words: 0, hits: 0, segments: 0, corrupt: 0 };
  private incomplete = 0;
  private readonly events = { built: 0, hits: 0 };
  private readonly deadletters = new Map<number, IntervalSet>();
  private deadletteredWords = 0;
  private readonly links = new Map<number, LinkTally>();
  private folded = 0;

  constructor(
    readonly run: number,
    state?: RunBalanceState,
  ) {
    this.timeframes = IntervalSet.fromJSON(state?.timeframes ?? []);
    if (state === undefined) return;
    for (const [k, r] of Object.entries(state.readouts)) this.readouts.set(k, r);
    for (const [k, r] of Object.entries(state.writers)) this.writers.set(k, r);
    Object.assign(this.processed, state.processed);
    this.incomplete = state.incomplete;
    Object.assign(this.events, state.events);
    for (const [l, ranges] of Object.entries(state.deadletters))
      this.deadletters.set(Number(l), IntervalSet.fromJSON(ranges));
    this.deadletteredWords = state.deadletteredWords;
    for (const [l, t] of Object.entries(state.links)) this.links.set(Number(l), { ...t });
    for (const [l, ranges] of Object.entries(state.linkTimeframes ?? {}))
      this.linkTimeframes.set(Number(l), IntervalSet.fromJSON(ranges));
    this.folded = state.records;
  }

  /** Accounting records folded so far, duplicates included. */
  get records(): number {
    return this.folded;
  }

  /** Folds one record of this run (others are ignored). */
  add(r: AccountingRecord): void {
    if (r.run !== this.run) return;
    this.folded++;
    switch (r.stage) {
      case 'readout':
        // Cumulative per process start: the latest record of an incarnation is its word.
        this.readouts.set(`${r.link}/${r.incarnation}`, r);
        break;
      case 'writer':
        this.writers.set(r.task, r);
        break;
      case 'processor':
        this.addTimeframe(r, this.timeframes.add(r.timeframe));
        break;
      case 'deadletter': {
        let seen = this.deadletters.get(r.link);
        if (seen === undefined) {
          seen = new IntervalSet();
          this.deadletters.set(r.link, seen);
        }
        // A message without readable headers has no sequence: counted each time (its run is -1 anyway).
        const key =
          r.sequence >= 0 && r.part >= 0 && r.part < PART_SLOTS ? r.sequence * PART_SLOTS + r.part : -1;
        if (key >= 0 && !seen.add(key)) break;
        this.deadletteredWords += r.words;
        if (r.link >= 0) this.link(r.link).deadlettered += r.words;
        break;
      }
    }
  }

  /** The balance as it stands (the same shape the whole-topic reconciliation gives). */
  reconciliation(): Reconciliation {
    const produced = { words: 0, hits: 0, segments: 0, messages: 0 };
    const notProduced = { words: 0, hits: 0 };
    const producedPerLink = new Map<number, number>();
    const finalPerLink = new Map<number, boolean>();
    let readoutFinal = this.readouts.size > 0;
    for (const r of this.readouts.values()) {
      readoutFinal &&= r.final;
      finalPerLink.set(r.link, (finalPerLink.get(r.link) ?? true) && r.final);
      produced.words += r.words;
      produced.hits += r.hits;
      produced.segments += r.segments;
      produced.messages += r.messages;
      notProduced.words += r.notProducedWords ?? 0;
      notProduced.hits += r.notProducedHits ?? 0;
      producedPerLink.set(r.link, (producedPerLink.get(r.link) ?? 0) + r.words);
    }
    let stored = 0;
    for (const w of this.writers.values()) stored += w.events;
    const linkIds = [...new Set([...producedPerLink.keys(), ...this.links.keys()])].sort((a, b) => a - b);
    const perLink: Record<string, Reconciliation['perLink'][string]> = {};
    let linksLost = 0;
    let attributed = 0;
    for (const l of linkIds) {
      const p = producedPerLink.get(l) ?? 0;
      const t = this.links.get(l) ?? { processed: 0, deadlettered: 0 };
      const lost = Math.max(0, p - t.processed - t.deadlettered);
      linksLost += lost;
      attributed += t.deadlettered;
      perLink[String(l)] = {
        produced: p,
        processed: t.processed,
        deadlettered: t.deadlettered,
        lost,
        final: finalPerLink.get(l) ?? false,
        beyondReport: Math.max(0, t.processed + t.deadlettered - p),
      };
    }
    // Dead-lettered words of no readable link may be any link's: they offset the loss, as before.
    const unattributed = Math.max(0, this.deadletteredWords - attributed);
    return {
      run: this.run,
      produced,
      notProduced,
      processed: { ...this.processed },
      deadletteredWords: this.deadletteredWords,
      timeframes: this.timeframes.size(),
      incompleteTimeframes: this.incomplete,
      events: { built: this.events.built, hits: this.events.hits, stored },
      lost: Math.max(0, linksLost - unattributed),
      eventsNotStored: Math.max(0, this.events.built - stored),
      perLink,
      readoutFinal,
    };
  }

  /** What it keeps, as JSON: bounded by links, tasks and gaps, never by the run's length. */
  state(): RunBalanceState {
    return {
      run: this.run,
      readouts: Object.fromEntries(this.readouts),
      writers: Object.fromEntries(this.writers),
      timeframes: this.timeframes.toJSON(),
      linkTimeframes: Object.fromEntries([...this.linkTimeframes].map(([l, t]) => [String(l), t.toJSON()])),
      processed: { ...this.processed },
      incomplete: this.incomplete,
      events: { ...this.events },
      deadletters: Object.fromEntries([...this.deadletters].map(([l, s]) => [String(l), s.toJSON()])),
      deadletteredWords: this.deadletteredWords,
      links: Object.fromEntries([...this.links].map(([l, t]) => [String(l), { ...t }])),
      records: this.folded,
    };
  }

  /** A processor's record: its links' words where not counted yet, its events when the timeframe is new. */
  private addTimeframe(r: ProcessorAccounting, first: boolean): void {
    if (first) {
      if (r.missingLinks.length > 0) this.incomplete++;
      this.events.built += r.events;
      this.events.hits += r.hitsInEvents;
    }
    for (const [l, c] of Object.entries(r.links)) {
      const link = Number(l);
      let seen = this.linkTimeframes.get(link);
      if (seen === undefined) {
        seen = new IntervalSet();
        this.linkTimeframes.set(link, seen);
      }
      if (!seen.add(r.timeframe)) continue;
      this.processed.words += c.words;
      this.processed.hits += c.hits;
      this.processed.segments += c.segments;
      this.processed.corrupt += c.corrupt;
      this.link(link).processed += c.words;
    }
  }

  private link(l: number): LinkTally {
    let t = this.links.get(l);
    if (t === undefined) {
      t = { processed: 0, deadlettered: 0 };
      this.links.set(l, t);
    }
    return t;
  }
}

/** Reduces accounting records (any order, duplicates allowed) to a run's balance, as RunBalance folds them. */
export function reconcile(run: number, records: Iterable<AccountingRecord>): Reconciliation {
  const b = new RunBalance(run);
  for (const r of records) b.add(r);
  return b.reconciliation();
}
