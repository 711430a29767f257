import assert from 'node:assert/strict';
import {
  DaqError,
  asDaqError,
  errorCatalogue,
  errorCodes,
  isDaqError,
  isErrorCode,
  retriableCodes,
} from '../../protocol/index.js';

describe('protocol/errors', () => {
  it('gives every error its code, field, HTTP status and retriable flag from the catalogue', () => {
    for (const code of errorCodes) {
      const e = new DaqError(code, 'm', { field: 'f' });
      assert.equal(e.httpStatus, errorCatalogue[code].http);
      assert.equal(e.retriable, retriableCodes.has(code));
      assert.equal(e.field, 'f');
      assert.ok(isDaqError(e, code));
    }
    assert.equal(new DaqError('TASK_FAILED', 'x').httpStatus, 502);
    assert.equal(new DaqError('UNREACHABLE', 'x').retriable, true);
    assert.equal(new DaqError('TIMEOUT', 'x').httpStatus, 504);
  });

  it('knows its codes and wraps anything else as one, keeping the cause', () => {
    assert.ok(isErrorCode('NOT_FOUND'));
    assert.ok(!isErrorCode('toString'), 'not a property of every object');
    assert.ok(!isErrorCode(404));
    const cause = new Error('boom');
    const wrapped = asDaqError(cause);
    assert.equal(wrapped.code, 'INTERNAL');
    assert.equal(wrapped.message, 'boom');
    assert.equal(wrapped.cause, cause);
    const own = new DaqError('NOT_FOUND', 'n');
    assert.equal(asDaqError(own, 'AGENT_ERROR'), own, 'a DaqError stays itself');
    assert.equal(asDaqError('text', 'AGENT_ERROR').code, 'AGENT_ERROR');
  });
});
