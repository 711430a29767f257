import assert from 'node:assert/strict';
import { ChannelMap, chamberLayerIndex } from '../../../../protocol/index.js';
import { decodeAggregate, encodeAggregate } from '../../../../protocol/monitoring.js';
import { Metrics } from '../../../../lib/metrics.js';
import { MonitoringAccumulator } from '../../../../agent/workloads/processor/kernel.js';
import {
  DRIFT_SAMPLES,
  IntervalMetrics,
  detectorSeconds,
  intervalAggregate,
} from '../../../../agent/workloads/processor/interval.js';

const config = {
  environment: 'env-1',
  task: 'processor-0',
  map: ChannelMap.testbed(4),
  orbitsPerTimeframe: 32,
  windowMinNs: -50,
  windowMaxNs: 500,
  driftBinNs: 25,
};

describe('agent/workloads/processor/interval', () => {
  it('turns an interval’s counts into rates and noise per second of detector time', () => {
    const acc = new MonitoringAccumulator(config);
    acc.timeframes = 350;
    acc.run = 7;
    const e = config.map.entries[5]!;
    acc.hitsPerChannel[(e.fpga << 9) | e.channel] = 700;
    acc.hitsPerLayer[chamberLayerIndex(e.chamber, e.layer)] = 700;
    acc.unassignedHits = 35;
    acc.driftHistogram[2] = 9;
    acc.faults[1] = 4;
    const seconds = detectorSeconds(acc, 32);
    assert.ok(Math.abs(seconds - (350 * 32 * 3564 * 25) / 1e9) < 1e-12);
    const a = intervalAggregate(acc, config, Date.parse('2026-12-02T10:00:00Z'));
    assert.equal(a.run, 7);
    assert.equal(a.at, '2026-12-02T10:00:00.000Z');
    assert.deepEqual(Object.keys(a.ratesHz), [`${e.chamber}/${e.layer}/${e.cell}`], 'silent cells left out');
    assert.ok(Math.abs(a.ratesHz[`${e.chamber}/${e.layer}/${e.cell}`]! - 700 / seconds) < 1e-9);
    assert.deepEqual(a.occupancy, { [`${e.chamber}/${e.layer}`]: 700 });
    assert.ok(Math.abs(a.noiseRateHz - 35 / seconds) < 1e-9);
    assert.equal(a.driftHistogram.counts[2], 9);
    assert.deepEqual(a.faults, { HEAD: 4 });
    assert.deepEqual(decodeAggregate(encodeAggregate(a).value), a, 'what is published decodes');
  });

  it('feeds Prometheus the per-cell hits and at most DRIFT_SAMPLES drift observations, shaped as counted', async () => {
    const metrics = new Metrics({}, { processMetrics: false });
    const im = new IntervalMetrics(metrics, config);
    const acc = new MonitoringAccumulator(config);
    acc.driftHistogram[2] = 30_000; // centred at 12.5 ns
    acc.driftHistogram[4] = 10_000; // centred at 62.5 ns
    const e = config.map.entries[0]!;
    acc.hitsPerChannel[(e.fpga << 9) | e.channel] = 12;
    im.record(acc);
    const text = await metrics.registry.metrics();
    const count = Number(/daq_processor_drift_time_seconds_count\S* (\d+)/.exec(text)![1]);
    assert.equal(count, DRIFT_SAMPLES);
    assert.match(
      text,
      new RegExp(
        `daq_processor_channel_hits_total\\{chamber="${e.chamber}",layer="${e.layer}",cell="${e.cell}"[^}]*\\} 12`,
      ),
    );
    // 3 : 1 stays 3 : 1: 1500 observations at 12.5 ns and 500 at 62.5 ns.
    const sum = Number(/daq_processor_drift_time_seconds_sum\S* (\S+)/.exec(text)![1]);
    assert.ok(Math.abs(sum - (1500 * 12.5e-9 + 500 * 62.5e-9)) < 1e-12, `sum ${sum}`);
  });
});
