import assert from 'node:assert/strict';
import { ErsReporter } from '../../../../lib/ers.js';
import { Metrics } from '../../../../lib/metrics.js';
import type { ErsIssue } from '../../../../protocol/index.js';
import {
  DQ_AFTER_OUTAGE_MS,
  DQ_AFTER_REBALANCE_MS,
  DQ_CATCH_UP_MAX_MS,
  DQ_CAUGHT_UP_LAG_MESSAGES,
  DQ_ISSUES,
  QualityWatch,
} from '../../../../agent/workloads/processor/quality-watch.js';
import { findingKinds } from '../../../../agent/workloads/processor/data-quality.js';
import { ersIssueCatalogue } from '../../../../protocol/index.js';
import type { ProcessorConfig } from '../../../../agent/workloads/config.js';
import { ChannelMap } from '../../../../protocol/index.js';
import { DEFAULT_DATA_QUALITY } from '../../../../agent/workloads/processor/data-quality-config.js';

function watch() {
  let now = 1_000_000;
  const issues: ErsIssue[] = [];
  const config = {
    environment: 'env-1',
    map: ChannelMap.testbed(4),
    links: [0, 1],
    dataQuality: DEFAULT_DATA_QUALITY,
    maskedCells: new Set<number>(),
  } as unknown as ProcessorConfig;
  const w = new QualityWatch(config, {
    ers: new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
    metrics: new Metrics({}, { processMetrics: false }),
    now: () => now,
  });
  return { w, issues, advance: (ms: number) => (now += ms) };
}

describe('agent/workloads/processor/quality-watch', () => {
  it('holds its judgement for a while after the partitions moved', () => {
    const { w, advance } = watch();
    assert.equal(w.disturbed(false), false);
    w.rebalanced(new Set([0, 2]));
    assert.equal(w.disturbed(false), true);
    advance(DQ_AFTER_REBALANCE_MS - 1);
    assert.equal(w.disturbed(false), true);
    advance(1);
    assert.equal(w.disturbed(false), false);
  });

  it('holds it while Kafka is away and until the backlog is caught up after it is back', () => {
    const { w, advance } = watch();
    w.kafka(false);
    advance(60_000);
    assert.equal(w.disturbed(false), true, 'away for a minute');
    w.kafka(true);
    advance(DQ_AFTER_OUTAGE_MS - 1);
    assert.equal(w.disturbed(false), true, 'the backlog arrives');
    advance(1);
    assert.equal(w.disturbed(false), false);
    assert.equal(w.disturbed(true), true, 'the assembly clock still standing is an outage too');
  });

  it('after an outage, holds it on while the backlog is still being caught up — but not for ever', () => {
    const { w, advance } = watch();
    w.lag(0, 0);
    w.kafka(false);
    advance(30_000);
    w.kafka(true);
    w.lag(0, 5000);
    advance(DQ_AFTER_OUTAGE_MS);
    assert.equal(w.disturbed(false), true, 'still 5000 messages behind: the catching up, not the detector');
    w.lag(0, DQ_CAUGHT_UP_LAG_MESSAGES);
    assert.equal(w.disturbed(false), false, 'caught up');
    w.lag(0, 5000);
    assert.equal(w.disturbed(false), false, 'a later lag spike is judged');

    w.kafka(false);
    w.kafka(true);
    w.lag(0, 5000);
    advance(DQ_CATCH_UP_MAX_MS);
    assert.equal(w.disturbed(false), false, 'a processor that stays behind is judged after the cap');
  });

  it('after an outage, does not take a lag read before it for caught up (the backlog has not said yet)', () => {
    const { w, advance } = watch();
    w.lag(0, 0);
    w.lag(1, 3);
    w.kafka(false);
    advance(15_000);
    w.kafka(true);
    advance(DQ_AFTER_OUTAGE_MS);
    assert.equal(w.disturbed(false), false, 'no batch since the outage: the fixed hold alone');
    w.lag(0, 40_000);
    assert.equal(w.disturbed(false), true, 'the first batch: far behind (the old 0 did not end the hold)');
    w.lag(0, 12);
    assert.equal(w.disturbed(false), false, 'caught up on what it reads now');
  });

  it('after a rebalance, waits for the partitions it owns only, on lags read since', () => {
    const { w, advance } = watch();
    w.lag(1, 9000);
    w.lag(2, 10);
    w.rebalanced(new Set([2]));
    advance(DQ_AFTER_REBALANCE_MS);
    w.lag(2, 3000);
    assert.equal(w.disturbed(false), true, 'partition 2 is behind now');
    w.lag(1, 9000);
    w.lag(2, 10);
    assert.equal(
      w.disturbed(false),
      false,
      'partition 1 went to another member: a batch of it prefetched before the move is not ours',
    );
  });

  it('has a catalogued ERS issue for every finding kind', () => {
    for (const kind of findingKinds) assert.ok(DQ_ISSUES[kind] in ersIssueCatalogue, kind);
  });
});
