/**
 * Bearer tokens with roles, from a tokens file (`tokens: [{ token, name, role }]`, `joinToken`).
 * Roles are ordered: viewer < shifter < expert < admin; a route names the least role it needs.
 */
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
