/**
 * The live feed of the API (`GET /api/v1/live`, server-sent events, the same bearer token as every call):
 * one `change` event per environment, incident, run or agent that changed, coalesced over 200 ms, and a
 * comment line every 15 s so proxies keep the connection. Bounded: at most MAX_CLIENTS feeds, and a client
 * that does not read (1 MiB unsent) is cut off — it reconnects and refetches what it shows. A feed ends
 * when its holder's token is revoked: what changes after that is not theirs to see, and the page's
 * reconnect meets the 401 that sends it back to the login.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { DaqError } from '../../protocol/errors.js';
import type { Change, Platform } from '../platform.js';

export const MAX_CLIENTS = 64;
const COALESCE_MS = 200;
const HEARTBEAT_MS = 15_000;
const MAX_UNSENT_BYTES = 1024 * 1024;

interface Client {
  readonly res: ServerResponse;
  /** Who the feed's token belongs to. */
  readonly holder: string;
  readonly pending: Map<string, Change>;
  timer: NodeJS.Timeout | undefined;
}

export class LiveFeed {
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(platform: Platform) {
    this.unsubscribe = platform.subscribe((c) => {
      for (const client of this.clients) this.queue(client, c);
    });
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) this.write(c, ': ping\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over the reply as an event stream (after authentication). */
  attach(reply: FastifyReply, holder: string): void {
    if (this.clients.size >= MAX_CLIENTS)
      throw new DaqError(
        'TOO_MANY_CLIENTS',
        `the platform serves ${MAX_CLIENTS} live feeds already; retry later`,
      );
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { res, holder, pending: new Map(), timer: undefined };
    this.clients.add(client);
    res.on('close', () => this.drop(client));
    this.write(client, 'retry: 2000\n\n');
  }

  /** Ends the feeds of a holder whose token was revoked; how many it ended. */
  cut(holder: string): number {
    let n = 0;
    for (const c of [...this.clients]) {
      if (c.holder !== holder) continue;
      c.res.end();
      this.drop(c);
      n++;
    }
    return n;
  }

  /** Ends every feed (the server is closing). */
  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const c of [...this.clients]) {
      c.res.end();
      this.drop(c);
    }
  }

  private queue(client: Client, c: Change): void {
    client.pending.set(`${c.kind}|${c.id}`, c);
    client.timer ??= setTimeout(() => {
      client.timer = undefined;
      const batch = [...client.pending.values()];
      client.pending.clear();
      for (const change of batch) this.write(client, `event: change\ndata: ${JSON.stringify(change)}\n\n`);
    }, COALESCE_MS);
  }

  private write(client: Client, text: string): void {
    if (client.res.writableLength > MAX_UNSENT_BYTES) {
      client.res.destroy();
      this.drop(client);
      return;
    }
    client.res.write(text);
  }

  private drop(client: Client): void {
    if (client.timer !== undefined) clearTimeout(client.timer);
    this.clients.delete(client);
  }
}
