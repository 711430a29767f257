import assert from 'node:assert/strict';
import { StoredRecords } from '../../../../agent/workloads/writer/stored-records.js';

describe('agent/workloads/writer/stored-records', () => {
  it('knows a record by timeframe and part, and folds a timeframe into its ranges once all parts are in', () => {
    const s = new StoredRecords();
    assert.equal(s.add(7, 0, 3), true);
    assert.equal(s.add(7, 0, 3), false, 'the same record again');
    assert.equal(s.has(7, 1), false);
    assert.equal(s.openTimeframes, 1);
    s.add(7, 2, 3);
    s.add(7, 1, 3);
    assert.equal(s.openTimeframes, 0, 'timeframe 7 whole: kept as a range');
    assert.equal(s.has(7, 1), true);
    s.add(8, 0, 1);
    s.add(6, 0, 1);
    assert.equal(s.rangeCount, 1);
    s.add(10, 0, 2);
    const back = new StoredRecords(
      JSON.parse(JSON.stringify(s.state())) as ReturnType<StoredRecords['state']>,
    );
    assert.equal(back.has(10, 0), true);
    assert.equal(back.has(10, 1), false);
    assert.equal(back.has(6, 0), true);
    assert.equal(back.add(10, 1, 2), true);
    assert.equal(back.openTimeframes, 0);
  });

  it('keeps a timeframe built from other links apart from the one stored (a late link after a rebalance)', () => {
    const s = new StoredRecords();
    s.add(4, 0, 1, '0.1');
    assert.equal(s.has(4, 0, '0.1'), true);
    assert.equal(s.has(4, 0, '1'), false, 'built again from link 1 alone: not a replay');
    assert.equal(s.add(4, 0, 1, '1'), true);
    assert.equal(s.add(4, 0, 1, '1'), false);
    assert.equal(s.rangeCount, 2);
  });
});
