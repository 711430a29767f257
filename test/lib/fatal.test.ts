import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { EXIT_UNHANDLED } from '../../lib/fatal.js';
import { validateErsIssue } from '../../protocol/ers.js';
import { daqopsArgv } from '../helpers/daqops.js';

describe('lib/fatal', function () {
  this.timeout(60_000);

  for (const kind of ['exception', 'rejection'] as const) {
    it(`turns an unhandled ${kind} into one ERS Fatal and exit code ${EXIT_UNHANDLED}`, () => {
      // The real entry point with its handlers, and an error nothing handles after it started.
      // Thrown once the command's own handlers are in place (its module has loaded).
      const fire =
        kind === 'exception' ? "throw new Error('boom')" : "void Promise.reject(new Error('boom'))";
      const boom = `const t = setInterval(() => { if (process.listenerCount('unhandledRejection') > 0) { clearInterval(t); ${fire} } }, 5)`;
      const r = spawnSync(...daqopsArgv('kafka', 'status'), {
        encoding: 'utf8',
        env: {
          ...process.env,
          DAQOPS_KAFKA_BROKERS: '127.0.0.1:1',
          NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=data:text/javascript,${encodeURIComponent(boom)}`,
        },
        timeout: 30_000,
      });
      assert.equal(r.status, EXIT_UNHANDLED, r.stderr);
      const fatals = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('{"ers"'))
        .map((l) => validateErsIssue((JSON.parse(l) as { ers: unknown }).ers))
        .filter((i) => i.severity === 'Fatal');
      assert.equal(fatals.length, 1, r.stderr);
      assert.equal(fatals[0]?.name, 'daqops.runtime.UnhandledError');
      assert.equal(fatals[0]?.parameters['kind'], kind);
      assert.equal(fatals[0]?.causes[0]?.message, 'boom');
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no bare stack trace');
    });
  }
});
