import assert from 'node:assert/strict';
import { PendingRequests } from '../../lib/pending-requests.js';
import { isDaqError } from '../../protocol/errors.js';

describe('lib/pending-requests', () => {
  it('answers each request once, by its id; an answer nobody waits for is dropped', async () => {
    const p = new PendingRequests<string>();
    const sent: number[] = [];
    const a = p.request('a', 10_000, (id) => sent.push(id));
    const b = p.request('b', 10_000, (id) => sent.push(id));
    assert.equal(sent.length, 2);
    assert.notEqual(sent[0], sent[1]);
    assert.equal(p.answer(sent[1]!, 'to b'), true);
    assert.equal(p.answer(sent[1]!, 'again'), false, 'answered already');
    assert.equal(p.answer(999, 'x'), false);
    assert.equal(p.answer(sent[0]!, 'to a'), true);
    assert.deepEqual(await Promise.all([a, b]), ['to a', 'to b']);
    assert.equal(p.size, 0);
  });

  it('fails a request with TIMEOUT naming it, and every open one when the link goes away', async () => {
    const p = new PendingRequests<string>();
    await assert.rejects(
      p.request('task p0: START', 5, () => undefined),
      (e: unknown) => {
        return isDaqError(e, 'TIMEOUT') && /task p0: START not answered within 5 ms/.test(e.message);
      },
    );
    const open = [p.request('x', 10_000, () => undefined), p.request('y', 10_000, () => undefined)];
    p.failAll(new Error('gone'));
    for (const o of open) await assert.rejects(o, /gone/);
    assert.equal(p.size, 0);
  });

  it('closes a request whose send throws, with that error', async () => {
    const p = new PendingRequests<string>();
    await assert.rejects(
      p.request('x', 10_000, () => {
        throw new Error('socket closed');
      }),
      /socket closed/,
    );
    assert.equal(p.size, 0);
  });
});
