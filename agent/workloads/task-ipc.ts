/** Messages between the agent and a workload process over the Node IPC channel. */
import type { TaskState, TaskTransition } from '../../protocol/states.js';

export type AgentToTask =
  | {
      readonly type: 'command';
      readonly id: number;
      readonly transition: TaskTransition;
      readonly payload?: Readonly<Record<string, unknown>>;
      readonly traceparent?: string | undefined;
    }
  | { readonly type: 'metrics'; readonly id: number }
  /** A drill fault for a running readout's emulator (protocol/faults.ts), answered with a reply. */
  | { readonly type: 'fault'; readonly id: number; readonly fault: unknown };

export type TaskToAgent =
  | { readonly type: 'ready'; readonly state: TaskState; readonly pid: number }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly ok: boolean;
      readonly state: TaskState;
      readonly error?: { code: string; message: string };
    }
  | { readonly type: 'metrics'; readonly id: number; readonly metrics: unknown[] }
  | { readonly type: 'state'; readonly state: TaskState; readonly message?: string };
