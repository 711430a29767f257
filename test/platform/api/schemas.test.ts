import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  INTEGER_ID,
  MAX_ALERTS,
  alertmanagerBody,
  createEnvironmentBody,
  stepBody,
} from '../../../platform/api/schemas.js';

describe('platform/api/schemas', () => {
  const ajv = new Ajv2020({ strict: false, coerceTypes: false });

  it('takes a template by name or as text, not both, not a path', () => {
    const ok = ajv.compile(createEnvironmentBody);
    assert.ok(ok({ template: 'testbed', vars: { muonRateHz: 500, tag: 'cosmics', dry: false } }));
    assert.ok(ok({ templateYaml: 'name: x' }));
    for (const bad of [
      {},
      { template: 'a', templateYaml: 'b' },
      { template: '../x' },
      { template: 'testbed', vars: { x: null } },
      { template: 'testbed', vars: { 'a b': 1 } },
    ])
      assert.ok(!ok(bad), JSON.stringify(bad));
  });

  it('writes ids as decimal digits only, and bounds steps and alert lists', () => {
    const id = new RegExp(INTEGER_ID);
    for (const good of ['1', '42', '999999999999999']) assert.ok(id.test(good), good);
    for (const bad of ['0', '01', '-1', '4.0', '0x10', 'Infinity', '1e3', ' 1', ''])
      assert.ok(!id.test(bad), bad);
    const step = ajv.compile(stepBody);
    assert.ok(step({ runbook: 'WorkloadCrash', step: 0 }));
    for (const s of [null, true, '0', 0.5, -1, 1001])
      assert.ok(!step({ runbook: 'WorkloadCrash', step: s }), String(s));
    const am = ajv.compile(alertmanagerBody);
    const alert = {
      status: 'firing',
      labels: { alertname: 'A' },
      annotations: {},
      startsAt: '2026-12-01T00:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: 'f',
    };
    const payload = (n: number) => ({
      version: '4',
      groupKey: 'g',
      status: 'firing',
      alerts: Array.from({ length: n }, () => alert),
    });
    assert.ok(am(payload(MAX_ALERTS)));
    assert.ok(!am(payload(MAX_ALERTS + 1)));
  });
});
