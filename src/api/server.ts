import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Services } from '../services/index.js';
import { authenticate } from './auth.js';
import { readBinaryBody } from './binary-body.js';
import { errorBody } from './error-body.js';
import { routeUpgrades } from './chunk-stream.js';
import type { BufferRecycler } from '../compute/buffer-recycler.js';
import { registerRoutes } from './routes/index.js';
import { iaasEndpoint } from './iaas/endpoint.js';
import { registerConsole } from './static.js';
import { answers } from './schemas.js';
import { HealthView } from '../contract/index.js';

export interface ServerOptions {
  logLevel: string;
  version: string;
  engine: string;
  webDir: string | null;
  /** Load balancers whose X-Forwarded-For names the client (request.ip); none by default. */
  trustProxy?: string[];
  /** The slots chunk blobs are received and sent in (blobSlotPool in app.ts). */
  blobSlots: BufferRecycler;
  /** Serve HTTPS with these (readTlsFiles in tls.ts); plain HTTP without. */
  tls?: { cert: Buffer; key: Buffer } | null;
}

export type App = FastifyInstance;

/**
 * Bodies are validated without coercion (a "1" is not a 1) and unknown fields are
 * refused by the schemas; query strings and path parameters are text by nature,
 * so there numbers are parsed.
 */
function validators() {
  const make = (coerceTypes: boolean) => {
    const ajv = new Ajv({ coerceTypes, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
    addFormats.default(ajv);
    return ajv;
  };
  const body = make(false);
  const params = make(true);
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : params).compile(schema);
}

/**
 * Whether a request failed because its client went away before sending all of it
 * (the body's stream aborted), not because of anything the server did.
 */
function clientAborted(raw: IncomingMessage, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return raw.readableAborted || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

export async function buildServer(services: Services, opts: ServerOptions): Promise<App> {
  const app = Fastify({
    logger: { level: opts.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
    ...(opts.trustProxy?.length ? { trustProxy: opts.trustProxy } : {}),
    // Typed as the plain HTTP server: an https.Server is one, plus setSecureContext (tls.ts).
    ...((opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}) as object),
    // A disk's name in a path is up to 128 characters, percent-encoded UTF-8 up to 12 bytes each.
    routerOptions: { maxParamLength: 2048 },
    // What the router refuses before any route (a path parameter too long: 414; a bad URL) answers in the API's error shape too.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = errorBody(err);
      // Typed for no route in particular: any status and body are this reply's.
      void (reply as unknown as FastifyReply).status(status).header('x-content-type-options', 'nosniff').send(body);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // No browser may guess another type than the one an answer declares (a chunk or a file as HTML, say).
  app.addHook('onRequest', (_req, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    done();
  });
  app.setValidatorCompiler(validators());
  app.decorate('blobSlots', opts.blobSlots);
  app.addContentTypeParser('application/octet-stream', (req: FastifyRequest, payload: IncomingMessage) => readBinaryBody(req, payload, opts.blobSlots));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body, headers } = errorBody(err);
    // A client that hung up mid-request (an upload cancelled, a CLI killed) is no fault of the server's:
    // a warning, which chunk routes (logged from warn up, CHUNK_LOG_LEVEL) still show.
    if (clientAborted(req.raw, err)) {
      req.log.warn({ reason: err.message }, 'the client aborted the request');
      return reply.status(400).send({ error: { code: 'aborted', message: 'The client closed the connection before the request was complete.' } });
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (headers) void reply.headers(headers);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `No route ${req.method} ${req.url.split('?')[0]}; the API is described at /api/v1/openapi.json.` } }),
  );

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'Cairn API', version: opts.version, description: 'Backups of disks, shared between accounts.' },
      components: {
        securitySchemes: {
          token: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'cairn_session' },
        },
      },
      security: [{ token: [] }, { session: [] }],
    },
  });
  app.decorateRequest('caller', null);
  app.decorateRequest('csrfToken', null);
  const auth = authenticate(services);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return;
    await auth(req, reply);
  });
  routeUpgrades(app);
  app.get('/api/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/api/v1/health', { config: { public: true }, schema: { tags: ['health'], response: answers({ 200: HealthView }) } }, async () => ({ status: 'ok' as const, version: opts.version, engine: opts.engine }));
  await registerRoutes(app, services);
  await iaasEndpoint(app, services);
  await registerConsole(app, opts.webDir);
  return app;
}
