import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { PlatformLink } from '../../agent/platform-link.js';
import { ErsReporter } from '../../lib/ers.js';
import type { ErsIssue } from '../../protocol/ers.js';
import { simulatedNode } from '../helpers/simulated-driver.js';
import { until } from '../helpers/until.js';

describe('agent/platform-link', function () {
  this.timeout(30_000);

  it('gives a link that died without closing up (no pong within the limit), says so, and registers again once the platform answers', async () => {
    const server: Server = createServer();
    // A platform whose link goes dead: it neither answers pings nor reads, and never closes the socket —
    // a cable pulled, as far as the agent can tell.
    const wss = new WebSocketServer({ server, autoPong: false });
    const sockets: WebSocket[] = [];
    let deaf = true;
    const registers: number[] = [];
    wss.on('connection', (ws) => {
      sockets.push(ws);
      const n = sockets.length;
      ws.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString()) as { type: string };
        if (m.type === 'register') registers.push(n);
      });
      ws.on('ping', () => {
        if (!deaf) ws.pong();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const issues: ErsIssue[] = [];
    const link = new PlatformLink({
      url: `ws://127.0.0.1:${port}`,
      register: () => ({
        type: 'register',
        topology: simulatedNode('n', 1, 1),
        tasks: [],
        agentVersion: 't',
      }),
      heartbeat: () => ({ type: 'heartbeat', node: 'n', tasks: [], sentAt: new Date().toISOString() }),
      onCommand: () => Promise.reject(new Error('no commands here')),
      heartbeatIntervalMs: 50,
      silenceLimitMs: 300,
      initialBackoffMs: 20,
      maxBackoffMs: 50,
      ers: new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
    });
    try {
      link.start();
      await until('the first registration', () => registers.length === 1, 5000);
      await until(
        'the dead link given up',
        () => issues.some((i) => i.name === 'daqops.agent.PlatformUnreachable'),
        5000,
      );
      assert.match(issues[0]!.message, /no answer for \d+ ms: the link died without closing/);
      assert.ok(sockets.length >= 1);
      deaf = false;
      await until('a registration on a fresh connection', () => registers.some((n) => n > 1), 5000);
      const settled = registers.length;
      const sent = link.heartbeatsSent;
      // Four silence limits' worth of heartbeats, each answered: the link stays.
      await until('24 more heartbeats', () => link.heartbeatsSent >= sent + 24, 10_000);
      assert.equal(registers.length, settled, 'a link that answers is kept');
      assert.ok(link.connected);
    } finally {
      await link.stop();
      for (const s of sockets) s.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      server.close();
    }
  });
});
