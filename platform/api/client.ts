/** A small client of the platform API for the `daqops env|run` commands. */
import { DaqError } from '../../protocol/errors.js';

/** The platform refused a call: status, code and message as it answered. */
export class PlatformApiError extends Error {
  override readonly name = 'PlatformApiError';
}

export class PlatformClient {
  constructor(
    readonly url: string,
    private readonly token: string | undefined,
  ) {}

  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let r: Response;
    try {
      r = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new DaqError('TIMEOUT', `no platform answers at ${this.url}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const json: unknown = await r.json();
    if (!r.ok) {
      const e = json as { code?: string; message?: string };
      throw new PlatformApiError(`${r.status} ${e.code ?? ''}: ${e.message ?? JSON.stringify(json)}`);
    }
    return json as T;
  }
}
