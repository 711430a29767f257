/**
 * The local control stack: `daqops platform` and one `daqops agent` as child processes on 127.0.0.1, with
 * their state (SQLite, tokens, ERS files) under one home directory. The testbed runs on it, and so do the
 * tests that kill and restart the platform under a live run.
 */
import { DaqError } from '../../protocol/errors.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { daqopsCommand, processMemoryEnv, projectRoot } from '../../lib/paths.js';
import { pollUntil } from '../../lib/poll.js';
import { loadTokens } from '../../platform/api/auth.js';
import { PlatformClient } from '../../platform/api/client.js';
import { ensureTokensFile } from '../../platform/platform-cli.js';
import { freePort } from './kafka-local.js';

export interface LocalStackOptions {
  /** Where the platform keeps platform.db and tokens.yaml and the agent its ERS file. */
  readonly home: string;
  readonly brokers: readonly string[];
  /** Lines the platform and the agent print (ERS issues, start-up), prefixed by who said them. */
  readonly print?: (line: string) => void;
  /** Which agent lines to pass on (default: Warning and above, and the start-up line). */
  readonly agentLines?: (line: string) => boolean;
  readonly agentHeartbeatMs?: number;
  /** More `daqops platform` options (e.g. --page-url, --runbooks, --settle-seconds). */
  readonly platformArgs?: readonly string[];
  /**
   * Run the platform and the agent (and so the workloads) from the compiled `dist/` (`npm run build`),
   * as deployments do: processes start in a fraction of the time tsx needs from source.
   */
  readonly compiled?: boolean;
}

export interface AgentInfo {
  readonly node: string;
  readonly connected: boolean;
  readonly lost: boolean;
  readonly tasks: number;
  readonly cores: number;
}

const SEVERE = /\b(WARNING|ERROR|FATAL)\b|\/metrics on/;

export class LocalStack {
  platform: ChildProcess | undefined;
  agent: ChildProcess | undefined;
  readonly url: string;
  /** An admin client of the platform API. */
  readonly api: PlatformClient;
  private readonly joinToken: string;
  /** The admin token the api client uses (the testbed's Alertmanager posts with it). */
  readonly token: string;
  private readonly print: (line: string) => void;

  private constructor(
    readonly o: LocalStackOptions,
    readonly port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    const tokensFile = join(o.home, 'tokens.yaml');
    ensureTokensFile(tokensFile);
    const book = loadTokens(tokensFile);
    const admin = [...book.principals].find(([, p]) => p.role === 'admin')?.[0];
    this.api = new PlatformClient(this.url, admin);
    this.token = admin ?? '';
    this.joinToken = book.joinToken ?? '';
    this.print = o.print ?? ((l) => console.error(l));
  }

  /** Starts the platform, then the agent, and resolves when the agent has joined. */
  static async start(o: LocalStackOptions): Promise<LocalStack> {
    const stack = new LocalStack(o, await freePort());
    try {
      await stack.startPlatform();
      await stack.startAgent();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  private spawnDaqops(
    who: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    pass: (l: string) => boolean,
  ): ChildProcess {
    const { command, args: base } =
      this.o.compiled === true
        ? { command: process.execPath, args: [join(projectRoot(), 'dist', 'bin', 'daqops.js')] }
        : daqopsCommand();
    // Own process group: a Ctrl-C at the terminal reaches the caller only, which then stops the run and
    // these processes in order. Should the caller exit without doing so, they are killed on its way out.
    const child = spawn(command, [...base, ...args], {
      env: { ...processMemoryEnv(), DAQOPS_HOME: this.o.home, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    const onExit = (): void => void child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.off('exit', onExit));
    child.stderr?.setEncoding('utf8');
    let partial = '';
    child.stderr?.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines)
        if (l.trim() !== '' && !l.includes('nodedir') && pass(l)) this.print(`${who}: ${l}`);
    });
    return child;
  }

  /** Starts (or restarts) the platform on the same port, store and tokens; resolves when it answers. */
  async startPlatform(): Promise<void> {
    const child = this.spawnDaqops(
      'platform',
      [
        'platform',
        '--port',
        String(this.port),
        '--host',
        '127.0.0.1',
        '--db',
        join(this.o.home, 'platform.db'),
        '--tokens',
        join(this.o.home, 'tokens.yaml'),
        '--brokers',
        this.o.brokers.join(','),
        ...(this.o.platformArgs ?? []),
      ],
      {},
      () => true,
    );
    this.platform = child;
    await this.until('the platform to answer', 60_000, async () => {
      if (child.exitCode !== null)
        throw new DaqError('PROCESS_START_FAILED', `the platform exited with code ${child.exitCode}`);
      return this.agents().then(
        () => true,
        () => false,
      );
    });
  }

  async startAgent(): Promise<void> {
    const child = this.spawnDaqops(
      'agent',
      [
        'agent',
        '--platform',
        `ws://127.0.0.1:${this.port}/api/v1/agents/ws`,
        '--metrics-port',
        '0',
        ...(this.o.agentHeartbeatMs === undefined ? [] : ['--heartbeat-ms', String(this.o.agentHeartbeatMs)]),
      ],
      { DAQOPS_JOIN_TOKEN: this.joinToken },
      this.o.agentLines ?? ((l) => SEVERE.test(l)),
    );
    this.agent = child;
    await this.until('the agent to join the platform', 60_000, async () => {
      if (child.exitCode !== null)
        throw new DaqError('PROCESS_START_FAILED', `the agent exited with code ${child.exitCode}`);
      return (await this.agents()).some((a) => a.connected);
    });
  }

  agents(): Promise<AgentInfo[]> {
    return this.api.agents();
  }

  /** Kills the platform process with `signal` (SIGKILL: no goodbye, as a crash) and waits for it to go. */
  async killPlatform(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await stopChild(this.platform, signal);
    this.platform = undefined;
  }

  /** Polls `check` every 200 ms until it holds; a retriable answer is "not yet" (lib/poll.ts). */
  until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
    return pollUntil(what, check, { ms });
  }

  /** Stops the agent (its workloads stop with it), then the platform; SIGKILL after 20 s each. */
  async stop(): Promise<void> {
    await stopChild(this.agent, 'SIGTERM');
    await stopChild(this.platform, 'SIGTERM');
    this.agent = undefined;
    this.platform = undefined;
  }
}

async function stopChild(c: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill(signal);
  const hard = setTimeout(() => c.kill('SIGKILL'), 20_000);
  await gone;
  clearTimeout(hard);
}
