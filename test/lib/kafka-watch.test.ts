import assert from 'node:assert/strict';
import { KafkaWatch } from '../../lib/kafka-watch.js';

describe('lib/kafka-watch', () => {
  it('says unreachable once after three failed checks in a row, and reachable once when a broker answers', async () => {
    let up = true;
    const changes: [boolean, string][] = [];
    const watch = new KafkaWatch({
      ping: () => (up ? Promise.resolve() : Promise.reject(new Error('connection refused'))),
      onChange: (reachable, detail) => changes.push([reachable, detail]),
    });
    await watch.check();
    up = false;
    await watch.check();
    await watch.check();
    assert.deepEqual(changes, [], 'two failures are a blip, not an outage');
    assert.equal(watch.reachable, true);
    await watch.check();
    await watch.check();
    assert.deepEqual(changes, [[false, 'connection refused']]);
    assert.equal(watch.reachable, false);
    up = true;
    await watch.check();
    await watch.check();
    assert.deepEqual(changes, [
      [false, 'connection refused'],
      [true, 'a broker answers again'],
    ]);
    up = false;
    await watch.check();
    up = true;
    await watch.check();
    assert.equal(changes.length, 2, 'one failure after recovery starts a new count');
  });
});
