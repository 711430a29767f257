import assert from 'node:assert/strict';
import { RatesBook, parseSample } from '../../../platform/monitoring/rates.js';

const exposition = (bytes: number, lag: number, hits: number) => `# HELP daq_dataflow_bytes_total x
# TYPE daq_dataflow_bytes_total counter
daq_dataflow_bytes_total{environment="e1",task="readout-0",source="link-0",target="raw-hits"} ${bytes}
daq_dataflow_bytes_total{environment="e1",task="processor-0",source="raw-hits",target="processors"} ${bytes / 2}
daq_dataflow_bytes_total{environment="e2",task="readout-0",source="link-0",target="raw-hits"} 5
daq_processor_consumer_lag_messages{environment="e1",task="processor-0",partition="0"} ${lag}
daq_processor_consumer_lag_messages{environment="e1",task="processor-0",partition="1"} ${lag}
daq_processor_channel_hits_total{environment="e1",chamber="0",layer="2",cell="7"} ${hits}
`;

describe('platform/monitoring/rates', () => {
  it('parses exposition lines with escaped label values and ignores the rest', () => {
    assert.deepEqual(parseSample('m{a="x\\"y",b="z"} 12.5'), {
      name: 'm',
      labels: { a: 'x"y', b: 'z' },
      value: 12.5,
    });
    assert.deepEqual(parseSample('m 3'), { name: 'm', labels: {}, value: 3 });
    assert.equal(parseSample('# HELP m x'), undefined);
    assert.equal(parseSample('m{a="x"} NaN'), undefined);
  });

  it('turns counters into rates per edge, lag per task, occupancy per cell and a trend, and forgets what went quiet', () => {
    let now = 1_000_000;
    const book = new RatesBook(() => now);
    book.sample('n1', exposition(8000, 3, 100));
    assert.deepEqual(
      book.of('e1').edges.map((e) => e.bytesPerSecond),
      [0, 0],
      'one sample: no rate yet',
    );
    now += 2000;
    book.sample('n1', exposition(16000, 4, 300));
    const e1 = book.of('e1');
    assert.deepEqual(
      e1.edges.map((e) => [e.source, e.target, e.bytesPerSecond]),
      [
        ['link-0', 'raw-hits', 4000],
        ['raw-hits', 'processors', 2000],
      ],
    );
    assert.deepEqual(e1.lag, { 'processor-0': 8 }, 'partitions of one task add up');
    const occ = book.occupancy('e1');
    assert.deepEqual(occ.cells, [{ chamber: 0, layer: 2, cell: 7, hits: 300, hitsPerSecond: 100 }]);
    assert.equal(occ.trend.at(-1)?.hitsPerSecond, 500, 'link bytes / 8 = hits per second');
    now += 1000;
    book.sample('n1', exposition(100, 0, 0));
    assert.equal(
      book.of('e1').edges[0]!.bytesPerSecond,
      0,
      'a counter that went down was reset: no negative rate',
    );
    now += 61_000;
    book.sample('n2', '');
    assert.deepEqual(book.of('e1').edges, [], 'a minute without a sample: forgotten');
    assert.deepEqual(book.occupancy('e1').trend, []);
  });

  it('is wanted only while someone asked within the last minute', () => {
    let now = 0;
    const book = new RatesBook(() => now);
    assert.equal(book.wanted(), false, 'nobody looked: the agents are not read');
    book.asked();
    now += 59_000;
    assert.equal(book.wanted(), true);
    now += 2000;
    assert.equal(book.wanted(), false);
  });
});
