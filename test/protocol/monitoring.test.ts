import assert from 'node:assert/strict';
import { decodeAggregate, encodeAggregate, type MonitoringAggregate } from '../../protocol/monitoring.js';
import { isDaqError } from '../../protocol/index.js';

const aggregate: MonitoringAggregate = {
  kind: 'aggregate',
  environment: 'env-1',
  task: 'processor-0',
  at: '2026-12-02T10:00:00.000Z',
  run: 3,
  timeframes: 350,
  detectorSeconds: 0.998,
  ratesHz: { '0/1/3': 201.5 },
  occupancy: { '0/1': 4021 },
  noiseRateHz: 12.5,
  driftHistogram: { minNs: -50, binNs: 25, counts: [0, 4, 9] },
  faults: { HEAD: 2 },
};

describe('protocol/monitoring', () => {
  it('encodes an aggregate keyed by its task with the aggregate kind, and decodes it back', () => {
    const e = encodeAggregate(aggregate);
    assert.equal(e.key, 'aggregate/processor-0');
    assert.deepEqual(e.headers, { 'daq-kind': 'aggregate' });
    assert.deepEqual(decodeAggregate(e.value), aggregate);
  });

  it('names the field of a record that is not an aggregate', () => {
    const cases: [unknown, string][] = [
      [{ ...aggregate, kind: 'accounting' }, 'kind'],
      [{ ...aggregate, task: 7 }, 'task'],
      [{ ...aggregate, run: 'three' }, 'run'],
      [{ ...aggregate, ratesHz: { '0/1/3': 'x' } }, 'ratesHz.0/1/3'],
      [{ ...aggregate, driftHistogram: { minNs: 0, binNs: 0, counts: [] } }, 'driftHistogram.binNs'],
      [{ ...aggregate, driftHistogram: { minNs: 0, binNs: 1, counts: ['a'] } }, 'driftHistogram.counts'],
    ];
    for (const [value, field] of cases) {
      assert.throws(
        () => decodeAggregate(Buffer.from(JSON.stringify(value))),
        (err: unknown) => isDaqError(err) && err.code === 'INVALID_RECORD' && err.field === field,
        field,
      );
    }
    assert.throws(
      () => decodeAggregate(Buffer.from('{not json')),
      (err: unknown) => isDaqError(err) && err.field === 'value',
    );
  });
});
