import assert from 'node:assert/strict';
import { metricCatalogue, metricLabels } from '../../protocol/index.js';

describe('protocol/metrics catalogue', () => {
  it('declares each metric once, daq_-prefixed, with unit suffixes by type', () => {
    const names = metricCatalogue.map((m) => m.name);
    assert.equal(new Set(names).size, names.length, 'duplicate metric name');
    for (const m of metricCatalogue) {
      assert.match(m.name, /^daq_[a-z0-9_]+$/, m.name);
      if (m.type === 'counter') assert.match(m.name, /_total$/, `${m.name}: counters end in _total`);
      else assert.doesNotMatch(m.name, /_total$/, `${m.name}: only counters end in _total`);
      if (m.type === 'histogram')
        assert.match(m.name, /_(seconds|bytes)$/, `${m.name}: histograms carry their unit`);
      assert.ok(m.help.length > 10, `${m.name} needs help text`);
    }
  });

  it('uses only bounded labels — never a run number or event id', () => {
    for (const m of metricCatalogue) {
      for (const l of m.labels)
        assert.ok((metricLabels as readonly string[]).includes(l), `${m.name}: label ${l}`);
      assert.ok(!(m.labels as readonly string[]).some((l) => /run|event/.test(l)), m.name);
    }
  });
});
