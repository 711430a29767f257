/**
 * A task's output into ERS: a workload's own ERS records (one JSON line each on its stderr) are forwarded
 * as they are; any other line becomes a `daqops.agent.WorkloadOutput` record (stdout Information, stderr
 * Warning), cut at 2,000 characters.
 */
import type { TaskRef } from '../protocol/agent-link.js';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ErsIssue } from '../protocol/ers.js';
import type { ErsReporter } from '../lib/ers.js';

/** Longest output line kept in a WorkloadOutput record. */
const MAX_LINE = 2000;

export function captureOutput(
  { task, environment }: TaskRef,
  child: ChildProcess,
  ers: ErsReporter,
  forwardErs: (issue: unknown) => void,
): void {
  for (const [stream, severity] of [
    [child.stdout, 'Information'],
    [child.stderr, 'Warning'],
  ] as const) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim() === '' || line.includes('Unknown user config')) return;
      if (line.startsWith('{"ers":')) {
        try {
          forwardErs((JSON.parse(line) as { ers: ErsIssue }).ers);
          return;
        } catch {
          // not an ERS record after all: kept as output below
        }
      }
      ers.raise(
        'daqops.agent.WorkloadOutput',
        line.slice(0, MAX_LINE),
        { task, environment, stream: severity === 'Warning' ? 'stderr' : 'stdout' },
        { severity },
      );
    });
  }
}
