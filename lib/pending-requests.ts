/**
 * Requests sent and not yet answered, for both ends of a request/response link: the platform's commands
 * to agents (platform/agents/hub.ts) and an agent's commands to its workloads over IPC (agent/task-channel.ts).
 * Each request has an id to send along and an answer that settles once: with the reply, with TIMEOUT after
 * its limit, or with the error of a link that went away. Bounded by what the caller lets be outstanding.
 */
import { DaqError } from '../protocol/errors.js';

interface Open<R> {
  readonly resolve: (r: R) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class PendingRequests<R> {
  private readonly open = new Map<number, Open<R>>();
  private nextId = 1;

  /** Requests waiting for an answer. */
  get size(): number {
    return this.open.size;
  }

  /**
   * A new request: its id, and its answer — which rejects with TIMEOUT naming `what` after `timeoutMs`.
   * `send` runs with the id; if it throws, the request is closed with that error.
   */
  request(what: string, timeoutMs: number, send: (id: number) => void): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.open.delete(id);
        reject(new DaqError('TIMEOUT', `${what} not answered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.open.set(id, { resolve, reject, timer });
      try {
        send(id);
      } catch (err) {
        this.settle(id, err instanceof Error ? err : new DaqError('UNREACHABLE', String(err)));
      }
    });
  }

  /** The answer to request `id`; false when nothing waits for it (answered already, timed out, unknown). */
  answer(id: number, value: R): boolean {
    return this.settle(id, undefined, value);
  }

  /** Every open request fails with `err` (the link went away, the process exited). */
  failAll(err: Error): void {
    for (const id of [...this.open.keys()]) this.settle(id, err);
  }

  private settle(id: number, err: Error | undefined, value?: R): boolean {
    const p = this.open.get(id);
    if (p === undefined) return false;
    clearTimeout(p.timer);
    this.open.delete(id);
    if (err !== undefined) p.reject(err);
    else p.resolve(value as R);
    return true;
  }
}
