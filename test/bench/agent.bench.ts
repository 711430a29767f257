/**
 * Agent overhead: CPU and memory of the agent process itself with 8 idle workloads, a 1 s heartbeat to a
 * (test) platform and a /metrics scrape every 5 s (target ≤ 2 % of one core, ≤ 100 MB RSS).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentToPlatform } from '../../protocol/agent-link.js';
import { freePort } from '../../deploy/local/kafka-local.js';

const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

export async function benchAgent(
  measureSeconds = 30,
  workloads = 8,
): Promise<{ cpuPercent: number; rssMiB: number }> {
  const wsPort = await freePort();
  const metricsPort = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: wsPort });
  let heartbeats = 0;
  const results = new Set<string>();
  let socket: WebSocket | undefined;
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as AgentToPlatform;
      if (m.type === 'heartbeat') heartbeats++;
      if (m.type === 'command-result' && m.ok) results.add(m.id);
      if (m.type === 'command-result' && !m.ok) console.log(`  spawn failed: ${JSON.stringify(m.error)}`);
    });
  });
  const env = { ...process.env };
  delete env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  // The compiled agent, as deployed: workloads start from dist/ too (no TypeScript compile per process).
  const built = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'ignore' });
  if (built.status !== 0) throw new Error('npm run build failed');
  const agent = spawn(
    process.execPath,
    [
      'dist/bin/daqops.js',
      'agent',
      '--platform',
      `ws://127.0.0.1:${wsPort}`,
      '--node',
      `bench-${process.pid}`,
      '--metrics-port',
      String(metricsPort),
      '--heartbeat-ms',
      '1000',
      '--ers-file',
      `/tmp/bench-agent-${process.pid}.jsonl`,
    ],
    { env, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  try {
    const until = async (ok: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error('agent bench: timed out');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until(() => socket !== undefined, 30_000);
    for (let i = 0; i < workloads; i++) {
      const spec = {
        task: `idle-${i}`,
        environment: 'bench',
        kind: 'processor',
        config: {},
        cpus: [i % 2],
        critical: false,
      };
      socket!.send(JSON.stringify({ type: 'command', id: `s${i}`, action: 'spawn', spec }));
    }
    await until(() => results.size === workloads, 120_000);
    // CONFIGURED, so each workload has its metrics registry and every scrape asks all of them over IPC.
    for (let i = 0; i < workloads; i++) {
      const config = {
        task: `idle-${i}`,
        environment: 'bench',
        namespace: 'bench',
        brokers: ['127.0.0.1:1'],
      };
      socket!.send(
        JSON.stringify({
          type: 'command',
          id: `c${i}`,
          action: 'transition',
          task: `idle-${i}`,
          transition: 'CONFIGURE',
          payload: { config },
        }),
      );
    }
    await until(() => results.size === 2 * workloads, 60_000);
    await new Promise((r) => setTimeout(r, 5000)); // let start-up settle
    const pid = agent.pid!;
    const c0 = cpuSeconds(pid);
    const h0 = heartbeats;
    const t0 = performance.now();
    let maxRss = rssMiB(pid);
    let scrapes = 0;
    let lines = 0;
    while (performance.now() - t0 < measureSeconds * 1000) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      lines = text.split('\n').length;
      scrapes++;
      maxRss = Math.max(maxRss, rssMiB(pid));
      await new Promise((r) => setTimeout(r, 5000));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuPercent = (100 * (cpuSeconds(pid) - c0)) / seconds;
    console.log(
      `  agent with ${workloads} idle workloads, 1 s heartbeat (${heartbeats - h0} sent), /metrics every 5 s (${scrapes} scrapes, ${lines} lines): ${cpuPercent.toFixed(2)} % of one core, ${maxRss.toFixed(0)} MiB RSS max (targets ≤ 2 %, ≤ 100 MB)`,
    );
    return { cpuPercent, rssMiB: maxRss };
  } finally {
    const exited = new Promise((r) => agent.once('exit', r));
    agent.kill('SIGTERM');
    await exited;
    await new Promise<void>((r) => wss.close(() => r()));
  }
}
