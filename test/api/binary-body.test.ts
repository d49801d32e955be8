import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { readBinaryBody, SlottedBody, type BinaryBodyConfig } from '../../src/api/binary-body.js';
import { BATCH_ALIGNMENT, batchBodyParts } from '../../src/wire/chunk-batch.js';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { CairnError } from '../../src/domain/errors.js';

describe('binary request bodies', () => {
  let app: FastifyInstance;
  const recycler = new BufferRecycler(16, { keep: 4, shared: true });
  // The slots a batch body's blobs are read into, one to a slot (the server's are blobSlotPool's).
  const blobSlots = new BufferRecycler(BATCH_ALIGNMENT, { keep: 4, shared: true });
  before(async () => {
    app = Fastify();
    app.addContentTypeParser('application/octet-stream', (req: FastifyRequest, payload: IncomingMessage) => readBinaryBody(req, payload, blobSlots));
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
    // As the batch upload route does: the blob lengths come from the query.
    const bodyBlobs = (req: FastifyRequest) => {
      const lengths = (req.query as { lengths?: string }).lengths;
      return lengths ? lengths.split(',').map(Number) : null;
    };
    app.put('/slotted', { bodyLimit: 4 * BATCH_ALIGNMENT, config: { bodyBlobs } satisfies BinaryBodyConfig }, async (req) => {
      const body = req.body;
      if (!(body instanceof SlottedBody)) return { whole: (body as Buffer).length };
      const answer = {
        blobs: body.blobs.map(String),
        // Each in a slot of its own (aligned for direct I/O by the recycler).
        ownSlots: new Set(body.blobs.map((b) => b.buffer)).size === body.blobs.length,
        shared: body.blobs.every((b) => b.buffer instanceof SharedArrayBuffer),
      };
      body.release();
      return answer;
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

  it('reads a batch body one blob to a slot, where its length agrees with the blobs named', async () => {
    const blobs = [Buffer.from('first blob'), Buffer.from('b'), Buffer.alloc(BATCH_ALIGNMENT, 'x')];
    const slotted = (lengths: string, payload: Buffer) =>
      app.inject({ method: 'PUT', url: `/slotted?lengths=${lengths}`, headers: { 'content-type': 'application/octet-stream' }, payload });
    const body = Buffer.concat(batchBodyParts(blobs));
    const res = await slotted('10,1,4096', body);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { blobs: blobs.map(String), ownSlots: true, shared: true });
    // Lengths that do not add up to the body: one buffer, for the route to refuse.
    assert.deepEqual((await slotted('10,1', body)).json(), { whole: body.length });
    // A body shorter than announced is refused, and its slots go back.
    const short = await app.inject({
      method: 'PUT',
      url: '/slotted?lengths=10,1,4096',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      payload: Readable.from([body.subarray(0, 100)]),
    });
    assert.equal(short.statusCode, 400);
  });
});

describe('leases of blob slots', () => {
  it('give each slot back exactly once: a second release is an error', async () => {
    const slots = new BufferRecycler(BATCH_ALIGNMENT, { keep: 4, shared: true });
    const lease = slots.leaseOf([10, 1]);
    assert.deepEqual(lease.blobs.map((b) => b.length), [10, 1]);
    assert.equal(slots.spare, 0);
    lease.release();
    assert.equal(slots.spare, 2, 'both slots are back');
    assert.throws(() => lease.release(), /released already/);
    assert.equal(slots.spare, 2, 'and not twice');
    // A lease whose filling fails gives its slots back at once, and is never handed out.
    await assert.rejects(
      slots.lease(3, () => Promise.reject(new Error('disk on fire'))),
      /disk on fire/,
    );
    assert.equal(slots.spare, 3);
    const read = await slots.lease(1, async ([slot]) => [slot!.subarray(0, 5)]);
    assert.equal(slots.spare, 2);
    read.release();
    assert.equal(slots.spare, 3);
  });
});
