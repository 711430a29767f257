/**
 * Who may write a run directory (docs/data-path.md "Writer"): the writer copy of the newest placement.
 * A copy records its placement generation in `writer.json` when it opens the run, and reads it again
 * before each chunk. A copy that finds a newer generation there stops storing. That happens to the old
 * copy on a node that was cut off while the platform placed the writer elsewhere: once the node is back,
 * the old copy could otherwise store records beside its successor, before the platform stops it.
 * Without a generation (a writer run by hand) the directory is not fenced.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DaqError } from '../../../protocol/errors.js';
import { writeAtomic } from './durable-file.js';

export interface FenceOwner {
  readonly generation: number;
  readonly task: string;
  readonly host: string;
  readonly pid: number;
  readonly since: string;
}

const FILE = 'writer.json';

export class RunFence {
  constructor(
    private readonly dir: string,
    private readonly generation: number,
    private readonly task: string,
  ) {}

  /** The owner the directory names, if any. */
  owner(): FenceOwner | undefined {
    const path = join(this.dir, FILE);
    if (!existsSync(path)) return undefined;
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as FenceOwner;
    } catch {
      return undefined; // unreadable: not a claim anyone can hold
    }
  }

  /** At open: refused when a newer copy owns the directory; else this copy's generation is written down. */
  claim(): void {
    const held = this.check();
    if (held !== undefined && held.generation === this.generation) return;
    const owner: FenceOwner = {
      generation: this.generation,
      task: this.task,
      host: hostname(),
      pid: process.pid,
      since: new Date().toISOString(),
    };
    writeAtomic(this.dir, FILE, `${JSON.stringify(owner)}\n`);
  }

  /** Before a write: throws SUPERSEDED when a newer copy owns the directory. */
  check(): FenceOwner | undefined {
    const o = this.owner();
    if (o !== undefined && o.generation > this.generation)
      throw new DaqError(
        'SUPERSEDED',
        `${this.dir} belongs to placement ${o.generation} of ${o.task} (pid ${o.pid} on ${o.host} since ${o.since}); this copy is placement ${this.generation}: it stores nothing more`,
        { field: 'generation' },
      );
    return o;
  }
}
