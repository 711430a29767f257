import assert from 'node:assert/strict';
import { DaqError, ERS_NAME, ersIssueCatalogue, validateErsIssue } from '../../protocol/index.js';

const good = {
  severity: 'Warning',
  name: 'daqops.processor.CorruptWord',
  message: '12 corrupt words in timeframe 345',
  context: {
    host: 'daq01',
    pid: 4242,
    application: 'processor',
    task: 'proc-0',
    environment: 'env-1',
    file: 'processor.ts',
    line: 10,
    function: 'onBatch',
  },
  parameters: { count: 12, reason: 'BX_COUNTER', dropped: false },
  qualifiers: ['dataflow'],
  causes: [
    {
      severity: 'Error',
      name: 'daqops.readout.SourceFailed',
      message: 'link 1 dropped',
      context: { host: 'daq01', pid: 1, application: 'readout' },
      parameters: {},
      qualifiers: [],
      causes: [],
      time: '2026-11-22T01:00:00.000Z',
    },
  ],
  time: '2026-11-22T01:00:01.5Z',
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  span_id: 'b7ad6b7169203331',
};

function invalidAt(field: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DaqError, String(e));
    assert.equal(e.code, 'INVALID_ERS_ISSUE');
    assert.equal(e.field, field);
    return true;
  };
}

describe('protocol/ers', () => {
  it('accepts a full record with chained causes', () => {
    const issue = validateErsIssue(good);
    assert.equal(issue.causes[0]?.name, 'daqops.readout.SourceFailed');
    assert.equal(issue.trace_id, good.trace_id);
  });

  it('names the path of each invalid field', () => {
    assert.throws(() => validateErsIssue({ ...good, severity: 'Critical' }), invalidAt('issue.severity'));
    assert.throws(() => validateErsIssue({ ...good, name: 'CorruptWord' }), invalidAt('issue.name'));
    assert.throws(() => validateErsIssue({ ...good, message: '' }), invalidAt('issue.message'));
    assert.throws(
      () => validateErsIssue({ ...good, context: { ...good.context, pid: -1 } }),
      invalidAt('issue.context.pid'),
    );
    assert.throws(
      () => validateErsIssue({ ...good, context: { pid: 1, application: 'x' } }),
      invalidAt('issue.context.host'),
    );
    assert.throws(
      () => validateErsIssue({ ...good, parameters: { x: { nested: 1 } } }),
      invalidAt('issue.parameters.x'),
    );
    assert.throws(() => validateErsIssue({ ...good, qualifiers: [1] }), invalidAt('issue.qualifiers'));
    assert.throws(() => validateErsIssue({ ...good, time: 'yesterday' }), invalidAt('issue.time'));
    assert.throws(() => validateErsIssue({ ...good, trace_id: 'abc' }), invalidAt('issue.trace_id'));
    assert.throws(() => validateErsIssue({ ...good, span_id: 'XYZ' }), invalidAt('issue.span_id'));
    assert.throws(
      () => validateErsIssue({ ...good, causes: [{ ...good.causes[0], severity: 'Bad' }] }),
      invalidAt('issue.causes[0].severity'),
    );
    assert.throws(() => validateErsIssue('text'), invalidAt('issue'));
  });

  it('names every catalogued issue in the dotted ERS form', () => {
    for (const name of Object.keys(ersIssueCatalogue)) assert.match(name, ERS_NAME);
  });
});
