import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeEventRecord,
  encodeEventRecords,
  eventBytes,
  eventId,
  type DaqEvent,
} from '../../protocol/events.js';
import { isDaqError } from '../../protocol/errors.js';

function event(run: number, timeframe: number, orbit: number, hits: number): DaqEvent {
  const mask = 0b1011;
  return {
    id: eventId(run, orbit, 100, 7, mask),
    run,
    timeframe,
    orbit,
    bx: 100,
    tdc: 7,
    timeNs: (orbit * 3564 + 100) * 25 + (7 * 25) / 30,
    chamberMask: mask,
    segments: [0, 1, 3].map((chamber) => ({ chamber, quality: 2, timeNs: 1234.5 + chamber })),
    hits: Array.from({ length: hits }, (_, k) => ({
      chamber: k % 4,
      layer: 1 + (k % 4),
      cell: k % 16,
      timeNs: 1000.125 + k,
      driftNs: 12.345678901 + k,
    })),
  };
}

describe('protocol/events', () => {
  it('round-trips events bit-exact (ids derived, floats as doubles), whatever the split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 30 }),
        fc.integer({ min: 64, max: 4096 }),
        (hitCounts, maxRecordBytes) => {
          const events = hitCounts.map((h, i) => event(3, 17, 1000 + i, h));
          const records = encodeEventRecords(3, 17, events, maxRecordBytes);
          const back = records.flatMap((r) => {
            const d = decodeEventRecord(r);
            assert.equal(d.run, 3);
            assert.equal(d.timeframe, 17);
            return d.events;
          });
          assert.deepEqual(back, events);
          assert.ok(records.length >= 1, 'every timeframe has a record, an empty one without events');
          for (const r of records) {
            const one = decodeEventRecord(r).events;
            // Over the limit only when a single event alone is larger.
            if (r.byteLength > maxRecordBytes) assert.equal(one.length, 1);
          }
        },
      ),
    );
  });

  it('takes about a quarter of the bytes of JSON', () => {
    const events = Array.from({ length: 50 }, (_, i) => event(1, 2, i, 16));
    const binary = encodeEventRecords(1, 2, events, 1 << 20);
    assert.equal(binary.length, 1);
    const json = Buffer.byteLength(JSON.stringify({ run: 1, timeframe: 2, events }));
    assert.ok(binary[0]!.byteLength * 3 < json, `${binary[0]!.byteLength} vs ${json} bytes`);
    assert.equal(binary[0]!.byteLength, 16 + events.reduce((n, e) => n + eventBytes(e), 0));
  });

  it('names what is wrong with bytes that are not an event record', () => {
    const good = encodeEventRecords(1, 2, [event(1, 2, 5, 3)], 1 << 20)[0]!;
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(4), /shorter than its header/],
      [Buffer.from(JSON.stringify({ events: [] }).padEnd(32)), /magic .* is not dte1/],
      [good.subarray(0, good.byteLength - 5), /truncated/],
      [Buffer.concat([good, Buffer.alloc(3)]), /3 bytes after the last event/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(
        () => decodeEventRecord(bytes),
        (err: unknown) => isDaqError(err, 'INVALID_HEADER') && message.test(err.message),
      );
    }
  });
});
