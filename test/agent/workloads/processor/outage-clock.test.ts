import assert from 'node:assert/strict';
import { OutageClock } from '../../../../agent/workloads/processor/outage-clock.js';

describe('agent/workloads/processor/outage-clock', () => {
  it('stands still from the last moment Kafka answered until data flows again, and never runs back', () => {
    let wall = 10_000;
    const clock = new OutageClock(() => wall);
    assert.equal(clock.now(), 10_000);
    wall = 10_400;
    assert.equal(clock.now(), 10_400);
    // Kafka last answered at 10 200; the failed probe comes at 11 000.
    wall = 11_000;
    clock.pause(10_200);
    assert.equal(clock.paused, true);
    assert.equal(clock.now(), 10_400, 'not back before what was handed out');
    wall = 41_000; // a 30 s outage
    assert.equal(clock.now(), 10_400);
    clock.resume();
    assert.equal(clock.paused, false);
    wall = 41_500;
    assert.equal(clock.now(), 10_700, 'runs on from where it stood: 10 200 + 500');
    clock.resume();
    wall = 42_000;
    assert.equal(clock.now(), 11_200, 'a second resume changes nothing');
  });
});
