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
