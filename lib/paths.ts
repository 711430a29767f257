import { DaqError } from '../protocol/errors.js';
import { envInteger } from './env.js';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The daqops project root (the folder with package.json), whether running from source or from dist/. */
export function projectRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir)
      throw new DaqError('INTERNAL', 'cannot find the daqops project root (no package.json above lib/)');
    dir = up;
  }
  cached = dir;
  return dir;
}

/**
 * How to start the `daqops` command as a child process the way this process was started: from the compiled
 * dist/ when running compiled, from source through tsx otherwise.
 */
export function daqopsCommand(): { command: string; args: string[] } {
  const compiled = join(projectRoot(), 'dist', 'bin', 'daqops.js');
  const fromSource = !fileURLToPath(import.meta.url).includes(`${join('dist', 'lib')}`);
  return fromSource || !existsSync(compiled)
    ? { command: process.execPath, args: ['--import', 'tsx', join(projectRoot(), 'bin', 'daqops.ts')] }
    : { command: process.execPath, args: [compiled] };
}

/**
 * The environment a daqops process runs with: glibc's malloc arenas limited to 2 unless the operator
 * chose otherwise. Every thread that allocates gets an arena of its own by default (up to 8 per core), and
 * the Kafka client's threads each kept what they had once touched: resident memory grew with every
 * burst and never came back (docs/agent.md "Memory").
 */
/**
 * The heap growth a daqops process runs with (docs/agent.md "Memory"): after each full collection V8 lets
 * the old generation grow to 1 + percent/100 of what stayed live before it collects again. Left to itself
 * it chose up to 4× for a processor at full rate — 50 MiB live, 200 MiB of heap, most of it garbage
 * holding Kafka records — and resident memory followed. 20 % cost no measurable throughput.
 */
export function heapGrowingPercent(env: NodeJS.ProcessEnv = process.env): number {
  return envInteger('DAQOPS_HEAP_GROWING_PERCENT', 0, 400, env) ?? 20;
}

export function processMemoryEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...env };
}
