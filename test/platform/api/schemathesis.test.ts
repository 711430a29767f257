/**
 * schemathesis (PyPI) against the API as it is served: every check (`--checks all`) over every operation of
 * /openapi.json — its examples, coverage, fuzzing and stateful phases — with the admin token, on an
 * in-process platform over simulated agents. Beside the fast-check fuzzer (fuzz.test.ts), an independent
 * reading of the same document: undeclared methods, schema-valid requests refused, schema-violating ones
 * taken, responses that do not match their schema, server errors. test/fixtures/schemathesis.toml says
 * where 422 and an agent's 502/503/504 are answers by design (docs/decisions.md).
 *
 * The test makes its own venv under .daqops/ (kept between runs). The versions are pinned, and one worker
 * runs: CPython 3.11.7's AST parser loses count of its recursion depth when hypothesis parses source in
 * several threads ("AST constructor recursion depth mismatch"), which ends a run with an error of its own.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../../lib/paths.js';
import { loadRunbooks } from '../../../platform/runbooks/runbook.js';
import { setup } from '../../helpers/api.js';

const run = promisify(execFile);
const PINS = ['schemathesis==4.32.5', 'hypothesis==6.140.0'];
const VENV = join(projectRoot(), '.daqops', 'schemathesis-venv');

/** The schemathesis command, installed into the venv first when the pins changed or it is not there. */
async function schemathesis(): Promise<string> {
  const bin = join(VENV, 'bin', 'schemathesis');
  const marker = join(VENV, 'pins.txt');
  if (existsSync(bin) && existsSync(marker) && readFileSync(marker, 'utf8') === PINS.join('\n')) return bin;
  mkdirSync(join(projectRoot(), '.daqops'), { recursive: true });
  await run('python3', ['-m', 'venv', '--clear', VENV], { timeout: 120_000 });
  await run(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...PINS], {
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  writeFileSync(marker, PINS.join('\n'));
  return bin;
}

describe('platform/api against schemathesis', function () {
  this.timeout(1_200_000);

  it('passes every schemathesis check on every operation of the served /openapi.json', async () => {
    const st = await schemathesis();
    const { app, platform } = setup({ runbooks: loadRunbooks('runbooks') });
    platform.createEnvironment({ name: 'testbed' }, {}, 'expert:bob');
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const out = await run(
        st,
        [
          '--config-file',
          join(projectRoot(), 'test', 'fixtures', 'schemathesis.toml'),
          'run',
          `${url}/openapi.json`,
          '--checks',
          'all',
          '-H',
          'Authorization: Bearer admin-token-0123456789',
          '--max-examples',
          '30',
          '--workers',
          '1',
          '--seed',
          '1',
        ],
        {
          timeout: 900_000,
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, NO_COLOR: '1' },
          // Its cache (.schemathesis/) goes beside the venv, not into the work tree.
          cwd: join(projectRoot(), '.daqops'),
        },
      ).then(
        (r) => ({ code: 0, text: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code ?? -1,
          text: `${e.stdout ?? ''}${e.stderr ?? ''}`,
        }),
      );
      assert.equal(out.code, 0, out.text.slice(-8000));
      const summary = /(\d+) generated, (\d+) passed/.exec(out.text);
      assert.ok(
        summary !== null && Number(summary[2]) > 1000,
        `too few cases ran:\n${out.text.slice(-2000)}`,
      );
      assert.match(out.text, /Selected: (\d+)\/\1/, 'every operation was selected');
    } finally {
      await app.close();
    }
  });
});
