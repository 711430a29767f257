#!/usr/bin/env node
/** The `daqops` command. Thin on purpose: parse flags, call into deploy/, agent/ or platform/, print. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../lib/paths.js';
import { isDaqError } from '../protocol/errors.js';
import { kafkaDown, kafkaStatus, kafkaUp } from '../deploy/local/kafka-state.js';
import { runTestbedSmoke } from '../deploy/local/testbed.js';

const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

const program = new Command()
  .name('daqops')
  .description('Observability-first DAQ platform: run control, per-node agent, trigger-less Kafka data path')
  .version(pkg.version);

const kafka = program
  .command('kafka')
  .description('the local single-node Kafka broker (KRaft) used by the testbed');
kafka
  .command('up')
  .description('start a local broker on 127.0.0.1 (fetches it with Maven on first use)')
  .action(async () => {
    const r = await kafkaUp((l) => console.error(l));
    if (r.kind === 'external')
      console.log(`DAQOPS_KAFKA_BROKERS is set (${r.brokers.join(',')}): starting nothing`);
    else if (r.kind === 'already-running')
      console.log(`already running: ${r.kafka.brokers.join(',')} (pid ${r.kafka.pid})`);
    else console.log(`started: ${r.kafka.brokers.join(',')} (pid ${r.kafka.pid}, data ${r.kafka.dataDir})`);
  });
kafka
  .command('down')
  .description('stop the local broker and remove its data')
  .option('--all', 'also stop every other local broker daqops started on this machine')
  .action(async (opts: { all?: boolean }) => {
    const pids = await kafkaDown(opts.all === true);
    console.log(pids.length === 0 ? 'no local broker was running' : `stopped pid ${pids.join(', ')}`);
  });
kafka
  .command('status')
  .description('which Kafka daqops uses and whether it answers')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const s = await kafkaStatus();
    if (opts.json === true) console.log(JSON.stringify(s, null, 2));
    else if (s.source === 'none') console.log('no Kafka: run `daqops kafka up` or set DAQOPS_KAFKA_BROKERS');
    else {
      console.log(
        `${s.source} Kafka at ${s.brokers.join(',')}${s.pid === undefined ? '' : ` (pid ${s.pid})`}: ${s.reachable ? `reachable, cluster ${s.clusterId}` : `NOT reachable: ${s.error}`}`,
      );
    }
    if (s.source !== 'none' && !s.reachable) process.exitCode = 1;
  });

program
  .command('testbed')
  .description('run the local testbed: Kafka up, a generated timeframe through it, read back and checked')
  .option('--hits-per-orbit <n>', 'hits per orbit and link', (v) => Number.parseInt(v, 10), 40)
  .option('--seed <n>', 'seed of the generated data', (v) => Number.parseInt(v, 10), 2026)
  .action(async (opts: { hitsPerOrbit: number; seed: number }) => {
    const r = await runTestbedSmoke({ hitsPerOrbit: opts.hitsPerOrbit, seed: opts.seed });
    if (!r.bitExact) process.exitCode = 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isDaqError(err)) {
    console.error(`daqops: ${err.code}: ${err.message}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
