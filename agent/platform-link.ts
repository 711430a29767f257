/**
 * The agent's WebSocket link to the platform: register the node (resources and current tasks) on every
 * connect, heartbeat with task states, answer commands. It reconnects with capped exponential backoff and
 * never touches the tasks when the link drops: workloads keep running while the platform is away.
 *
 * A link can die without a word — a cable pulled, a switch port down: no FIN, no RST, and TCP would go on
 * retransmitting for many minutes. So the agent pings the platform with each heartbeat and gives the link
 * up when no pong came for `silenceLimitMs` (docs/platform.md "Cut off, then back"); a connect attempt
 * gives up after the same time. Back, it registers afresh and the platform reconciles what it runs.
 */
import WebSocket from 'ws';
import { parsePlatformMessage, type AgentToPlatform, type PlatformToAgent } from '../protocol/agent-link.js';
import type { ErsReporter } from '../lib/ers.js';

export interface PlatformLinkOptions {
  readonly url: string;
  readonly joinToken?: string | undefined;
  readonly register: () => AgentToPlatform;
  readonly heartbeat: () => AgentToPlatform;
  readonly onCommand: (cmd: Extract<PlatformToAgent, { type: 'command' }>) => Promise<AgentToPlatform>;
  readonly heartbeatIntervalMs: number;
  /** No pong from the platform for this long: the link is dead (default 5 heartbeat intervals). */
  readonly silenceLimitMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly ers: ErsReporter;
  readonly onConnectionChange?: (connected: boolean) => void;
}

export class PlatformLink {
  private ws: WebSocket | undefined;
  private stopped = false;
  private attempt = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private wasConnected = false;
  /** How long the platform was silent when the link was given up for dead (for the ERS message). */
  private silentFor: number | undefined;
  heartbeatsSent = 0;

  constructor(private readonly o: PlatformLinkOptions) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.connect();
  }

  /** Sends an unsolicited message (task events); dropped while disconnected — the next register carries the state. */
  send(m: AgentToPlatform): void {
    if (this.connected) this.ws!.send(JSON.stringify(m));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close();
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000).unref();
      });
    }
  }

  private connect(): void {
    if (this.stopped) return;
    const headers =
      this.o.joinToken === undefined ? undefined : { authorization: `Bearer ${this.o.joinToken}` };
    const silenceLimitMs = this.o.silenceLimitMs ?? 5 * this.o.heartbeatIntervalMs;
    const ws = new WebSocket(this.o.url, {
      ...(headers === undefined ? {} : { headers }),
      handshakeTimeout: silenceLimitMs,
    });
    this.ws = ws;
    // Silence is counted in this agent's own ticks, at most two intervals per tick: when the agent itself
    // stalled, the pongs that came meanwhile still wait unread (timers run before sockets are read).
    let silentMs = 0;
    let tickAt = performance.now();
    ws.on('pong', () => (silentMs = 0));
    ws.on('message', () => (silentMs = 0));
    ws.on('open', () => {
      this.attempt = 0;
      this.wasConnected = true;
      silentMs = 0;
      tickAt = performance.now();
      this.o.onConnectionChange?.(true);
      ws.send(JSON.stringify(this.o.register()));
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        const now = performance.now();
        silentMs += Math.min(now - tickAt, 2 * this.o.heartbeatIntervalMs);
        tickAt = now;
        if (silentMs > silenceLimitMs) {
          // A dead link, not a closed one: drop it ('close' follows, and the reconnect).
          this.silentFor = silentMs;
          ws.terminate();
          return;
        }
        ws.send(JSON.stringify(this.o.heartbeat()));
        ws.ping();
        this.heartbeatsSent++;
      }, this.o.heartbeatIntervalMs);
    });
    ws.on('message', (data) => {
      let msg: PlatformToAgent;
      try {
        msg = parsePlatformMessage(
          (Buffer.isBuffer(data)
            ? data
            : Array.isArray(data)
              ? Buffer.concat(data)
              : Buffer.from(data)
          ).toString('utf8'),
        );
      } catch (err) {
        this.o.ers.raise(
          'daqops.agent.PlatformUnreachable',
          `unreadable message from the platform: ${(err as Error).message}`,
          {},
          { severity: 'Warning' },
        );
        return;
      }
      if (msg.type !== 'command') return;
      void this.o.onCommand(msg).then(
        (reply) => this.send(reply),
        (err: unknown) =>
          this.send({
            type: 'command-result',
            id: msg.id,
            ok: false,
            error: { code: 'AGENT_ERROR', message: err instanceof Error ? err.message : String(err) },
          }),
      );
    });
    ws.on('error', () => {
      // 'close' follows and schedules the reconnect.
    });
    ws.on('close', () => {
      clearInterval(this.heartbeatTimer);
      if (this.wasConnected && !this.stopped) {
        this.wasConnected = false;
        this.o.onConnectionChange?.(false);
        const why =
          this.silentFor === undefined
            ? ''
            : ` (no answer for ${Math.round(this.silentFor)} ms: the link died without closing)`;
        this.silentFor = undefined;
        this.o.ers.raise(
          'daqops.agent.PlatformUnreachable',
          `lost the platform at ${this.o.url}${why}; tasks keep running, reconnecting`,
          {},
        );
      }
      if (this.stopped) return;
      const initial = this.o.initialBackoffMs ?? 500;
      const delay = Math.min(this.o.maxBackoffMs ?? 10_000, initial * 2 ** Math.min(this.attempt, 10));
      this.attempt++;
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    });
  }
}
