/**
 * Raising ERS issues from daqops code. Every issue is a validated protocol ErsIssue; where it goes is a
 * sink (stderr JSON now; the agent adds winston files and the Kafka `<ns>.ers` topic). Names come from
 * the catalogue so recovery rules and runbooks can rely on them.
 */
import { hostname } from 'node:os';
import type { ErsContext, ErsIssue, ErsIssueName, ErsParameterValue, ErsSeverity } from '../protocol/ers.js';
import { ersIssueCatalogue } from '../protocol/ers.js';
import { activeIds } from './tracing.js';

export type ErsSink = (issue: ErsIssue) => void;

export interface ErsReporterOptions {
  readonly application: string;
  readonly task?: string;
  readonly environment?: string;
  readonly sink?: ErsSink;
  readonly now?: () => Date;
}

export function stderrErsSink(issue: ErsIssue): void {
  process.stderr.write(`${JSON.stringify({ ers: issue })}\n`);
}

export class ErsReporter {
  private readonly context: ErsContext;
  private readonly sink: ErsSink;
  private readonly now: () => Date;

  constructor(o: ErsReporterOptions) {
    this.context = {
      host: hostname(),
      pid: process.pid,
      application: o.application,
      task: o.task,
      environment: o.environment,
    };
    this.sink = o.sink ?? stderrErsSink;
    this.now = o.now ?? (() => new Date());
  }

  /** Raises a catalogued issue at its catalogue severity (or `severity` when given). */
  raise(
    name: ErsIssueName,
    message: string,
    parameters: Record<string, ErsParameterValue> = {},
    options: { severity?: ErsSeverity; cause?: unknown; qualifiers?: string[] } = {},
  ): ErsIssue {
    const issue: ErsIssue = {
      severity: options.severity ?? ersIssueCatalogue[name].severity,
      name,
      message,
      context: this.context,
      parameters,
      qualifiers: options.qualifiers ?? [],
      causes: options.cause === undefined ? [] : [this.causeOf(options.cause)],
      time: this.now().toISOString(),
      ...activeIds(),
    };
    this.sink(issue);
    return issue;
  }

  private causeOf(err: unknown): ErsIssue {
    const message = err instanceof Error ? err.message : String(err);
    return {
      severity: 'Error',
      name: 'daqops.runtime.Exception',
      message: message === '' ? 'error without a message' : message,
      context: this.context,
      parameters: err instanceof Error ? { type: err.name } : {},
      qualifiers: [],
      causes: err instanceof Error && err.cause !== undefined ? [this.causeOf(err.cause)] : [],
      time: this.now().toISOString(),
    };
  }
}

/**
 * ERS `throttle(30,100)`: after `first` identical issues only one in `every` passes, carrying how many
 * were suppressed. The ERS logger throttles by issue, the Kafka client's log by kind of line.
 */
export interface ThrottleDecision {
  readonly pass: boolean;
  /** Issues suppressed since the last one that passed (reported on the passing one). */
  readonly suppressed: number;
}

export class ErsThrottle {
  private readonly seen = new Map<string, { count: number; suppressed: number; lastMs: number }>();

  constructor(
    readonly first = 30,
    readonly every = 100,
    /** A key quiet for this long starts counting afresh. */
    readonly idleResetMs = 60_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  admit(key: string): ThrottleDecision {
    const now = this.now();
    let s = this.seen.get(key);
    if (s === undefined || now - s.lastMs >= this.idleResetMs) {
      s = { count: 0, suppressed: 0, lastMs: now };
      this.seen.set(key, s);
    }
    s.count++;
    s.lastMs = now;
    if (s.count <= this.first || (s.count - this.first) % this.every === 0) {
      const suppressed = s.suppressed;
      s.suppressed = 0;
      return { pass: true, suppressed };
    }
    s.suppressed++;
    return { pass: false, suppressed: s.suppressed };
  }
}
