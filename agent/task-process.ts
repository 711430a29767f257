/**
 * A task's process: started from an argv array (never a shell) with its CPUs and memory node applied
 * (pinning.ts), marked so a later agent can find it as an orphan, ready when a workload says so over IPC
 * (or when a `command` has started), and its placement read back from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DaqError } from '../protocol/errors.js';
import type { TaskSpec } from '../protocol/agent-link.js';
import type { ErsReporter } from '../lib/ers.js';
import { daqopsCommand, processMemoryEnv } from '../lib/paths.js';
import {
  pinnedArgv,
  verifyPlacement,
  type PinningTools,
  type Placement,
  type VerifiedPlacement,
} from './pinning.js';

export const NODE_ENV_MARKER = 'DAQOPS_AGENT_NODE';
export const TASK_ENV_MARKER = 'DAQOPS_TASK';
export const ENVIRONMENT_ENV_MARKER = 'DAQOPS_ENVIRONMENT';

export interface Launched {
  readonly child: ChildProcess;
  /** Resolves when the process is ready for commands; rejects when it exits or takes too long. */
  readonly ready: Promise<void>;
  /** Whether the memory binding was applied (numactl), so /proc must show it. */
  readonly memoryBound: boolean;
}

/** Starts a task's process pinned to its cores and memory node. */
export function launch(
  spec: TaskSpec,
  o: {
    readonly node: string;
    readonly tools: PinningTools;
    readonly ers: ErsReporter;
    readonly readyTimeoutMs: number;
  },
): Launched {
  const workload = spec.kind !== 'command';
  const base = workload
    ? (() => {
        const c = daqopsCommand();
        return [c.command, ...c.args, 'workload', spec.kind, '--ipc'];
      })()
    : [...(spec.argv ?? [])];
  if (base.length === 0)
    throw new DaqError('INVALID_CONFIG', `task ${spec.task}: a command task needs argv`, { field: 'argv' });
  const pinned = pinnedArgv(base, { cpus: spec.cpus, memoryNode: spec.memoryNode }, o.tools);
  if (pinned.warning !== undefined)
    o.ers.raise('daqops.agent.MemoryBindingUnavailable', `task ${spec.task}: ${pinned.warning}`, {
      task: spec.task,
    });
  const [cmd, ...args] = pinned.argv;
  const child = spawn(cmd!, args, {
    stdio: workload ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    env: {
      ...processMemoryEnv(),
      [NODE_ENV_MARKER]: o.node,
      [ENVIRONMENT_ENV_MARKER]: spec.environment,
      [TASK_ENV_MARKER]: spec.task,
    },
  });
  const ready = workload
    ? new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new DaqError('TIMEOUT', `task ${spec.task} did not report ready within ${o.readyTimeoutMs} ms`),
            ),
          o.readyTimeoutMs,
        );
        child.once('message', () => {
          clearTimeout(t);
          resolve();
        });
        child.once('exit', () => {
          clearTimeout(t);
          reject(new DaqError('TASK_FAILED', `task ${spec.task} exited before it was ready`));
        });
      })
    : new Promise<void>((resolve, reject) => {
        child.once('spawn', () => resolve());
        child.once('error', (err) =>
          reject(new DaqError('PROCESS_START_FAILED', `task ${spec.task}: ${err.message}`, { cause: err })),
        );
      });
  return { child, ready, memoryBound: pinned.memoryBound };
}

/**
 * Reads the placement back from /proc; numactl/taskset exec the target, so the exec gets a moment (up to
 * half a second) before the placement is called wrong.
 */
export async function awaitPlacement(
  pid: number,
  want: Placement,
  memoryBound: boolean,
): Promise<VerifiedPlacement> {
  let v = verifyPlacement(pid, want, memoryBound);
  for (let i = 0; i < 20 && !v.ok; i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = verifyPlacement(pid, want, memoryBound);
  }
  return v;
}
