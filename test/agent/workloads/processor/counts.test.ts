import assert from 'node:assert/strict';
import { ErsReporter } from '../../../../lib/ers.js';
import { Metrics } from '../../../../lib/metrics.js';
import { WordFault, type ErsIssue } from '../../../../protocol/index.js';
import { ProcessorCounts } from '../../../../agent/workloads/processor/counts.js';
import type { AssembledTimeframe } from '../../../../agent/workloads/processor/assembler.js';
import type { TimeframeResult } from '../../../../agent/workloads/processor/kernel.js';

describe('agent/workloads/processor/counts', () => {
  it('counts acknowledged timeframes and set-aside records into the totals, the counters and ERS', async () => {
    const metrics = new Metrics({}, { processMetrics: false });
    const issues: ErsIssue[] = [];
    const counts = new ProcessorCounts(
      metrics,
      new ErsReporter({ application: 'test', sink: (i) => issues.push(i) }),
      () => 5_000,
    );
    const before = await metrics.registry.metrics();
    assert.match(before, /daq_processor_corrupt_words_total\{reason="HEAD"\} 0/, 'born at 0');
    const tf = {
      run: 1,
      timeframe: 9,
      fragments: [],
      missingLinks: [1],
      complete: false,
    } as AssembledTimeframe;
    const r = {
      perLink: new Map([[0, { words: 6, hits: 5, segments: 1, corrupt: 1 }]]),
      corrupt: [{ link: 0, index: 0, lo: 0, hi: 0, fault: WordFault.HEAD }],
      events: [{}, {}],
    } as unknown as TimeframeResult;
    counts.timeframe(tf, r, 4_000);
    counts.setAside('late');
    assert.deepEqual(counts.totals, {
      timeframes: 1,
      incomplete: 1,
      events: 2,
      hits: 5,
      corrupt: 1,
      deadlettered: 1,
    });
    const text = await metrics.registry.metrics();
    assert.match(text, /daq_processor_timeframes_incomplete_total 1/);
    assert.match(text, /daq_processor_corrupt_words_total\{reason="HEAD"\} 1/);
    assert.match(text, /daq_processor_deadletter_total\{reason="late"\} 1/);
    assert.match(text, /daq_processor_latency_seconds_sum 1/);
    assert.deepEqual(
      issues.map((i) => i.name),
      ['daqops.processor.CorruptWord'],
    );
  });
});
