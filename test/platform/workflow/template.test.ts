import assert from 'node:assert/strict';
import { DaqError } from '../../../protocol/index.js';
import {
  hooksAt,
  loadTemplate,
  parseTemplate,
  parseVarArgs,
  RESOURCE_FIELDS,
} from '../../../platform/workflow/template.js';
import { ResourceLedger, type Placed } from '../../../platform/placement/ledger.js';
import type { NodeTopology } from '../../../protocol/agent-link.js';

function invalidAt(path: string, problem: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof DaqError, String(e));
    assert.equal(e.code, 'INVALID_TEMPLATE');
    assert.equal(e.field, path, e.message);
    assert.match(e.message, /^t\.yaml: /);
    assert.match(e.message, problem);
    return true;
  };
}

const minimal = (extra = '') => `
name: t
defaults: { rate: 5, ns: a }
vars: { ns: b }
roles:
  - name: r
    tasks:
      - name: w-{{index}}
        replicas: 2
        workload: readout
        resources: { cores: 2, links: ['{{index}}'] }
        config: { rate: '{{rate}}', topic: '{{ns}}.raw-hits', link: '{{index}}' }
${extra}`;

describe('platform/workflow/template', () => {
  it('loads the testbed template: 2 readouts, 2 processors, 1 writer, a reconcile hook', () => {
    const t = loadTemplate('deploy/templates/testbed.yaml');
    assert.deepEqual(
      t.tasks.map((x) => [x.name, x.workload, x.critical]),
      [
        ['readout-0', 'readout', false],
        ['readout-1', 'readout', false],
        ['processor-0', 'processor', true],
        ['processor-1', 'processor', true],
        ['writer', 'writer', true],
      ],
    );
    assert.equal(t.tasks[1]!.config['link'], 1);
    assert.deepEqual(t.tasks[1]!.resources.links, [1]);
    assert.equal((t.tasks[0]!.config['source'] as { muonRateHz: number }).muonRateHz, 1000);
    assert.deepEqual(
      hooksAt(t, 'after', 'STOP_ACTIVITY').map((h) => h.name),
      ['reconcile-run'],
    );
    assert.equal(t.hooks[0]!.timeoutMs, 60_000);
  });

  it('resolves defaults < template vars < user values, keeping types', () => {
    const t = parseTemplate(minimal(), 't.yaml', { rate: 9 });
    assert.equal(t.tasks[0]!.config['rate'], 9);
    assert.equal(t.tasks[0]!.config['topic'], 'b.raw-hits');
    assert.equal(t.tasks[1]!.config['link'], 1);
    assert.equal(parseTemplate(minimal(), 't.yaml').tasks[0]!.config['rate'], 5);
    assert.deepEqual(parseVarArgs(['a=1', 'b=x', 'c=true']), { a: 1, b: 'x', c: true });
  });

  it('orders hooks of a trigger by signed weight', () => {
    const t = parseTemplate(
      minimal(`hooks:
  - { name: late, trigger: after_START_ACTIVITY+10, call: { action: log } }
  - { name: early, trigger: after_START_ACTIVITY-5, call: { action: log }, timeout: 500ms, critical: false }
  - { name: mid, trigger: after_START_ACTIVITY, await: after_STOP_ACTIVITY, call: { http: { url: 'http://127.0.0.1:1/x' } } }`),
      't.yaml',
    );
    assert.deepEqual(
      hooksAt(t, 'after', 'START_ACTIVITY').map((h) => [h.name, h.weight]),
      [
        ['early', -5],
        ['mid', 0],
        ['late', 10],
      ],
    );
    const mid = t.hooks.find((h) => h.name === 'mid')!;
    assert.deepEqual(mid.await, { step: 'after', transition: 'STOP_ACTIVITY' });
    assert.equal(mid.timeoutMs, 30_000);
    assert.equal(mid.critical, true);
  });

  it('bounds every number that sizes work: 1e308 replicas is a clear error, not an out-of-memory', () => {
    assert.throws(
      () => parseTemplate(minimal().replace('replicas: 2', 'replicas: 1e308'), 't.yaml'),
      invalidAt('$.roles[0].tasks[0].replicas', /at most 16384, got 1e\+308/),
    );
    assert.throws(
      () =>
        parseTemplate(
          minimal().replace('replicas: 2', "replicas: '{{n}}'").replace('rate: 5', 'rate: 5, n: 100000'),
          't.yaml',
        ),
      invalidAt('$.roles[0].tasks[0].replicas', /at most 16384/),
    );
    assert.throws(
      () => parseTemplate(minimal().replace('cores: 2', 'cores: 1000000'), 't.yaml'),
      invalidAt('$.roles[0].tasks[0].resources.cores', /at most 1024/),
    );
  });

  it('names the file, the path and the problem of every mistake', () => {
    assert.throws(() => parseTemplate('name: [', 't.yaml'), /t\.yaml: not valid YAML/);
    assert.throws(() => parseTemplate('name: T\nroles: []', 't.yaml'), invalidAt('$.name', /lower-case/));
    assert.throws(
      () => parseTemplate('name: t\nroles: []', 't.yaml'),
      invalidAt('$.roles', /at least one task/),
    );
    assert.throws(
      () => parseTemplate(minimal().replace("'{{rate}}'", "'{{speed}}'"), 't.yaml'),
      invalidAt('$.roles[0].tasks[0].config.rate', /\{\{speed\}\} is not defined/),
    );
    assert.throws(
      () => parseTemplate(minimal().replace('cores: 2', 'cores: -1'), 't.yaml'),
      invalidAt('$.roles[0].tasks[0].resources.cores', /integer ≥ 0/),
    );
    assert.throws(
      () => parseTemplate(minimal().replace('cores: 2', 'cores: 2, numa: 0, near: x'), 't.yaml'),
      invalidAt('$.roles[0].tasks[0].resources', /either numa or near/),
    );
    const twice = minimal().replace(
      'roles:\n',
      'roles:\n  - name: other\n    tasks:\n      - { name: w-1, workload: writer }\n',
    );
    assert.throws(
      () => parseTemplate(twice, 't.yaml'),
      invalidAt('$.roles[1].tasks[0].name', /"w-1" is defined twice/),
    );
    // Replicas without {{index}} in the name are numbered.
    assert.deepEqual(
      parseTemplate(minimal().replace('w-{{index}}', 'w'), 't.yaml').tasks.map((x) => x.name),
      ['w-0', 'w-1'],
    );
    assert.throws(
      () =>
        parseTemplate(
          minimal('hooks:\n  - { name: h, trigger: after_LAUNCH, call: { action: log } }'),
          't.yaml',
        ),
      invalidAt('$.hooks[0].trigger', /not a trigger/),
    );
    assert.throws(
      () =>
        parseTemplate(
          minimal('hooks:\n  - { name: h, trigger: before_DEPLOY, timeout: soon, call: { action: log } }'),
          't.yaml',
        ),
      invalidAt('$.hooks[0].timeout', /duration/),
    );
    assert.throws(
      () => parseTemplate(minimal('hooks:\n  - { name: h, trigger: before_DEPLOY, call: {} }'), 't.yaml'),
      invalidAt('$.hooks[0].call', /http or action/),
    );
    assert.throws(() => loadTemplate('no/such.yaml'), /no\/such\.yaml: cannot read/);
  });

  it('takes only resource fields placement honours: each one placed as asked, any other a template error', () => {
    const topology = (name: string, devices: NodeTopology['devices']): NodeTopology => ({
      node: name,
      numa: [
        { id: 0, cpus: [0, 1, 2, 3], memoryBytes: 4 * 1024 ** 3 },
        { id: 1, cpus: [4, 5, 6, 7], memoryBytes: 4 * 1024 ** 3 },
      ],
      memoryBytes: 8 * 1024 ** 3,
      disks: [],
      nics: [],
      devices,
      simulated: true,
    });
    const place = (resources: string): Placed => {
      const t = parseTemplate(
        `name: t\nroles:\n  - name: r\n    tasks:\n      - name: x\n        workload: w\n        resources: ${resources}\n`,
        't.yaml',
      );
      const ledger = new ResourceLedger();
      ledger.addNode(topology('node-a', []));
      ledger.addNode(topology('node-b', [{ name: 'board-b', numaNode: 1, links: [3] }]));
      const r = t.tasks[0]!.resources;
      return ledger.allocate('e', [{ task: 'x', ...r, role: 'r' }])[0]!;
    };
    // One case per field the schema accepts: the compiler holds this list to RESOURCE_FIELDS.
    const honoured: Record<(typeof RESOURCE_FIELDS)[number], () => void> = {
      cores: () => assert.equal(place('{ cores: 3 }').cpus.length, 3),
      memoryMiB: () => {
        assert.equal(place('{ cores: 0, memoryMiB: 4000 }').memoryMiB, 4000);
        assert.throws(() => place('{ cores: 0, memoryMiB: 5000 }'), /needs 0 core\(s\) and 5000 MiB/);
      },
      numa: () => assert.equal(place('{ numa: 1 }').numa, 1),
      near: () => assert.deepEqual(pick(place('{ near: board-b }')), ['node-b', 1]),
      links: () => assert.deepEqual(pick(place('{ links: [3] }')), ['node-b', 1]),
    };
    const pick = (p: Placed) => [p.node, p.numa];
    for (const field of RESOURCE_FIELDS) honoured[field]();
    assert.throws(
      () => place('{ cores: 1, gpus: 1 }'),
      invalidAt(
        '$.roles[0].tasks[0].resources.gpus',
        /placement cannot honour "gpus"; a task may ask for cores/,
      ),
    );
    assert.throws(
      () =>
        parseTemplate(
          'name: t\nroles:\n  - name: r\n    placement: scatter\n    tasks:\n      - name: x\n        workload: w\n',
          't.yaml',
        ),
      invalidAt('$.roles[0].placement', /"scatter" is not a placement policy \(spread or pack\)/),
    );
    const t = loadTemplate('deploy/templates/testbed.yaml');
    assert.deepEqual([...new Set(t.tasks.map((x) => x.placement))], ['spread'], 'spread is the default');
  });
});
