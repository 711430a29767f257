import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { freePort } from '../../deploy/local/kafka-local.js';
import { daqopsArgv } from '../helpers/daqops.js';
import { firingAlert } from '../helpers/alerts.js';

const run = promisify(execFile);

describe('bin/daqops platform, env and run', function () {
  this.timeout(120_000);

  it('starts the platform with generated tokens, takes an agent, and manages environments from the CLI', async () => {
    const home = mkdtempSync(join(tmpdir(), 'daqops-plat-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env, DAQOPS_HOME: home };
    delete env['DAQOPS_KAFKA_BROKERS'];
    const platform = spawn(...daqopsArgv('platform', '--port', String(port)), {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    platform.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const procs: ChildProcess[] = [platform];
    const cli = async (...args: string[]): Promise<string> => {
      try {
        return (await run(...daqopsArgv(...args, '--url', url), { env })).stdout;
      } catch (err) {
        throw new Error((err as { stderr?: string }).stderr ?? String(err), { cause: err });
      }
    };
    try {
      const deadline = Date.now() + 30_000;
      while (!log.includes('agents join at')) {
        if (Date.now() > deadline) throw new Error(`platform did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const tokensFile = join(home, 'tokens.yaml');
      assert.equal(statSync(tokensFile).mode & 0o777, 0o600, 'tokens file private');
      const tokens = parse(readFileSync(tokensFile, 'utf8')) as {
        joinToken: string;
        tokens: { role: string; token: string }[];
      };
      const token = (role: string) => tokens.tokens.find((t) => t.role === role)!.token;
      await assert.rejects(cli('env', 'list'), /daqops: UNAUTHORIZED: a valid bearer token is required/);
      assert.match(await cli('env', 'list', '--token', token('viewer')), /no environments/);
      await assert.rejects(
        cli('env', 'create', '-t', 'testbed', '--token', token('shifter')),
        /daqops: FORBIDDEN: POST \/api\/v1\/environments needs the expert role/,
      );
      const created = JSON.parse(
        await cli(
          'env',
          'create',
          '-f',
          'deploy/templates/testbed.yaml',
          '--var',
          'muonRateHz=300',
          '--json',
          '--token',
          token('expert'),
        ),
      ) as { id: string; state: string };
      assert.equal(created.state, 'STANDBY');
      // No agent yet: nothing can be placed, and the environment stays in STANDBY.
      await assert.rejects(
        cli('env', 'transition', created.id, 'DEPLOY', '--token', token('shifter')),
        /daqops: PLACEMENT_FAILED: [\s\S]*no node is registered/,
      );
      const agent = spawn(
        ...daqopsArgv(
          'agent',
          '--platform',
          `ws://127.0.0.1:${port}/api/v1/agents/ws`,
          '--join-token',
          tokens.joinToken,
          '--metrics-port',
          '0',
          '--node',
          'cli-node',
        ),
        { env, stdio: 'ignore' },
      );
      procs.push(agent);
      const joinDeadline = Date.now() + 30_000;
      let agents = '';
      while (!/cli-node\s+connected\s+2 cores, 0 tasks/.test(agents)) {
        if (Date.now() > joinDeadline) throw new Error(`agent did not join: ${agents}`);
        await new Promise((r) => setTimeout(r, 250));
        agents = await cli('agents', '--token', token('viewer'));
      }
      const shown = await cli('env', 'show', created.id, '--token', token('viewer'));
      assert.match(shown, new RegExp(`${created.id}\\s+STANDBY`));
      // Drain and uncordon the node from the command line: said, shown in the agents list, audited.
      assert.match(
        await cli('node', 'drain', 'cli-node', '--reason', 'fan replaced', '--token', token('expert')),
        /^node cli-node drained: takes no new task$/m,
      );
      assert.match(
        await cli('agents', '--token', token('viewer')),
        /cli-node\s+connected\s+2 cores, 0 tasks, drained/,
      );
      assert.match(
        await cli('node', 'uncordon', 'cli-node', '--token', token('expert')),
        /node cli-node takes tasks again/,
      );
      assert.doesNotMatch(await cli('agents', '--token', token('viewer')), /drained/);
      assert.match(await cli('run', 'list', '--token', token('viewer')), /no runs/);
      // Incidents from the command line: an alert comes in, the on-call lists, shows, acks, notes, resolves.
      const alert = await fetch(`${url}/api/v1/alerts/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token('shifter')}`, 'content-type': 'application/json' },
        body: JSON.stringify(
          firingAlert(
            { alertname: 'DaqNoisyChannel', severity: 'warning', environment: created.id, link: '0' },
            'channel 17 of link 0 fires at 40 kHz',
            'noisy-17',
          ),
        ),
      });
      assert.equal(alert.status, 200);
      const id = ((await alert.json()) as { incidents: number[] }).incidents[0]!;
      assert.match(
        await cli('incidents', 'list', '--token', token('viewer')),
        new RegExp(`#${id}\\s+open\\s+warning .*DaqNoisyChannel on link 0.*runbook NoisyChannel`),
      );
      assert.match(
        await cli('incidents', 'show', String(id), '--token', token('viewer')),
        /root cause DaqNoisyChannel on link 0[\s\S]*channel 17 of link 0 fires at 40 kHz/,
      );
      assert.match(await cli('incidents', 'ack', String(id), '--token', token('shifter')), /acknowledged/);
      await cli('incidents', 'note', String(id), 'masked', 'channel', '17', '--token', token('shifter'));
      assert.match(
        await cli(
          'incidents',
          'resolve',
          String(id),
          '--note',
          'masked for the next run',
          '--token',
          token('shifter'),
        ),
        /resolved/,
      );
      const shownAfter = await cli('incidents', 'show', String(id), '--token', token('viewer'));
      assert.match(shownAfter, /note +masked channel 17 — shifter:shifter/);
      assert.match(shownAfter, /resolved by shifter:shifter/);
    } finally {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(
        procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))),
      );
      rmSync(home, { recursive: true, force: true });
    }
  });
});
