/** A server process (Prometheus, Alertmanager) for the testbed and the tests: started, awaited on its ready URL, stopped. */
import { DaqError } from '../../protocol/errors.js';
import { spawn, type ChildProcess } from 'node:child_process';

export interface Daemon {
  stop(): Promise<void>;
}

export async function startDaemon(
  command: string,
  args: readonly string[],
  readyUrl: string,
): Promise<Daemon> {
  // Own process group: a Ctrl-C reaches the caller, which stops this in order; killed should it exit first.
  const child: ChildProcess = spawn(command, [...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const onExit = (): void => void child.kill('SIGKILL');
  process.once('exit', onExit);
  child.once('exit', () => process.off('exit', onExit));
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(readyUrl)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new DaqError('PROCESS_START_FAILED', `${command} did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
