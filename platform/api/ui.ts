/**
 * The shift crew's web page (platform/ui/): served by the platform at `/`, no build and nothing from
 * outside the platform (no CDN). A fixed set of files read once at start; everything the page shows comes
 * from the API with the token the user logs in with. docs/ui.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { projectRoot } from '../../lib/paths.js';

const JS = 'text/javascript; charset=utf-8';
const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  // One ES module per view; the browser loads them by their imports (no build step).
  'main.js': JS,
  'core.js': JS,
  'views/control.js': JS,
  'views/dataflow.js': JS,
  'views/incidents.js': JS,
  'views/runs.js': JS,
  'views/detector.js': JS,
  'views/tokens.js': JS,
};

/** Scripts and styles from the platform only; the API on the same origin. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function serveUi(app: FastifyInstance, dir = join(projectRoot(), 'platform', 'ui')): void {
  const files = new Map(
    Object.entries(FILES).map(([f, type]) => [f, { type, body: readFileSync(join(dir, f)) }]),
  );
  const send = (name: string) => {
    const f = files.get(name)!;
    return (_req: unknown, reply: FastifyReply) =>
      reply
        .header('content-type', f.type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(f.body);
  };
  app.get('/', send('index.html'));
  for (const name of files.keys()) app.get(`/ui/${name}`, send(name));
}
