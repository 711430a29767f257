import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DaqError,
  SubTimeframeHeaders,
  decodeSubTimeframe,
  encodeSubTimeframe,
  timeframeOfOrbit,
  type SubTimeframeHeader,
} from '../../protocol/index.js';

const base: SubTimeframeHeader = {
  run: 12,
  link: 1,
  timeframe: 345,
  sequence: 6,
  words: 3,
  hits: 2,
  part: 0,
  parts: 1,
  lead: 0,
  trail: 1,
  overlapNs: 1000,
};

function invalidHeader(field: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DaqError, String(e));
    assert.equal(e.code, 'INVALID_HEADER');
    assert.equal(e.field, field);
    return true;
  };
}

describe('protocol/timeframe', () => {
  it('frames and reads back any valid header, keyed by timeframe', () => {
    fc.assert(
      fc.property(
        fc.record({
          run: fc.nat(),
          link: fc.nat({ max: 4096 }),
          timeframe: fc.nat(),
          sequence: fc.nat(),
          words: fc.nat({ max: 64 }),
          part: fc.nat({ max: 3 }),
          extraParts: fc.nat({ max: 3 }),
          sampled: fc.boolean(),
        }),
        (r) => {
          const header: SubTimeframeHeader = {
            run: r.run,
            link: r.link,
            timeframe: r.timeframe,
            sequence: r.sequence,
            words: r.words,
            hits: Math.floor(r.words / 4),
            lead: Math.floor(r.words / 4),
            trail: Math.floor(r.words / 3),
            overlapNs: 1000,
            part: r.part,
            parts: r.part + 1 + r.extraParts,
            traceparent: r.sampled ? '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' : undefined,
          };
          const msg = encodeSubTimeframe(header, Buffer.alloc(r.words * 8));
          assert.equal(msg.key, String(r.timeframe));
          // Kafka hands headers back as Buffers.
          const wire = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, Buffer.from(v)]));
          assert.deepEqual(decodeSubTimeframe(wire, msg.value), header);
        },
      ),
    );
  });

  it('names the missing or malformed header', () => {
    const msg = encodeSubTimeframe(base, Buffer.alloc(24));
    for (const name of [
      'daq-run',
      'daq-link',
      'daq-timeframe',
      'daq-sequence',
      'daq-words',
      'daq-hits',
      'daq-part',
      'daq-parts',
      'daq-format',
    ]) {
      const h: Record<string, string> = { ...msg.headers };
      delete h[name];
      assert.throws(() => decodeSubTimeframe(h, msg.value), invalidHeader(name));
    }
    assert.throws(
      () => decodeSubTimeframe({ ...msg.headers, 'daq-run': '-1' }, msg.value),
      invalidHeader('daq-run'),
    );
    assert.throws(
      () => decodeSubTimeframe({ ...msg.headers, 'daq-link': 'x' }, msg.value),
      invalidHeader('daq-link'),
    );
    assert.throws(
      () => decodeSubTimeframe({ ...msg.headers, 'daq-part': '1' }, msg.value),
      invalidHeader('daq-part'),
    );
    assert.throws(
      () => decodeSubTimeframe({ ...msg.headers, 'daq-hits': '4' }, msg.value),
      invalidHeader('daq-hits'),
    );
    assert.throws(() => decodeSubTimeframe(msg.headers, Buffer.alloc(23)), invalidHeader('daq-words'));
    assert.throws(() => decodeSubTimeframe(msg.headers, null), invalidHeader('daq-words'));
    assert.throws(
      () =>
        decodeSubTimeframe(
          { ...msg.headers, traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' },
          msg.value,
        ),
      invalidHeader(SubTimeframeHeaders.traceparent),
    );
    assert.throws(() => decodeSubTimeframe(undefined, msg.value), invalidHeader('daq-format'));
  });

  it('refuses to frame a header that does not match the payload', () => {
    assert.throws(() => encodeSubTimeframe(base, Buffer.alloc(16)), invalidHeader('daq-words'));
    assert.throws(
      () => encodeSubTimeframe({ ...base, parts: 0 }, Buffer.alloc(24)),
      invalidHeader('daq-parts'),
    );
  });

  it('puts 32 orbits in a timeframe by default', () => {
    assert.equal(timeframeOfOrbit(0), 0);
    assert.equal(timeframeOfOrbit(31), 0);
    assert.equal(timeframeOfOrbit(32), 1);
    assert.equal(timeframeOfOrbit(1000, 128), 7);
  });
});
