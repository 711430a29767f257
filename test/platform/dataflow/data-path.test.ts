import assert from 'node:assert/strict';
import type { Reconciliation } from '../../../protocol/accounting.js';
import { reconcile } from '../../../protocol/balance.js';
import { drained } from '../../../platform/dataflow/data-path.js';

const balance = (o: {
  produced: number;
  processed: number;
  dead?: number;
  final?: boolean;
  built?: number;
  stored?: number;
}): Reconciliation => {
  const r = reconcile(1, []);
  return {
    ...r,
    produced: { ...r.produced, words: o.produced },
    processed: { ...r.processed, words: o.processed },
    deadletteredWords: o.dead ?? 0,
    readoutFinal: o.final ?? true,
    events: { ...r.events, built: o.built ?? 0, stored: o.stored ?? 0 },
  };
};

describe('platform/dataflow/data-path', () => {
  it('after the readouts stop: drained when every produced word is processed or dead-lettered, finals in', () => {
    assert.equal(drained(balance({ produced: 100, processed: 90 }), ['readout'], false), false);
    assert.equal(drained(balance({ produced: 100, processed: 90, dead: 10 }), ['readout'], false), true);
    assert.equal(
      drained(balance({ produced: 100, processed: 100, final: false }), ['readout'], false),
      false,
      'a readout may still report more',
    );
    assert.equal(
      drained(balance({ produced: 100, processed: 100, final: false }), ['readout'], true),
      true,
      'an excluded readout never sends its final report',
    );
  });

  it('after the processors stop: drained when every built event is stored too', () => {
    const stopped = ['readout', 'processor'];
    assert.equal(drained(balance({ produced: 1, processed: 1, built: 5, stored: 4 }), stopped, false), false);
    assert.equal(drained(balance({ produced: 1, processed: 1, built: 5, stored: 5 }), stopped, false), true);
    assert.equal(drained(balance({ produced: 9, processed: 1 }), ['writer'], false), true);
  });
});
