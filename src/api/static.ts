import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** dist/src/api/static.js → the package's own web/dist, built by `npm run build`. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

// The console loads nothing from elsewhere and is never framed (it acts with the
// session cookie, so a framing page could trick clicks). Radix injects <style> elements, hence 'unsafe-inline' for styles only.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const isApi = (url: string) => url === '/api' || url.startsWith('/api/') || url.startsWith('/api?');

function headersFor(reply: FastifyReply, path: string): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  // Vite names every asset by its content hash, so an asset never changes under its name;
  // index.html names the current ones and must be asked for again each time.
  if (/[\\/]assets[\\/]/.test(path)) reply.header('cache-control', 'public, max-age=31536000, immutable');
  else reply.header('cache-control', 'no-cache');
  if (path.endsWith('.html')) {
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
  }
}

/**
 * Serves the web console at `/` from the same origin as the API. Paths that are
 * not files get index.html, so the console's own routes survive a reload; /api
 * paths never do, and keep their JSON 404.
 */
export async function registerConsole(app: FastifyInstance, webDir: string | null): Promise<void> {
  // @fastify/static wants an absolute root; CAIRN_WEB_DIR may be relative to where the server starts.
  const root = resolve(webDir ?? DEFAULT_WEB_DIR);
  if (!existsSync(join(root, 'index.html'))) {
    app.log.warn({ webDir: root }, 'the web console is not built (no index.html there); run `npm run build`, or point CAIRN_WEB_DIR at a built console. The API works without it.');
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file instead of a catch-all, so that the catch-all below is ours.
    // The files are listed once, at start: a rebuilt console is served after a restart.
    wildcard: false,
    cacheControl: false,
    index: ['index.html'],
    setHeaders: (reply, path) => headersFor(reply, path),
  });
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?')[0]!;
    // A missing asset (a stale tab asking for an old hash) is a 404, not the page.
    if (isApi(path) || /\.[a-z0-9]+$/i.test(path)) return reply.callNotFound();
    return reply.sendFile('index.html');
  });
}
