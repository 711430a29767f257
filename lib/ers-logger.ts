/**
 * The ERS logger (winston): human-readable lines to the console and JSON records to a file, behind a
 * throttle like ERS `throttle(30,100)`: after 30 identical issues only one in 100 passes, carrying how many
 * were suppressed, so a flood cannot drown the log. "Identical" means the same issue name from the same
 * application and task. ERS issues reach Kafka `<ns>.ers` through the record bus (lib/record-bus.ts).
 */
import winston from 'winston';
import type Transport from 'winston-transport';
import type { ErsIssue, ErsSeverity } from '../protocol/ers.js';
import { validateErsIssue } from '../protocol/ers.js';
import { ErsThrottle } from './ers.js';

const LEVELS: Record<ErsSeverity, number> = {
  Fatal: 0,
  Error: 1,
  Warning: 2,
  Information: 3,
  Log: 4,
  Debug: 5,
};

export function throttleKey(issue: ErsIssue): string {
  return `${issue.name}|${issue.context.application}|${issue.context.task ?? ''}`;
}

/** One line for a human: time, severity, issue, message, where, parameters. */
export function formatErsLine(i: ErsIssue): string {
  const where = [i.context.environment, i.context.task].filter((x) => x !== undefined).join('/');
  const params = Object.entries(i.parameters)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  const cause = i.causes.length > 0 ? ` ← ${i.causes.map((c) => `${c.name}: ${c.message}`).join(' ← ')}` : '';
  return `${i.time} ${i.severity.toUpperCase().padEnd(11)} ${i.name} ${where === '' ? '' : `[${where}] `}${i.message}${params === '' ? '' : ` (${params})`}${cause}`;
}

export interface ErsLoggerOptions {
  /** Console lines at and above this severity; false for none. */
  readonly console?: ErsSeverity | false;
  /** JSON records, one per line. */
  readonly file?: string;
  readonly throttle?: ErsThrottle;
}

export class ErsLogger {
  private readonly logger: winston.Logger;
  private readonly throttle: ErsThrottle;
  suppressed = 0;

  constructor(o: ErsLoggerOptions = {}) {
    this.throttle = o.throttle ?? new ErsThrottle();
    const transports: Transport[] = [];
    if (o.console !== false) {
      transports.push(
        new winston.transports.Console({
          level: o.console ?? 'Information',
          stderrLevels: ['Fatal', 'Error', 'Warning', 'Information', 'Log', 'Debug'],
          format: winston.format.printf((info) => formatErsLine((info as unknown as { ers: ErsIssue }).ers)),
        }),
      );
    }
    if (o.file !== undefined) {
      transports.push(
        new winston.transports.File({
          filename: o.file,
          level: 'Debug',
          format: winston.format.printf((info) => JSON.stringify((info as unknown as { ers: ErsIssue }).ers)),
        }),
      );
    }
    this.logger = winston.createLogger({ levels: LEVELS, level: 'Debug', transports });
  }

  /** Validates and logs an issue through the throttle. Returns whether it passed. */
  emit(raw: unknown): boolean {
    const issue = validateErsIssue(raw);
    const d = this.throttle.admit(throttleKey(issue));
    if (!d.pass) {
      this.suppressed++;
      return false;
    }
    const out: ErsIssue =
      d.suppressed > 0
        ? {
            ...issue,
            qualifiers: [...issue.qualifiers, 'throttled'],
            parameters: { ...issue.parameters, suppressed: d.suppressed },
          }
        : issue;
    this.logger.log({ level: out.severity, message: out.message, ers: out });
    return true;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.logger.on('finish', () => resolve());
      this.logger.end();
      setTimeout(resolve, 500).unref();
    });
  }
}
