/**
 * The agent's end of a workload's IPC channel: commands, metrics requests and drill faults go out with an
 * id and come back answered, within a time limit (lib/pending-requests.ts); what the workload says by
 * itself (a state it reached on its own) goes to `onState`. When the process exits, every open request
 * fails at once.
 */
import type { ChildProcess } from 'node:child_process';
import { PendingRequests } from '../lib/pending-requests.js';
import { DaqError } from '../protocol/errors.js';
import type { TaskState } from '../protocol/states.js';
import type { AgentToTask, TaskToAgent } from './workloads/task-ipc.js';

type Request =
  | Omit<Extract<AgentToTask, { type: 'command' }>, 'id'>
  | { type: 'metrics' }
  | Omit<Extract<AgentToTask, { type: 'fault' }>, 'id'>;
type Answer = Extract<TaskToAgent, { type: 'reply' | 'metrics' }>;

export class TaskChannel {
  private readonly pending = new PendingRequests<Answer>();

  constructor(
    private readonly task: string,
    private readonly child: ChildProcess,
    onState: (state: TaskState, message: string | undefined) => void,
  ) {
    child.on('message', (msg: TaskToAgent) => {
      if (msg.type === 'reply' || msg.type === 'metrics') this.pending.answer(msg.id, msg);
      else if (msg.type === 'state') onState(msg.state, msg.message);
    });
  }

  /** Sends a request; rejects with TASK_FAILED when the process is gone, TIMEOUT after `timeoutMs`. */
  request(msg: Request, timeoutMs: number): Promise<Answer> {
    if (!this.child.connected)
      return Promise.reject(new DaqError('TASK_FAILED', `task ${this.task} has no running process`));
    const what = `task ${this.task}: ${msg.type === 'command' ? msg.transition : msg.type}`;
    return this.pending.request(what, timeoutMs, (id) => this.child.send({ ...msg, id }));
  }

  /** The process exited: whatever waits for an answer fails with why. */
  closed(why: string): void {
    this.pending.failAll(new DaqError('TASK_FAILED', `task ${this.task} exited (${why})`));
  }
}
