import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DaqError } from '../../protocol/index.js';
import { checkJava, ensureKafkaJars, newClusterId } from '../../deploy/local/kafka-local.js';

/** Runs fn with PATH holding only the named programs (symlinked into a temp dir). */
function withPathOf<T>(programs: string[], fn: () => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'daqops-path-'));
  const saved = process.env['PATH'];
  try {
    for (const p of programs)
      symlinkSync(execFileSync('sh', ['-c', `command -v ${p}`], { encoding: 'utf8' }).trim(), join(dir, p));
    process.env['PATH'] = dir;
    return fn();
  } finally {
    process.env['PATH'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('deploy/local/kafka-local', function () {
  this.timeout(300_000);

  it('draws cluster ids kafka-storage can parse: 22 base64url characters, never a leading "-"', () => {
    for (let i = 0; i < 5000; i++) {
      const id = newClusterId();
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });

  it('says what to install when java is missing', () => {
    assert.throws(
      () => withPathOf([], () => checkJava()),
      (e: unknown) =>
        e instanceof DaqError &&
        e.code === 'PREREQUISITE_MISSING' &&
        /JDK 17/.test(e.message) &&
        /apt-get install/.test(e.message),
    );
  });

  it('needs neither mvn nor network once the jars are cached', () => {
    const lib = ensureKafkaJars();
    assert.ok(existsSync(join(lib, '.pom-sha256')));
    // No mvn on PATH at all: a second call must be served from the cache.
    assert.equal(
      withPathOf(['java'], () => ensureKafkaJars()),
      lib,
    );
  });
});
