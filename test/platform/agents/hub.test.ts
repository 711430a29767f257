import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import WebSocket from 'ws';
import type { TaskSpec } from '../../../protocol/agent-link.js';
import { AgentHub, type AgentRecord } from '../../../platform/agents/hub.js';
import { Agent } from '../../../agent/agent.js';
import { ErsLogger } from '../../../lib/ers-logger.js';
import { detectPinningTools } from '../../../agent/pinning.js';
import { simulatedNode } from '../../helpers/simulated-driver.js';

const IDLE = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('platform/agents/hub', function () {
  this.timeout(60_000);

  it('registers an agent, drives its tasks as a TaskDriver, and hears their states in heartbeats', async () => {
    const { server, port } = await listen();
    const registered: AgentRecord[] = [];
    const reports: string[] = [];
    const hub = new AgentHub({
      joinToken: 'sesame',
      heartbeatIntervalMs: 100,
      onRegister: (a) => registered.push(a),
      onTaskReports: (_n, t) => reports.push(...t.map((x) => `${x.task}:${x.state}`)),
    });
    hub.attach(server);
    const logger = new ErsLogger({ console: false });
    const agent = new Agent({
      topology: simulatedNode('hub-node', 1, 2),
      platformUrl: `ws://127.0.0.1:${port}/api/v1/agents/ws`,
      joinToken: 'sesame',
      heartbeatIntervalMs: 100,
      logger,
      tools: detectPinningTools(),
    });
    await agent.start();
    try {
      await until('register', () => registered.length === 1);
      assert.equal(registered[0]!.topology.node, 'hub-node');
      const spec: TaskSpec = {
        task: 'helper',
        environment: 'e',
        kind: 'command',
        config: {},
        argv: IDLE,
        cpus: [1],
        critical: true,
      };
      const r = await hub.spawn('hub-node', spec);
      assert.equal(r.cpus, '1');
      assert.equal(r.state, 'RUNNING');
      assert.equal(
        (await hub.transition('hub-node', { environment: 'e', task: 'helper' }, 'STOP', {})).state,
        'CONFIGURED',
      );
      await assert.rejects(
        hub.transition('hub-node', { environment: 'e', task: 'helper' }, 'STOP', {}),
        /cannot take transition STOP/,
      );
      await until('heartbeat report', () => reports.includes('helper:CONFIGURED'));
      await hub.kill('hub-node', { environment: 'e', task: 'helper' });
      assert.throws(() => process.kill(r.pid!, 0), 'the task process is gone');
      await assert.rejects(hub.spawn('no-such-node', spec), /not connected/);
    } finally {
      await agent.stop();
      await hub.close();
      server.close();
      await logger.close();
    }
  });

  it('refuses agents without the join token and declares silent agents lost', async () => {
    const { server, port } = await listen();
    let now = 0;
    const lost: string[] = [];
    const hub = new AgentHub({
      joinToken: 'sesame',
      heartbeatIntervalMs: 1000,
      missedHeartbeats: 3,
      now: () => now,
      onAgentLost: (a) => lost.push(a.node),
    });
    hub.attach(server);
    try {
      const code = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agents/ws`);
        ws.on('close', (c) => resolve(c));
      });
      assert.equal(code, 4401);
      // An agent of node `quiet` joining with the token.
      const join = async (): Promise<WebSocket> => {
        const sock = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agents/ws`, {
          headers: { authorization: 'Bearer sesame' },
        });
        await new Promise((r) => sock.once('open', r));
        sock.send(
          JSON.stringify({
            type: 'register',
            topology: simulatedNode('quiet', 1, 1),
            tasks: [],
            agentVersion: 'test',
          }),
        );
        return sock;
      };
      const ws = await join();
      await until('register', () => hub.agents.has('quiet'));
      // The watchdog ticks once a heartbeat interval; three silent intervals are allowed.
      const tick = (ms: number): string[] => {
        now += ms;
        return hub.checkLost().map((a) => a.node);
      };
      assert.deepEqual([tick(1000), tick(1000), tick(1000)], [[], [], []]);
      const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
      assert.deepEqual(tick(1000), ['quiet'], 'lost after more than 3 silent intervals');
      assert.deepEqual(lost, ['quiet']);
      // The session is over: the platform closes the socket, so an agent whose link died silently and
      // came back on it registers afresh (and is reconciled) instead of heartbeating as if nothing happened.
      assert.equal(await closed, 4408);
      assert.equal(hub.agents.get('quiet')!.connected, false);
      const again = await join();
      await until('registered again', () => hub.agents.get('quiet')!.connected);
      assert.equal(hub.agents.get('quiet')!.lost, false, 'back, by a new registration');
      again.close();
    } finally {
      await hub.close();
      server.close();
    }
  });

  it('does not hold its own stall against an agent: heartbeats that waited unread still count', async () => {
    const { server, port } = await listen();
    let now = 0;
    const hub = new AgentHub({ heartbeatIntervalMs: 1000, missedHeartbeats: 3, now: () => now });
    hub.attach(server);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/agents/ws`);
    try {
      await new Promise((r) => ws.once('open', r));
      const beat = (): void =>
        ws.send(
          JSON.stringify({ type: 'heartbeat', node: 'busy', tasks: [], sentAt: new Date(now).toISOString() }),
        );
      ws.send(
        JSON.stringify({
          type: 'register',
          topology: simulatedNode('busy', 1, 1),
          tasks: [],
          agentVersion: 'test',
        }),
      );
      await until('register', () => hub.agents.has('busy'));
      now += 1000;
      assert.deepEqual(hub.checkLost(), []);
      // The platform stalls for 50 s: its next check runs that late, before the socket's heartbeats are read.
      now += 50_000;
      assert.deepEqual(hub.checkLost(), [], 'a late check is the platform stalling, not the agent');
      beat();
      await until('the heartbeat read', () => hub.agents.get('busy')!.silentMs === 0);
      for (let i = 0; i < 3; i++) {
        now += 1000;
        assert.deepEqual(hub.checkLost(), []);
      }
      // Really silent from here on: lost after the limit, counted in the platform's own ticks.
      now += 1000;
      assert.deepEqual(
        hub.checkLost().map((a) => a.node),
        ['busy'],
      );
    } finally {
      ws.close();
      await hub.close();
      server.close();
    }
  });
});
