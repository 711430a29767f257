/**
 * The platform's side of the agent link: a WebSocket hub where agents join (with the join token), the
 * node registry, lost-agent detection from missed heartbeats, and a TaskDriver that sends task commands
 * to the agent of a node and waits for the result.
 */
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { PendingRequests } from '../../lib/pending-requests.js';
import { DaqError, isErrorCode } from '../../protocol/errors.js';
import {
  commandTask,
  taskKey,
  type TaskRef,
  type AgentToPlatform,
  type CommandMessage,
  type CommandedTaskTransition,
  type NodeTopology,
  type TaskCommand,
  type TaskReport,
  type TaskSpec,
} from '../../protocol/agent-link.js';
import type { TaskDriver } from '../control/types.js';

export interface AgentRecord {
  readonly node: string;
  topology: NodeTopology;
  tasks: readonly TaskReport[];
  lastSeenMs: number;
  /**
   * How long the agent has been silent as far as the platform could have heard it: grows by the time
   * between two watchdog checks, but by no more than two heartbeat intervals for a check that ran late
   * (the platform's own stall, see checkLost); back to 0 with every message.
   */
  silentMs: number;
  connected: boolean;
  lost: boolean;
  socket: WebSocket | undefined;
  /** host:port of the node's /metrics, as the agent announced it. */
  metrics: string | undefined;
}

export interface HubOptions {
  readonly joinToken?: string | undefined;
  readonly heartbeatIntervalMs?: number;
  /** An agent silent for this many heartbeat intervals is lost. */
  readonly missedHeartbeats?: number;
  readonly commandTimeoutMs?: number;
  readonly now?: () => number;
  /** An agent registered (first time, or back after a loss or a platform restart). */
  readonly onRegister?: (a: AgentRecord, returning: boolean) => void;
  readonly onTaskReports?: (node: string, tasks: readonly TaskReport[]) => void;
  /** A task event as it happened (exited, restarted, failed …), after onTaskReports has seen its report. */
  readonly onTaskEvent?: (node: string, task: TaskReport, event: string) => void;
  readonly onAgentLost?: (a: AgentRecord) => void;
}

export class AgentHub implements TaskDriver {
  readonly agents = new Map<string, AgentRecord>();
  private readonly pending = new PendingRequests<Extract<AgentToPlatform, { type: 'command-result' }>>();
  private readonly wss: WebSocketServer;
  private readonly watchdog: NodeJS.Timeout;
  private readonly now: () => number;
  private lastCheckMs: number;

  constructor(private readonly o: HubOptions) {
    this.now = o.now ?? (() => Date.now());
    this.lastCheckMs = this.now();
    this.wss = new WebSocketServer({ noServer: true });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
    const interval = o.heartbeatIntervalMs ?? 1000;
    this.watchdog = setInterval(() => this.checkLost(), interval);
    this.watchdog.unref();
  }

  /** Serves the agents' WebSocket on `path` of an HTTP server (the API's). */
  attach(server: Server, path = '/api/v1/agents/ws'): void {
    server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== path) return;
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
    });
  }

  get connectedCount(): number {
    return [...this.agents.values()].filter((a) => a.connected).length;
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    if (this.o.joinToken !== undefined && req.headers.authorization !== `Bearer ${this.o.joinToken}`) {
      ws.close(4401, 'join token missing or wrong');
      return;
    }
    let node: string | undefined;
    ws.on('message', (data: Buffer) => {
      let m: AgentToPlatform;
      try {
        m = JSON.parse(data.toString('utf8')) as AgentToPlatform;
      } catch {
        return;
      }
      // Any message is a sign of life of the agent that holds this socket.
      const sender = node === undefined ? undefined : this.agents.get(node);
      if (sender?.socket === ws) sender.silentMs = 0;
      if (m.type === 'register') {
        node = m.topology.node;
        const prev = this.agents.get(node);
        const rec: AgentRecord = {
          node,
          topology: m.topology,
          tasks: m.tasks,
          lastSeenMs: this.now(),
          silentMs: 0,
          connected: true,
          lost: false,
          socket: ws,
          metrics: typeof m.metrics === 'string' ? m.metrics : undefined,
        };
        this.agents.set(node, rec);
        this.o.onRegister?.(rec, prev !== undefined);
        this.o.onTaskReports?.(node, m.tasks);
      } else if (m.type === 'heartbeat') {
        const a = this.agents.get(m.node);
        // Only from the socket the node registered on: a socket given up at a loss speaks for nobody.
        if (a === undefined || a.socket !== ws) return;
        a.lastSeenMs = this.now();
        a.silentMs = 0;
        a.tasks = m.tasks;
        this.o.onTaskReports?.(m.node, m.tasks);
      } else if (m.type === 'command-result') {
        // An answer nobody waits for any more (it came after the time limit) is dropped.
        if (/^[1-9][0-9]*$/.test(m.id)) this.pending.answer(Number(m.id), m);
      } else if (m.type === 'task-event' && node !== undefined && sender?.socket === ws) {
        this.o.onTaskReports?.(node, [m.task]);
        this.o.onTaskEvent?.(node, m.task, m.event);
      }
    });
    ws.on('close', () => {
      const a = node === undefined ? undefined : this.agents.get(node);
      if (a !== undefined && a.socket === ws) {
        a.connected = false;
        a.socket = undefined;
      }
    });
  }

  /**
   * Marks agents lost after missed heartbeats (connected or not: a hung agent is as lost as a gone one).
   * Silence is counted on the platform's side of the link: when this check runs late because the
   * platform itself stalled (a busy machine, a long collection), the heartbeats sent meanwhile are still
   * unread in their sockets — timers run before sockets are read — so the late part of the wait is not
   * held against the agents. A truly silent agent is found lost one limit after the platform is back.
   */
  checkLost(): AgentRecord[] {
    const interval = this.o.heartbeatIntervalMs ?? 1000;
    const limit = interval * (this.o.missedHeartbeats ?? 5);
    const now = this.now();
    const sinceCheck = Math.max(0, now - this.lastCheckMs);
    this.lastCheckMs = now;
    const heard = Math.min(sinceCheck, 2 * interval);
    const lost: AgentRecord[] = [];
    for (const a of this.agents.values()) {
      if (a.lost) continue;
      a.silentMs += heard;
      if (a.silentMs > limit) {
        a.lost = true;
        // The session is over: what the node says after this comes with a fresh registration, which the
        // platform reconciles (its superseded copies stopped). A link that died silently would otherwise
        // come back as the same socket, heartbeats and all, and the node would never be taken back.
        const socket = a.socket;
        a.socket = undefined;
        a.connected = false;
        socket?.close(4408, 'agent lost: missed heartbeats; register again');
        lost.push(a);
        this.o.onAgentLost?.(a);
      }
    }
    return lost;
  }

  private async command(node: string, c: TaskCommand, traceparent?: string): Promise<TaskReport | undefined> {
    const a = this.agents.get(node);
    if (a?.socket === undefined || !a.connected)
      throw new DaqError('UNREACHABLE', `agent of node ${node} is not connected`);
    const socket = a.socket;
    const result = await this.pending.request(
      `node ${node}: ${c.action} ${taskKey(commandTask(c))}`,
      this.o.commandTimeoutMs ?? 30_000,
      (id) => {
        const message: CommandMessage = {
          ...c,
          type: 'command',
          id: String(id),
          ...(traceparent === undefined ? {} : { traceparent }),
        };
        socket.send(JSON.stringify(message));
      },
    );
    if (!result.ok)
      // The agent's own code when it is one of the catalogue, else AGENT_ERROR: never an unknown code.
      throw new DaqError(
        isErrorCode(result.error?.code) ? result.error.code : 'AGENT_ERROR',
        `node ${node}: ${result.error?.message ?? 'command failed'}`,
      );
    return result.task;
  }

  /** A command that must answer with the task's report (spawn, transition, restart). */
  private async taskCommand(
    node: string,
    c: TaskCommand,
    traceparent: string | undefined,
  ): Promise<TaskReport> {
    const r = await this.command(node, c, traceparent);
    if (r === undefined)
      throw new DaqError(
        'AGENT_ERROR',
        `node ${node} reported no task for ${c.action === 'transition' ? c.transition : c.action} ${taskKey(commandTask(c))}`,
      );
    return r;
  }

  spawn(node: string, spec: TaskSpec, traceparent?: string): Promise<TaskReport> {
    return this.taskCommand(node, { action: 'spawn', spec }, traceparent);
  }

  transition(
    node: string,
    task: TaskRef,
    transition: CommandedTaskTransition,
    payload: Readonly<Record<string, unknown>>,
    traceparent?: string,
  ): Promise<TaskReport> {
    return this.taskCommand(node, { action: 'transition', ...ref(task), transition, payload }, traceparent);
  }

  restart(node: string, task: TaskRef, traceparent?: string): Promise<TaskReport> {
    return this.taskCommand(node, { action: 'restart', ...ref(task) }, traceparent);
  }

  /** A drill fault for a running readout (protocol/faults.ts); rejects with the task's reason. */
  async fault(node: string, task: TaskRef, fault: object): Promise<void> {
    await this.command(node, { action: 'fault', ...ref(task), fault });
  }

  async kill(node: string, task: TaskRef): Promise<void> {
    await this.command(node, { action: 'kill', ...ref(task) });
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    this.pending.failAll(new DaqError('UNREACHABLE', 'the platform is closing its agent links'));
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** Only the two fields of a ref (a TaskStatus passed as one carries more). */
function ref(t: TaskRef): TaskRef {
  return { environment: t.environment, task: t.task };
}
