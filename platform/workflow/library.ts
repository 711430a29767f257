/**
 * Where the platform takes workflow templates from: by name out of its template directories
 * (`deploy/templates/` of the project unless `--templates` says otherwise), or as YAML text uploaded with
 * the request. Never an arbitrary path: a name is `[a-z][a-z0-9-]*`, resolves to `<dir>/<name>.yaml`
 * inside a configured directory, must be a regular file (not a pipe, a device or a link out of the
 * directory) and at most MAX_TEMPLATE_BYTES long. docs/platform.md "Templates".
 */
import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { constants } from 'node:fs';
import { DaqError } from '../../protocol/errors.js';
import { parseTemplate, type VarValue, type WorkflowTemplate } from './template.js';

/** The largest template the platform reads, from a directory or uploaded. */
export const MAX_TEMPLATE_BYTES = 256 * 1024;
export const TEMPLATE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Where an environment's template came from: a name in the library, or text uploaded by its creator. */
export type TemplateSource = { readonly name: string } | { readonly yaml: string };

/** A template as the platform read it: its label for messages and the store, and its text. */
export interface TemplateText {
  /** `template <name>` or `uploaded template` — never a host path. */
  readonly label: string;
  readonly text: string;
}

export class TemplateLibrary {
  readonly dirs: readonly string[];

  constructor(dirs: readonly string[]) {
    if (dirs.length === 0)
      throw new DaqError('INVALID_CONFIG', 'the platform needs at least one template directory', {
        field: 'templates',
      });
    this.dirs = dirs.map((d) => resolve(d));
  }

  /** Template names found in the directories (first directory wins), sorted. */
  names(): string[] {
    const out = new Set<string>();
    for (const d of this.dirs) {
      let files: string[];
      try {
        files = readdirSync(d);
      } catch {
        continue;
      }
      for (const f of files) {
        const name = f.endsWith('.yaml') ? f.slice(0, -'.yaml'.length) : undefined;
        if (name !== undefined && TEMPLATE_NAME.test(name)) out.add(name);
      }
    }
    return [...out].sort();
  }

  /** The text of a source: checked, bounded, read without blocking on anything but a regular file. */
  text(source: TemplateSource): TemplateText {
    if ('yaml' in source) {
      if (Buffer.byteLength(source.yaml) > MAX_TEMPLATE_BYTES)
        throw new DaqError(
          'INVALID_TEMPLATE',
          `an uploaded template may have at most ${MAX_TEMPLATE_BYTES} bytes`,
          {
            field: 'templateYaml',
          },
        );
      return { label: 'uploaded template', text: source.yaml };
    }
    const name = source.name;
    if (!TEMPLATE_NAME.test(name))
      throw new DaqError(
        'INVALID_TEMPLATE',
        'a template is named by 1–63 lower-case letters, digits or -, starting with a letter (no path)',
        { field: 'template' },
      );
    for (const dir of this.dirs) {
      const file = join(dir, `${name}.yaml`);
      let link;
      try {
        link = lstatSync(file);
      } catch {
        continue;
      }
      const label = `template ${name}`;
      const refuse = (why: string): never => {
        throw new DaqError('INVALID_TEMPLATE', `${label}: ${why}`, { field: 'template' });
      };
      // A link may point inside the directory (an alias), never out of it.
      if (link.isSymbolicLink()) {
        let real: string;
        try {
          real = realpathSync(file);
        } catch {
          return refuse('is a broken link');
        }
        if (!real.startsWith(realpathSync(dir) + sep)) refuse('links out of its template directory');
      }
      // Opened without blocking (a FIFO would otherwise wait for a writer), then checked on the open file.
      let fd: number;
      try {
        fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch {
        return refuse('cannot be opened');
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) refuse('is not a regular file');
        if (st.size > MAX_TEMPLATE_BYTES) refuse(`is larger than ${MAX_TEMPLATE_BYTES} bytes`);
        const buf = Buffer.alloc(st.size);
        let off = 0;
        while (off < st.size) {
          const n = readSync(fd, buf, off, st.size - off, off);
          if (n === 0) break;
          off += n;
        }
        return { label, text: buf.subarray(0, off).toString('utf8') };
      } finally {
        closeSync(fd);
      }
    }
    throw new DaqError('NOT_FOUND', `no template ${name} (known: ${this.names().join(', ') || 'none'})`, {
      field: 'template',
    });
  }

  /** Reads and parses a source with the user's variables. */
  load(
    source: TemplateSource,
    vars: Readonly<Record<string, VarValue>>,
  ): TemplateText & { template: WorkflowTemplate } {
    const t = this.text(source);
    return { ...t, template: parseTemplate(t.text, t.label, vars) };
  }
}
