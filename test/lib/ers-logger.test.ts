import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateErsIssue } from '../../protocol/index.js';
import { ErsReporter } from '../../lib/ers.js';
import { ErsThrottle } from '../../lib/ers.js';
import { ErsLogger, formatErsLine } from '../../lib/ers-logger.js';

describe('lib/ers-logger', function () {
  this.timeout(60_000);

  it('throttles like ERS throttle(30,100): 30 pass, then one in 100 carrying the suppressed count', () => {
    const t = new ErsThrottle(30, 100);
    const passed: number[] = [];
    for (let i = 1; i <= 350; i++) if (t.admit('k').pass) passed.push(i);
    assert.equal(passed.length, 33);
    assert.deepEqual(passed.slice(29), [30, 130, 230, 330]);
    assert.equal(t.admit('other').pass, true, 'keys are independent');
    let now = 0;
    const idle = new ErsThrottle(2, 10, 1000, () => now);
    idle.admit('k');
    idle.admit('k');
    assert.equal(idle.admit('k').pass, false);
    now = 5000;
    assert.equal(idle.admit('k').pass, true, 'a quiet key starts afresh');
  });

  it('writes schema-valid JSON records with chained causes to the file, throttled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daqops-ers-'));
    const file = join(dir, 'ers.jsonl');
    const logger = new ErsLogger({ console: false, file, throttle: new ErsThrottle(3, 5) });
    const ers = new ErsReporter({
      application: 'test',
      task: 't1',
      environment: 'env-a',
      sink: (i) => logger.emit(i),
    });
    try {
      for (let i = 0; i < 12; i++) ers.raise('daqops.processor.CorruptWord', `flood ${i}`, { i });
      ers.raise(
        'daqops.kafka.BrokerUnreachable',
        'no broker',
        {},
        { cause: new Error('ECONNREFUSED', { cause: new Error('inner') }) },
      );
    } finally {
      await logger.close();
    }
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => validateErsIssue(JSON.parse(l)));
    // 3 pass, then the 8th (3 + 5) with 4 suppressed; 12 floods → 4 records, plus the other issue.
    assert.deepEqual(
      lines.map((l) => l.message),
      ['flood 0', 'flood 1', 'flood 2', 'flood 7', 'no broker'],
    );
    assert.equal(lines[3]!.parameters['suppressed'], 4);
    assert.ok(lines[3]!.qualifiers.includes('throttled'));
    assert.equal(lines[4]!.causes[0]!.message, 'ECONNREFUSED');
    assert.equal(lines[4]!.causes[0]!.causes[0]!.message, 'inner');
    assert.match(
      formatErsLine(lines[0]!),
      /WARNING +daqops\.processor\.CorruptWord \[env-a\/t1\] flood 0 \(i=0\)/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
