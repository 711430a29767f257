/**
 * The testbed environment RUNNING on a real local stack (platform + agent processes, real workloads,
 * the test Kafka), for tests that inject faults into a live run. `finish()` stops the run when it still
 * runs, returns its record, and ends everything.
 */
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStack } from '../../deploy/local/stack.js';
import { TESTBED_TEMPLATE } from '../../deploy/local/testbed.js';
import type { Incident } from '../../platform/incidents/types.js';
import type { EnvironmentView } from '../../platform/platform.js';
import type { RunRecord } from '../../platform/store/store.js';
import { testKafkaBrokers } from './kafka-fixture.js';

export interface RunningTestbed {
  readonly stack: LocalStack;
  readonly id: string;
  readonly run: number;
  env(): Promise<EnvironmentView>;
  incidents(): Promise<Incident[]>;
  /** Polls `check` every 200 ms until it holds (or throws after `ms`, saying what it waited for). */
  until(what: string, check: () => Promise<boolean>, ms?: number): Promise<void>;
  /**
   * What a failing test should show: the tasks as the platform sees them and the last ERS issues of every
   * process (all severities, from the ERS files under the stack's home: the lines printed are Warning+).
   */
  diagnosis(lastIssues?: number): Promise<string>;
  finish(): Promise<RunRecord | undefined>;
}

export async function runningTestbed(
  dir: string,
  o: {
    platformArgs?: string[];
    print?: (l: string) => void;
    agentLines?: (l: string) => boolean;
    brokers?: readonly string[];
    compiled?: boolean;
  } = {},
): Promise<RunningTestbed> {
  const brokers = o.brokers ?? (await testKafkaBrokers());
  const stack = await LocalStack.start({
    home: join(dir, 'home'),
    brokers,
    print: o.print ?? (() => undefined),
    ...(o.platformArgs === undefined ? {} : { platformArgs: o.platformArgs }),
    ...(o.agentLines === undefined ? {} : { agentLines: o.agentLines }),
    ...(o.compiled === undefined ? {} : { compiled: o.compiled }),
  });
  const api = stack.api;
  let env: EnvironmentView;
  try {
    env = await api.createEnvironment({ name: TESTBED_TEMPLATE }, { dataDir: join(dir, 'data') });
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) env = await api.transition(env.id, t);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const id = env.id;
  const run = env.run!;
  const view = (): Promise<EnvironmentView> => api.environment(id);
  return {
    stack,
    id,
    run,
    env: view,
    incidents: () => api.incidents(),
    until: (what, check, ms = 60_000) => stack.until(what, ms, check),
    async diagnosis(lastIssues = 60) {
      const tasks = await view().then(
        (e) => e.tasks.map((t) => `  ${t.name} ${t.state} pid ${t.pid ?? '-'}`).join('\n'),
        (err: unknown) => `  (the platform did not answer: ${String(err)})`,
      );
      const home = join(dir, 'home');
      const files = existsSync(home) ? readdirSync(home).filter((f) => /^ers-.*\.jsonl$/.test(f)) : [];
      const issues = files.map((f) => {
        const lines = readFileSync(join(home, f), 'utf8').trimEnd().split('\n').slice(-lastIssues);
        return `${f}, last ${lines.length}:\n${lines.map((l) => `  ${ersLine(l)}`).join('\n')}`;
      });
      return [`tasks:\n${tasks}`, ...issues].join('\n');
    },
    async finish() {
      try {
        const now = await view();
        if (now.state === 'RUNNING') await api.transition(id, 'STOP_ACTIVITY');
        const record = await api.run(run);
        await api.transition(id, 'EXIT');
        return record;
      } finally {
        await stack.stop();
      }
    },
  };
}

/**
 * A copy of the project's runbooks under `dir` with WorkloadCrash's policy replaced (e.g. a lower cap
 * for a crash-loop test, no backoff for the bench); returns the directory for `daqops platform --runbooks`.
 */
export function runbooksWithCrashPolicy(dir: string, policy: string): string {
  const books = join(dir, 'runbooks');
  cpSync('runbooks', books, { recursive: true });
  const file = join(books, 'WorkloadCrash.md');
  const text = readFileSync(file, 'utf8');
  const current = 'policy: { maxAttempts: 5, windowMinutes: 30, backoffSeconds: 1 }';
  if (!text.includes(current)) throw new Error(`WorkloadCrash.md no longer has "${current}"`);
  writeFileSync(file, text.replace(current, `policy: ${policy}`));
  return books;
}

/** One ERS file line, short: time, severity, issue, task, message. */
function ersLine(line: string): string {
  try {
    const i = JSON.parse(line) as {
      time?: string;
      severity?: string;
      name?: string;
      message?: string;
      context?: { task?: string };
    };
    return `${i.time ?? ''} ${i.severity ?? ''} ${i.name ?? ''} [${i.context?.task ?? ''}] ${(i.message ?? '').slice(0, 300)}`;
  } catch {
    return line.slice(0, 300);
  }
}
