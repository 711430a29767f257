/** Tokens an admin manages: who holds one (never the tokens), give one (shown once), revoke. */
import type { Platform } from '../../platform.js';
import type { TokenStore } from '../auth.js';
import { route, type Route } from '../route.js';
import * as R from '../responses.js';
import * as S from '../schemas.js';

/** `revoked`: a holder's token is gone (their live feeds end). */
export function tokenRoutes(
  platform: Platform,
  book: TokenStore,
  revoked: (holder: string) => void = () => {},
): Route[] {
  return [
    route({
      method: 'GET',
      url: '/api/v1/tokens',
      role: 'admin',
      summary: 'Who holds a token, and with which role (never the tokens)',
      ok: { status: 200, schema: R.arrayOf(R.tokenHolder) },
      handler: () => book.holders(),
    }),
    route({
      method: 'POST',
      url: '/api/v1/tokens',
      role: 'admin',
      summary: 'A new token for a person, with a role; the token is in this answer only',
      body: S.createTokenBody,
      ok: { status: 201, schema: R.newToken },
      errors: [409],
      handler: ({ body, who }) => platform.createToken(book, body.name, body.role, who),
    }),
    route({
      method: 'POST',
      url: '/api/v1/tokens/:name/revoke',
      role: 'admin',
      summary: "Revoke a person's token: their next call is 401, and their live feeds end",
      params: S.holderParams,
      ok: { status: 200, schema: R.tokenHolder },
      errors: [409],
      handler: ({ params, who }) => {
        const gone = platform.revokeToken(book, params.name, who);
        revoked(gone.name);
        return gone;
      },
    }),
  ];
}
