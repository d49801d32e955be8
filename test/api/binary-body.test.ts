import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { readBinaryBody, type BinaryBodyConfig } from '../../src/api/binary-body.js';
import { BufferRecycler } from '../../src/engine/buffer-recycler.js';
import { CairnError } from '../../src/domain/errors.js';

describe('binary request bodies', () => {
  let app: FastifyInstance;
  const recycler = new BufferRecycler(16, { keep: 4, shared: true });
  before(async () => {
    app = Fastify();
    app.addContentTypeParser('application/octet-stream', (req: FastifyRequest, payload: IncomingMessage) => readBinaryBody(req, payload));
    app.setErrorHandler((err, _req, reply) => {
      const status = err instanceof CairnError ? err.status : 500;
      return reply.status(status).send({ code: err instanceof CairnError ? err.code : 'internal' });
    });
    app.put('/blob', { bodyLimit: 16 }, async (req) => {
      const body = req.body as Buffer;
      // The buffer owns its memory, so it can be transferred to a worker thread.
      return { length: body.length, owns: body.byteOffset === 0 && body.buffer.byteLength === body.length, text: body.toString() };
    });
    app.put('/recycled', { bodyLimit: 16, config: { bodyBuffers: recycler } satisfies BinaryBodyConfig }, async (req) => {
      const body = req.body as Buffer;
      const shared = body.buffer instanceof SharedArrayBuffer;
      recycler.give(body);
      return { text: body.toString(), shared };
    });
    await app.ready();
  });
  after(() => app.close());

  const put = (payload: Buffer | Readable, headers: Record<string, string> = {}) =>
    app.inject({ method: 'PUT', url: '/blob', headers: { 'content-type': 'application/octet-stream', ...headers }, payload });

  it('reads a body of announced length into one buffer of its own', async () => {
    const res = await put(Buffer.from('sixteen bytes!!!'));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { length: 16, owns: true, text: 'sixteen bytes!!!' });
  });

  it('refuses a body announced larger than the route allows, with 413', async () => {
    const res = await put(Buffer.alloc(17));
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'too_large');
  });

  it('reads a chunked body within the limit, and refuses one past it', async () => {
    const ok = await put(Readable.from([Buffer.from('abc'), Buffer.from('def')]));
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { length: 6, owns: true, text: 'abcdef' });
    const big = await put(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]));
    assert.equal(big.statusCode, 413);
  });

  it('reads into a recycled buffer when the route names a recycler, and reuses it', async () => {
    const first = await app.inject({ method: 'PUT', url: '/recycled', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('first body') });
    assert.deepEqual(first.json(), { text: 'first body', shared: true });
    const taken = recycler.take();
    assert.equal(taken.subarray(0, 10).toString(), 'first body', 'the buffer given back is the one handed out next');
    recycler.give(taken);
    const second = await app.inject({ method: 'PUT', url: '/recycled', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('second') });
    assert.deepEqual(second.json(), { text: 'second', shared: true });
  });

  it('refuses a Content-Length that is not a number', async () => {
    const res = await put(Buffer.from('abc'), { 'content-length': 'three' });
    assert.equal(res.statusCode, 400);
  });
});
