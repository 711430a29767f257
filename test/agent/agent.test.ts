import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentToPlatform, PlatformToAgent, TaskSpec } from '../../protocol/agent-link.js';
import { ErsLogger } from '../../lib/ers-logger.js';
import { Agent } from '../../agent/agent.js';
import { detectPinningTools } from '../../agent/pinning.js';
import { discoverTopology } from '../../agent/topology.js';
import { freePort } from '../../deploy/local/kafka-local.js';
import { testKafkaBrokers } from '../helpers/kafka-fixture.js';
import { uniqueNamespace } from '../helpers/data-path.js';
import { prometheusAvailable, startPrometheus } from '../helpers/prometheus.js';
import { daqopsArgv } from '../helpers/daqops.js';

function workload(task: string, kind: string, config: Record<string, unknown>, cpus: number[]): TaskSpec {
  return { task, environment: 'env-t', kind, config, cpus, critical: true };
}

describe('agent', function () {
  this.timeout(180_000);

  it('serves every workload of the node on one /metrics that a real Prometheus scrapes', async function () {
    if (!prometheusAvailable()) this.skip();
    const brokers = await testKafkaBrokers();
    const ns = uniqueNamespace('prom');
    const topology = await discoverTopology({ node: `prom-${process.pid}` });
    const logger = new ErsLogger({ console: false });
    const agent = new Agent({ topology, metricsPort: 0, logger, tools: detectPinningTools() });
    await agent.start();
    const prom = await startPrometheus([`127.0.0.1:${agent.metricsPort}`]);
    try {
      for (const [task, kind, cpu] of [
        ['proc-prom', 'processor', 0],
        ['writer-prom', 'writer', 1],
      ] as const) {
        const config = { namespace: ns, brokers, task, environment: 'env-t', dataDir: `/tmp/${ns}` };
        let r = await agent.handle({
          type: 'command',
          id: `${task}-1`,
          action: 'spawn',
          spec: workload(task, kind, config, [cpu]),
        });
        assert.equal(r.type === 'command-result' && r.ok, true, JSON.stringify(r));
        r = await agent.handle({
          type: 'command',
          id: `${task}-2`,
          action: 'transition',
          environment: 'env-t',
          task,
          transition: 'CONFIGURE',
          payload: { config },
        });
        assert.equal(r.type === 'command-result' && r.ok, true, JSON.stringify(r));
      }
      const text = await (await fetch(`http://127.0.0.1:${agent.metricsPort}/metrics`)).text();
      for (const task of ['proc-prom', 'writer-prom', 'agent'])
        assert.match(
          text,
          new RegExp(`process_cpu_seconds_total\\{[^}]*task="${task}"`),
          `no metrics of ${task}`,
        );
      assert.match(text, /daq_agent_tasks\{[^}]*state="STANDBY"[^}]*\} 0/);
      assert.equal(
        text.match(/^# TYPE process_cpu_seconds_total /gm)?.length,
        1,
        'one family per metric name',
      );
      let result: { metric: Record<string, string> }[] = [];
      const deadline = Date.now() + 30_000;
      while (result.length === 0 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 500));
        result = await prom.query('process_resident_memory_bytes{task="proc-prom"}');
      }
      assert.equal(result.length, 1, 'PromQL finds the workload metric');
      assert.equal(result[0]!.metric['environment'], 'env-t');
      // Both tasks CONFIGURED, as the next scrapes show.
      let configured = '';
      while (configured !== '2' && Date.now() < deadline + 10_000) {
        configured = (await prom.query('daq_agent_tasks{state="CONFIGURED"}'))[0]?.value[1] ?? '';
        if (configured !== '2') await new Promise((res) => setTimeout(res, 500));
      }
      assert.equal(configured, '2');
    } finally {
      await prom.stop();
      await agent.stop();
      await logger.close();
    }
  });

  it('links to the platform, carries one transition trace from caller to agent to workload, and survives a platform restart', async () => {
    const brokers = await testKafkaBrokers();
    // A test OTLP/HTTP receiver.
    const spans: { name: string; traceId: string; spanId: string; parentSpanId?: string; service: string }[] =
      [];
    const otlp = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        type Json = {
          resourceSpans?: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans?: {
              spans?: { name: string; traceId: string; spanId: string; parentSpanId?: string }[];
            }[];
          }[];
        };
        const j = JSON.parse(body) as Json;
        for (const rs of j.resourceSpans ?? []) {
          const service =
            rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => otlp.listen(0, '127.0.0.1', r));
    const otlpPort = (otlp.address() as { port: number }).port;
    // A test platform.
    const wsPort = await freePort();
    let wss = new WebSocketServer({ host: '127.0.0.1', port: wsPort });
    const registers: Extract<AgentToPlatform, { type: 'register' }>[] = [];
    const results = new Map<string, Extract<AgentToPlatform, { type: 'command-result' }>>();
    let heartbeats = 0;
    let socket: WebSocket | undefined;
    const attach = (server: WebSocketServer): void => {
      server.on('connection', (ws) => {
        socket = ws;
        ws.on('message', (d: Buffer) => {
          const m = JSON.parse(d.toString()) as AgentToPlatform;
          if (m.type === 'register') registers.push(m);
          if (m.type === 'heartbeat') heartbeats++;
          if (m.type === 'command-result') results.set(m.id, m);
        });
      });
    };
    attach(wss);
    const command = async (c: Extract<PlatformToAgent, { type: 'command' }>) => {
      socket!.send(JSON.stringify(c));
      const deadline = Date.now() + 30_000;
      while (!results.has(c.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const r = results.get(c.id);
      assert.ok(r?.ok, `command ${c.id}: ${JSON.stringify(r)}`);
      return r;
    };
    const waitFor = async (what: string, ok: () => boolean, ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ok(), `timed out waiting for ${what}`);
    };
    const node = `link-${randomBytes(3).toString('hex')}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    delete env['DAQOPS_KAFKA_BROKERS'];
    const agentProc = spawn(
      ...daqopsArgv(
        'agent',
        '--platform',
        `ws://127.0.0.1:${wsPort}`,
        '--node',
        node,
        '--metrics-port',
        '0',
        '--heartbeat-ms',
        '200',
        '--ers-file',
        `/tmp/${node}.jsonl`,
      ),
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    agentProc.stderr?.resume();
    try {
      await waitFor('register', () => registers.length === 1 && socket !== undefined);
      assert.equal(registers[0]!.topology.node, node);
      const traceId = randomBytes(16).toString('hex');
      const callerSpan = randomBytes(8).toString('hex');
      const traceparent = `00-${traceId}-${callerSpan}-01`;
      const config = { namespace: uniqueNamespace('link'), brokers, task: 'proc-link', environment: 'env-t' };
      await command({
        type: 'command',
        id: 'c1',
        action: 'spawn',
        spec: workload('proc-link', 'processor', config, [0]),
        traceparent,
      });
      await command({
        type: 'command',
        id: 'c2',
        action: 'transition',
        environment: 'env-t',
        task: 'proc-link',
        transition: 'CONFIGURE',
        payload: { config },
        traceparent,
      });
      await waitFor('heartbeats', () => heartbeats >= 2);
      await waitFor(
        'spans',
        () => spans.some((s) => s.name === 'task CONFIGURE' && s.traceId === traceId),
        15_000,
      );
      const inTrace = spans.filter((s) => s.traceId === traceId);
      const agentCmd = inTrace.find((s) => s.name === 'agent command CONFIGURE');
      const agentTransition = inTrace.find((s) => s.name === 'agent CONFIGURE proc-link');
      const workloadSpan = inTrace.find((s) => s.name === 'task CONFIGURE');
      assert.equal(agentCmd?.parentSpanId, callerSpan, 'the agent span is a child of the caller');
      assert.equal(agentTransition?.parentSpanId, agentCmd?.spanId);
      assert.equal(
        workloadSpan?.parentSpanId,
        agentTransition?.spanId,
        'the workload span is a child of the agent span',
      );
      assert.equal(workloadSpan?.service, 'daqops-processor');
      assert.equal(agentCmd?.service, 'daqops-agent');

      // The platform goes away and comes back: the task keeps running, the agent re-registers with it.
      const pid = results.get('c1')!.task!.pid;
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise((r) => setTimeout(r, 1500));
      assert.doesNotThrow(() => process.kill(pid!, 0), 'the workload survives the platform outage');
      wss = new WebSocketServer({ host: '127.0.0.1', port: wsPort });
      attach(wss);
      await waitFor('re-register', () => registers.length === 2);
      const back = registers[1]!.tasks.find((t) => t.task === 'proc-link');
      assert.equal(back?.pid, pid);
      assert.equal(back?.state, 'CONFIGURED');
      await command({ type: 'command', id: 'c3', action: 'kill', environment: 'env-t', task: 'proc-link' });
    } finally {
      agentProc.kill('SIGTERM');
      await new Promise((r) => agentProc.once('exit', r));
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => otlp.close(() => r()));
    }
  });
});
