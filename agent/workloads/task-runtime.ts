/**
 * The workload side of the task state machine: a workload started by the agent (`daqops workload <kind>
 * --ipc`) waits in STANDBY and moves through the protocol's task machine on the agent's commands:
 * CONFIGURE (validates the config) → START (runs the workload with the run number) → STOP → RESET → EXIT.
 * Each command is answered with the new state or an error; a workload that fails while RUNNING reports
 * ERROR by itself. Every transition is a span, child of the caller's trace context.
 */
import { nextTaskState, type TaskState, type TaskTransition } from '../../protocol/states.js';
import { DaqError, isDaqError } from '../../protocol/errors.js';
import { parseFault } from '../../protocol/faults.js';
import type { ReadoutWorkload } from './readout/readout.js';
import { ErsReporter } from '../../lib/ers.js';
import { Metrics } from '../../lib/metrics.js';
import { startTracing, stopTracing, withSpan } from '../../lib/tracing.js';
import { applyOverrides } from '../../lib/config.js';
import { parseWorkloadConfig, type WorkloadConfig, type WorkloadKind } from './config.js';
import { runWorkload } from './run-workload.js';
import type { RunStop } from './readout/sources.js';
import type { AgentToTask, TaskToAgent } from './task-ipc.js';

export async function runTaskRuntime(
  kind: WorkloadKind,
  fallbackBrokers: readonly string[] | undefined,
): Promise<void> {
  const send = (m: TaskToAgent): void => {
    process.send?.(m);
  };
  await startTracing(`daqops-${kind}`);
  let state: TaskState = 'STANDBY';
  let config: WorkloadConfig | undefined;
  let rawConfig: Record<string, unknown> = {};
  let metrics: Metrics | undefined;
  let ers: ErsReporter | undefined;
  let running:
    | { controller: AbortController; done: Promise<unknown>; stop: RunStop; readout?: ReadoutWorkload }
    | undefined;

  /** A move the workload takes by itself (a bounded run finished, a run failed), through the table, told to the agent. */
  const moveByItself = (t: 'STOP' | 'GO_ERROR', message: string): void => {
    state = nextTaskState(state, t);
    send({ type: 'state', state, message });
  };

  const apply = async (t: TaskTransition, payload: Readonly<Record<string, unknown>>): Promise<void> => {
    const next = nextTaskState(state, t);
    if (t === 'CONFIGURE') {
      rawConfig = applyOverrides((payload['config'] ?? {}) as Record<string, unknown>, []);
      config = parseWorkloadConfig(kind, rawConfig, fallbackBrokers);
      metrics ??= new Metrics({ environment: config.environment, task: config.task });
      ers = new ErsReporter({
        application: `daqops-${kind}`,
        task: config.task,
        environment: config.environment,
      });
    } else if (t === 'START') {
      if (config === undefined)
        throw new DaqError('ILLEGAL_TRANSITION', 'START before CONFIGURE', { field: 'transition' });
      const run = payload['run'];
      // The run's common clock goes to readouts only (the others have nothing to pace).
      const epochMs =
        kind === 'readout' && typeof payload['epochMs'] === 'number' ? payload['epochMs'] : undefined;
      const cfg =
        typeof run === 'number' || epochMs !== undefined
          ? parseWorkloadConfig(
              kind,
              {
                ...rawConfig,
                ...(typeof run === 'number' ? { run } : {}),
                ...(epochMs === undefined ? {} : { epochMs }),
              },
              config.brokers,
            )
          : config;
      const controller = new AbortController();
      const stop: RunStop = { atMs: undefined };
      const current: NonNullable<typeof running> = { controller, done: Promise.resolve(), stop };
      const done = runWorkload(cfg, {
        signal: controller.signal,
        handleSignals: false,
        metrics: metrics!,
        ers: ers!,
        stop,
        onReadout: (r) => (current.readout = r),
      }).then(
        () => {
          // A bounded workload (a readout with a timeframe limit) finished by itself.
          if (running?.controller === controller && state === 'RUNNING') {
            running = undefined;
            moveByItself('STOP', 'finished');
          }
        },
        (err: unknown) => {
          if (running?.controller === controller) {
            running = undefined;
            moveByItself('GO_ERROR', err instanceof Error ? err.message : String(err));
          }
        },
      );
      current.done = done;
      running = current;
    } else if (t === 'STOP' || t === 'EXIT' || t === 'GO_ERROR') {
      const r = running;
      running = undefined;
      if (r !== undefined) {
        const at = payload['stopAtMs'];
        if (t === 'STOP' && typeof at === 'number') {
          // A common stop time: run to the last timeframe before it, then drain (all links end on the same
          // timeframe). Cut short if the source does not end by itself soon after.
          r.stop.atMs = at;
          const limit = new Promise<'late'>((res) =>
            setTimeout(() => res('late'), Math.max(0, at - Date.now()) + 5000).unref(),
          );
          if ((await Promise.race([r.done, limit])) === 'late') r.controller.abort();
        } else r.controller.abort();
        await r.done;
      }
    }
    state = next;
  };

  /** Answers a command or a fault the task could not carry out, with its code and message. */
  const refuse = (id: number, err: unknown): void =>
    send({
      type: 'reply',
      id,
      ok: false,
      state,
      error: {
        code: isDaqError(err) ? err.code : 'TASK_FAILED',
        message: err instanceof Error ? err.message : String(err),
      },
    });

  process.on('message', (raw: AgentToTask) => {
    if (raw.type === 'fault') {
      // A drill fault: only a RUNNING readout takes one; anything else answers why not.
      try {
        const r = running?.readout;
        if (r === undefined || state !== 'RUNNING')
          throw new DaqError(
            'INVALID_FAULT',
            `task is ${state}${kind === 'readout' ? '' : ` (a ${kind})`}: drill faults go to a RUNNING readout`,
            { field: 'task' },
          );
        r.inject(parseFault(raw.fault, { chambers: r.config.chambers }));
        send({ type: 'reply', id: raw.id, ok: true, state });
      } catch (err) {
        refuse(raw.id, err);
      }
      return;
    }
    if (raw.type === 'metrics') {
      void (metrics?.registry.getMetricsAsJSON() ?? Promise.resolve([])).then((m) =>
        send({ type: 'metrics', id: raw.id, metrics: m }),
      );
      return;
    }
    void withSpan(
      `task ${raw.transition}`,
      { 'daq.task.kind': kind, 'daq.transition': raw.transition },
      () => apply(raw.transition, raw.payload ?? {}),
      raw.traceparent,
    ).then(
      async () => {
        send({ type: 'reply', id: raw.id, ok: true, state });
        if (state === 'DONE') {
          await stopTracing();
          process.exit(0);
        }
      },
      (err: unknown) => refuse(raw.id, err),
    );
  });
  // The agent going away (IPC closed) ends the workload: it must never run unsupervised.
  process.on('disconnect', () => {
    running?.controller.abort();
    void (running?.done ?? Promise.resolve()).finally(() => process.exit(0));
  });
  send({ type: 'ready', state, pid: process.pid });
  await new Promise<void>(() => {});
}
