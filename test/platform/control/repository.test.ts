import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformStore } from '../../../platform/store/store.js';
import { parseTemplate } from '../../../platform/workflow/template.js';
import { MINI, environments } from '../../helpers/environments.js';

const source = (text = MINI) => ({
  label: 'uploaded template',
  text,
  template: parseTemplate(text, 'uploaded template'),
});

describe('platform/control/repository', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'daqops-repo-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates environments on record, with their template text, and NOT_FOUND names the id', () => {
    const { repo, store } = environments();
    const env = repo.create(source(), { x: 1 }, 'expert:bob');
    assert.match(env.id, /^mini-[0-9a-f]{6}$/);
    const rec = store.environment(env.id)!;
    assert.equal(rec.templateText, MINI);
    assert.equal(rec.templateFile, 'uploaded template');
    assert.deepEqual(rec.vars, { x: 1 });
    assert.equal(rec.createdBy, 'expert:bob');
    assert.equal(repo.get(env.id), env);
    assert.throws(
      () => repo.get('nope'),
      (e: unknown) => (e as { code: string; field: string }).field === 'id',
    );
  });

  it('restores from the stored text (no file needed), with run, clock and tasks; a cut transition takes the failure edge', async () => {
    const file = join(dir, 'p.db');
    const first = environments(new PlatformStore(file));
    const env = first.repo.create(source(), {}, 'expert:bob');
    for (const t of ['DEPLOY', 'CONFIGURE', 'START_ACTIVITY'] as const) await env.transition(t);
    first.repo.save(env, 'shifter:alice');
    // Task names are per driver in the simulation: the second environment has its own.
    const cut = first.repo.create(
      source(MINI.replaceAll('proc', 'proc-b').replace('ro-0', 'ro-b')),
      {},
      'expert:bob',
    );
    const hanging = cut.transition('DEPLOY');
    first.repo.save(cut, 'shifter:alice'); // on record mid-transition, as the platform does
    await hanging;
    first.store.close();

    const second = environments(new PlatformStore(file));
    const holding: string[] = [];
    const summary = second.repo.restore({
      unreadable: () => assert.fail('readable'),
      holds: (e) => holding.push(e.id),
    });
    assert.deepEqual(summary.interrupted, [cut.id]);
    assert.deepEqual(
      second.events.flatMap((e) =>
        e.kind === 'environment' && e.status === 'DONE_ERROR'
          ? [`${e.environment} ${e.transition} ${e.state} ${e.error}`]
          : [],
      ),
      [`${cut.id} DEPLOY ERROR cut by a platform restart; RECOVER or EXIT`],
    );
    assert.equal(summary.holdingResources, 1, 'the cut DEPLOY was on record before it placed anything');
    assert.deepEqual(holding, [env.id], 'its placements are handed back to be locked again');
    const back = second.repo.get(env.id);
    assert.equal(back.state, 'RUNNING');
    assert.equal(back.run, env.run);
    assert.equal(back.epochMs, env.epochMs);
    assert.ok(
      back.runTimes.start === undefined,
      'run times come from the run registry, which this test did not fill',
    );
    assert.deepEqual(
      back.taskList().map((t) => [t.name, t.node, t.state, t.pid]),
      env.taskList().map((t) => [t.name, t.node, t.state, undefined]),
      'tasks come back without their process ids (the agents report them)',
    );
    assert.equal(second.store.environment(cut.id)?.state, 'ERROR', 'the ERROR is on record');
    second.store.close();
  });

  it('keeps an environment whose template cannot be read again in the store, and says so', () => {
    const file = join(dir, 'p.db');
    const store = new PlatformStore(file);
    store.saveEnvironment({
      id: 'old-000001',
      namespace: 'old-000001',
      templateFile: join(dir, 'gone.yaml'),
      templateText: null,
      vars: {},
      state: 'DEPLOYED',
      transition: null,
      run: null,
      epochMs: null,
      masks: [],
      tasks: [],
      createdBy: 'x',
      createdAt: '2026-12-01T00:00:00Z',
      updatedAt: '2026-12-01T00:00:00Z',
    });
    const { repo } = environments(store);
    const said: string[] = [];
    const summary = repo.restore({ unreadable: (id) => said.push(id), holds: () => undefined });
    assert.deepEqual(summary.unreadable, ['old-000001']);
    assert.deepEqual(said, ['old-000001']);
    assert.equal(repo.find('old-000001'), undefined);
    store.close();
  });
});
