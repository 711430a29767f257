import assert from 'node:assert/strict';
import { DaqError } from '../../protocol/index.js';
import { envBrokerList, envString } from '../../lib/env.js';

describe('lib/env', () => {
  it('treats empty and blank values as unset', () => {
    assert.equal(envString('DAQOPS_HOME', { DAQOPS_HOME: '  ' }), undefined);
    assert.equal(envString('DAQOPS_HOME', { DAQOPS_HOME: '/x ' }), '/x');
  });

  it('parses broker lists and names the variable when one entry is not host:port', () => {
    assert.deepEqual(
      envBrokerList('DAQOPS_KAFKA_BROKERS', { DAQOPS_KAFKA_BROKERS: 'a:9092, 127.0.0.1:19092,' }),
      ['a:9092', '127.0.0.1:19092'],
    );
    assert.equal(envBrokerList('DAQOPS_KAFKA_BROKERS', {}), undefined);
    assert.throws(
      () => envBrokerList('DAQOPS_KAFKA_BROKERS', { DAQOPS_KAFKA_BROKERS: 'a:9092,b' }),
      (e: unknown) =>
        e instanceof DaqError &&
        e.code === 'INVALID_CONFIG' &&
        e.field === 'DAQOPS_KAFKA_BROKERS' &&
        /"b"/.test(e.message),
    );
    assert.throws(
      () => envBrokerList('DAQOPS_KAFKA_BROKERS', { DAQOPS_KAFKA_BROKERS: ',' }),
      /lists no broker/,
    );
  });
});
