import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_TEMPLATE_BYTES, TemplateLibrary } from '../../../platform/workflow/library.js';
import { minimalTemplate } from '../../helpers/environments.js';

describe('platform/workflow/library', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'daqops-templates-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds templates by name in its directories, the first directory first', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, 'run.yaml'), minimalTemplate('run'));
    writeFileSync(join(b, 'run.yaml'), minimalTemplate('other'));
    writeFileSync(join(b, 'cosmics.yaml'), minimalTemplate('cosmics'));
    writeFileSync(join(b, 'Not-A-Name.yaml'), minimalTemplate('x'));
    const lib = new TemplateLibrary([a, b]);
    assert.deepEqual(lib.names(), ['cosmics', 'run']);
    assert.equal(lib.load({ name: 'run' }, {}).template.name, 'run');
    assert.equal(lib.load({ name: 'cosmics' }, {}).label, 'template cosmics');
    assert.throws(() => new TemplateLibrary([]), /at least one template directory/);
  });

  it('refuses names that are paths, and uploads that are too large', () => {
    const lib = new TemplateLibrary([dir]);
    for (const name of ['../x', '/etc/passwd', 'a/b', 'A', 'x.yaml', ''])
      assert.throws(() => lib.text({ name }), /no path/, name);
    assert.throws(() => lib.text({ yaml: 'x'.repeat(MAX_TEMPLATE_BYTES + 1) }), /at most 262144 bytes/);
    assert.equal(lib.load({ yaml: minimalTemplate('up') }, {}).label, 'uploaded template');
  });

  it('reads only regular files inside its directories: a pipe, a folder or a link out is refused at once', () => {
    const lib = new TemplateLibrary([dir]);
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    assert.throws(() => lib.text({ name: 'pipe' }), /template pipe: is not a regular file/);
    const outside = mkdtempSync(join(tmpdir(), 'daqops-outside-'));
    try {
      writeFileSync(join(outside, 'secret.yaml'), 'name: secret\n');
      symlinkSync(join(outside, 'secret.yaml'), join(dir, 'out.yaml'));
      assert.throws(() => lib.text({ name: 'out' }), /links out of its template directory/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
    writeFileSync(join(dir, 'real.yaml'), minimalTemplate('real'));
    symlinkSync(join(dir, 'real.yaml'), join(dir, 'alias.yaml'));
    assert.equal(
      lib.load({ name: 'alias' }, {}).template.name,
      'real',
      'a link inside the directory is fine',
    );
    mkdirSync(join(dir, 'sub.yaml'));
    assert.throws(() => lib.text({ name: 'sub' }), /is not a regular file/);
    writeFileSync(join(dir, 'big.yaml'), 'x'.repeat(MAX_TEMPLATE_BYTES + 1));
    assert.throws(() => lib.text({ name: 'big' }), /larger than 262144 bytes/);
    assert.throws(
      () => lib.text({ name: 'none' }),
      (e: unknown) => (e as { code: string }).code === 'NOT_FOUND',
    );
  });
});
