import { daqopsCommand } from '../../lib/paths.js';

/** How tests start the real `daqops` command as a child process: [program, argv]. */
export function daqopsArgv(...args: string[]): [string, string[]] {
  const { command, args: base } = daqopsCommand();
  return [command, [...base, ...args]];
}
