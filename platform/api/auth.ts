/**
 * Bearer tokens with roles, from a tokens file (`tokens: [{ token, name, role }]`, `joinToken`).
 * Roles are ordered: viewer < shifter < expert < admin; a route names the least role it needs.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { DaqError } from '../../protocol/errors.js';
import { readConfigFile, section, str } from '../../lib/config.js';

export const roles = ['viewer', 'shifter', 'expert', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface Principal {
  readonly name: string;
  readonly role: Role;
}

export interface TokenBook {
  readonly principals: ReadonlyMap<string, Principal>;
  readonly joinToken: string | undefined;
}

export function parseTokens(raw: Record<string, unknown>, file = 'tokens'): TokenBook {
  const list = raw['tokens'];
  if (!Array.isArray(list))
    throw new DaqError('INVALID_CONFIG', `${file}: tokens must be a list`, { field: 'tokens' });
  const principals = new Map<string, Principal>();
  list.forEach((t, i) => {
    const p = `tokens[${i}]`;
    const e = section(t, p);
    const token = str(e, 'token', p);
    if (token.length < 16)
      throw new DaqError('INVALID_CONFIG', `${file}: ${p}.token must be at least 16 characters`, {
        field: `${p}.token`,
      });
    const role = str(e, 'role', p);
    if (!(roles as readonly string[]).includes(role))
      throw new DaqError('INVALID_CONFIG', `${file}: ${p}.role must be one of ${roles.join(', ')}`, {
        field: `${p}.role`,
      });
    principals.set(token, { name: str(e, 'name', p), role: role as Role });
  });
  const join = raw['joinToken'];
  return { principals, joinToken: typeof join === 'string' ? join : undefined };
}

export function loadTokens(file: string): TokenBook {
  return parseTokens(readConfigFile(file), file);
}

export function allows(have: Role, need: Role): boolean {
  return roles.indexOf(have) >= roles.indexOf(need);
}

/** Who holds a token, without the token (what an admin lists). */
export interface TokenHolder {
  readonly name: string;
  readonly role: Role;
}

const HOLDER = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * The tokens an admin manages from the API and the web page: create one for a person (the token is shown
 * once), list who holds one, revoke one. Written back to the tokens file (mode 0600, replaced whole) when
 * there is one, so a restarted platform knows the same tokens. The last admin cannot be revoked.
 */
export class TokenStore implements TokenBook {
  private readonly book: Map<string, Principal>;
  readonly joinToken: string | undefined;

  constructor(
    book: TokenBook,
    private readonly file?: string,
  ) {
    this.book = new Map(book.principals);
    this.joinToken = book.joinToken;
  }

  static load(file: string): TokenStore {
    return new TokenStore(loadTokens(file), file);
  }

  get principals(): ReadonlyMap<string, Principal> {
    return this.book;
  }

  holders(): TokenHolder[] {
    return [...this.book.values()]
      .map((p) => ({ name: p.name, role: p.role }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A new token for `name` (unique) with `role`; the token is returned once and never shown again. */
  create(name: string, role: Role): TokenHolder & { token: string } {
    if (!HOLDER.test(name))
      throw new DaqError(
        'BAD_REQUEST',
        'a token holder is named by 1–64 of a-z 0-9 . _ -, starting with a letter',
        {
          field: 'name',
        },
      );
    if (!(roles as readonly string[]).includes(role))
      throw new DaqError('BAD_REQUEST', `role must be one of ${roles.join(', ')}`, { field: 'role' });
    if ([...this.book.values()].some((p) => p.name === name))
      throw new DaqError('ILLEGAL_TRANSITION', `${name} holds a token already: revoke it first`, {
        field: 'name',
      });
    const token = randomBytes(24).toString('base64url');
    this.book.set(token, { name, role });
    this.save();
    return { name, role, token };
  }

  /** Revokes `name`'s token: the next call with it is 401. */
  revoke(name: string): TokenHolder {
    const entry = [...this.book].find(([, p]) => p.name === name);
    if (entry === undefined) throw new DaqError('NOT_FOUND', `no token holder ${name}`, { field: 'name' });
    if (entry[1].role === 'admin' && [...this.book.values()].filter((p) => p.role === 'admin').length === 1)
      throw new DaqError(
        'ILLEGAL_TRANSITION',
        `${name} holds the last admin token: create another admin first`,
        {
          field: 'name',
        },
      );
    this.book.delete(entry[0]);
    this.save();
    return { name: entry[1].name, role: entry[1].role };
  }

  private save(): void {
    if (this.file === undefined) return;
    const doc = {
      ...(this.joinToken === undefined ? {} : { joinToken: this.joinToken }),
      tokens: [...this.book].map(([token, p]) => ({ name: p.name, role: p.role, token })),
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `# daqops platform tokens; keep private\n${stringify(doc)}`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
