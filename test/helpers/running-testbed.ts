/**
 * The testbed environment RUNNING on a real local stack (platform + agent processes, real workloads,
 * the test Kafka), for tests that inject faults into a live run. `finish()` stops the run when it still
 * runs, returns its record, and ends everything.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStack } from '../../deploy/local/stack.js';
import { TESTBED_TEMPLATE } from '../../deploy/local/testbed.js';
import type { Incident } from '../../platform/incidents/types.js';
import type { EnvironmentView } from '../../platform/platform.js';
import type { RunRecord } from '../../platform/store/store.js';
import { KafkaClient } from '../../lib/kafka.js';
import { topicNames } from '../../protocol/topics.js';
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
   * What a failing test should show: the tasks and incidents as the platform sees them, where each stage
   * of the data path got to (the agent's counters), and the last lines the processes printed.
   */
  diagnosis(lastLines?: number): Promise<string>;
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
  /** The last lines the processes printed (Warning and above, start-up), for diagnosis(). */
  const printed: string[] = [];
  const stack = await LocalStack.start({
    home: join(dir, 'home'),
    brokers,
    print: (l) => {
      if (printed.push(l) > 400) printed.splice(0, 100);
      o.print?.(l);
    },
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
    async diagnosis(lastLines = 80) {
      const tasks = await view().then(
        (e) => e.tasks.map((t) => `  ${t.name} ${t.state} pid ${t.pid ?? '-'}`).join('\n'),
        (err: unknown) => `  (the platform did not answer: ${String(err)})`,
      );
      const incidents = await api.incidents().then(
        (is) =>
          is
            .map(
              (i) =>
                `  ${i.root.name} (${i.root.component.kind} ${i.root.component.id}) ${i.state}: ${i.signals.length} signal(s)`,
            )
            .join('\n'),
        (err: unknown) => `  (the platform did not answer: ${String(err)})`,
      );
      // The data path's own counters, as the agent serves them: where each stage got to.
      const counters = await api.agents().then(
        async (agents) => {
          const texts = await Promise.all(
            agents.map(async (a) =>
              a.metrics === undefined
                ? ''
                : await fetch(`http://${a.metrics}/metrics`, { signal: AbortSignal.timeout(5000) }).then(
                    (r) => r.text(),
                  ),
            ),
          );
          return texts
            .flatMap((t) => t.split('\n'))
            .filter((l) =>
              /^daq_(writer_(events|duplicate|commit)|processor_(events|hits|timeframes|consumer_lag|commit)|readout_(hits|subtimeframes|send_errors|not_produced|buffered|backpressure))/.test(
                l,
              ),
            )
            .map((l) => `  ${l}`)
            .join('\n');
        },
        (err: unknown) => `  (no agent answered: ${String(err)})`,
      );
      // What the broker holds, asked over a connection of its own (not a reader the test may have reused).
      const topics = await (async () => {
        const client = new KafkaClient({ brokers, clientId: 'test-diagnosis', log: () => {} });
        try {
          const lines: string[] = [];
          const t = topicNames(env.namespace);
          for (const topic of [t.rawHits, t.events, t.monitoring, t.deadletter]) {
            const ends = await client.topicOffsets(topic);
            lines.push(`  ${topic}: ${ends.map((e) => `p${e.partition} ${e.low}..${e.high}`).join(', ')}`);
          }
          return lines.join('\n');
        } catch (err) {
          return `  (Kafka did not answer: ${String(err)})`;
        } finally {
          await client.close();
        }
      })();
      return [
        `tasks:\n${tasks}`,
        `incidents:\n${incidents}`,
        `counters:\n${counters}`,
        `topics:\n${topics}`,
        `last ${Math.min(lastLines, printed.length)} lines printed:\n${printed.slice(-lastLines).join('\n')}`,
      ].join('\n');
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
