/**
 * The last resort of every daqops process: an error that nothing handled becomes one ERS Fatal issue
 * (`daqops.runtime.UnhandledError`, with the error as its cause) and a clean exit with EXIT_UNHANDLED, not
 * a stack trace and whatever code Node picks. The agent forwards a workload's Fatal into ERS, so the
 * platform's incidents see it; supervisors restart by policy.
 */
import { ErsReporter, type ErsSink } from './ers.js';

/** EX_SOFTWARE (sysexits.h): an internal error. */
export const EXIT_UNHANDLED = 70;

export interface FatalHandlerOptions {
  readonly sink?: ErsSink;
  readonly exit?: (code: number) => void;
  /** How long buffered output may take to drain before the exit; default 200 ms. */
  readonly graceMs?: number;
}

/** Installs the handlers once per process; returns a function that removes them (for tests). */
export function installFatalHandlers(application: string, o: FatalHandlerOptions = {}): () => void {
  const ers = new ErsReporter({ application, ...(o.sink === undefined ? {} : { sink: o.sink }) });
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let fired = false;
  const handler =
    (kind: 'exception' | 'rejection') =>
    (err: unknown): void => {
      if (fired) return;
      fired = true;
      const message = err instanceof Error ? err.message : String(err);
      try {
        ers.raise(
          'daqops.runtime.UnhandledError',
          `unhandled ${kind} in ${application}: ${message === '' ? 'no message' : message}; exiting with code ${EXIT_UNHANDLED}`,
          { kind, code: EXIT_UNHANDLED },
          { cause: err },
        );
      } finally {
        process.exitCode = EXIT_UNHANDLED;
        setTimeout(() => exit(EXIT_UNHANDLED), o.graceMs ?? 200);
      }
    };
  const onException = handler('exception');
  const onRejection = handler('rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
