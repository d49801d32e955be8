import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '../domain/errors.js';
import { BufferRecycler } from '../engine/buffer-recycler.js';
import { BATCH_LENGTHS_HEADER, BLOB_SLOT, MAX_BATCH_BODY } from '../engine/chunk-batch.js';
import { MAX_BLOB_SIZE } from '../engine/chunk-codec.js';
import { DIRECT_IO_ALIGNMENT } from '../io/disk-io.js';
import { readInto } from '../io/read-into.js';

/**
 * Buffers for chunk blobs coming in and going out, reused across requests (like
 * Node's own small-buffer pool, one per process): a fresh buffer per chunk left
 * tens of megabytes of garbage between collections. Incoming blobs are verified
 * by a pool worker, so they live in shared memory the worker reads in place.
 * Eight of each are kept, for clients that move one chunk per request (the
 * CLI sends and reads several, below): a burst beyond that allocates, and the
 * collector takes the surplus back, where keeping it would hold the server's
 * memory at its highest.
 * Both are aligned, so that the chunk store can write and read them around the
 * page cache (see LocalChunkStore).
 */
export const chunkBodyBuffers = new BufferRecycler(MAX_BLOB_SIZE, { shared: true, keep: 8, align: DIRECT_IO_ALIGNMENT });
/**
 * The same for requests carrying several chunks (chunk-batch.ts), and for
 * answers with several: a client keeps two of either in flight, and a server
 * that took a backup restores it in the same memory rather than in more.
 */
export const batchBodyBuffers = new BufferRecycler(MAX_BATCH_BODY, { shared: true, keep: 4, align: DIRECT_IO_ALIGNMENT });
// A direct read fills whole blocks, so a reply buffer holds the largest blob rounded up to one.
const chunkReplyBuffers = new BufferRecycler(BLOB_SLOT, { keep: 8, align: DIRECT_IO_ALIGNMENT });

/** Answers with a blob that `read` puts into a recycled buffer, which comes back once the answer has left. */
export async function sendChunk(reply: FastifyReply, read: (into: Buffer) => Promise<Buffer>): Promise<FastifyReply> {
  const [blob] = await readIntoReplyBuffers(reply, 1, async ([into]) => [await read(into!)]);
  return reply.type('application/octet-stream').send(blob);
}

/**
 * Answers with `count` blobs back to back, their lengths in the
 * BATCH_LENGTHS_HEADER header (chunk-batch.ts), as `read` puts them into
 * recycled buffers; no copy joins them.
 */
export async function sendChunks(reply: FastifyReply, count: number, read: (into: Buffer[]) => Promise<Buffer[]>): Promise<FastifyReply> {
  const blobs = await readIntoReplyBuffers(reply, count, read);
  return reply
    .type('application/octet-stream')
    .header(BATCH_LENGTHS_HEADER, blobs.map((b) => b.length).join(','))
    .header('content-length', blobs.reduce((sum, b) => sum + b.length, 0))
    .send(Readable.from(blobs));
}

/** Blobs read by `read` into the slots of one recycled buffer (count ≤ MAX_READ_CHUNKS). */
async function readIntoReplyBuffers(reply: FastifyReply, count: number, read: (into: Buffer[]) => Promise<Buffer[]>): Promise<Buffer[]> {
  const recycler = count > 1 ? batchBodyBuffers : chunkReplyBuffers;
  const buffer = recycler.take();
  const into = Array.from({ length: count }, (_, i) => buffer.subarray(i * BLOB_SLOT, (i + 1) * BLOB_SLOT));
  let blobs: Buffer[];
  try {
    blobs = await read(into);
  } catch (err) {
    recycler.give(buffer);
    throw err;
  }
  // 'finish': every byte is with the kernel. A connection cut short never
  // finishes, and that buffer is left to the collector instead.
  reply.raw.once('finish', () => recycler.give(buffer));
  return blobs;
}

/**
 * A route whose config names `bodyBuffers` gets its body in a buffer from that
 * recycler (when it fits), and gives it back when it is done with it.
 */
export interface BinaryBodyConfig {
  bodyBuffers?: BufferRecycler;
}

/**
 * Reads an application/octet-stream body (a chunk blob, a manifest) into one
 * buffer sized from Content-Length up front. Fastify's own buffer parser keeps
 * every piece and concatenates them at the end, which copies each chunk once
 * more; and the buffer made here owns its memory, so it can go to a worker
 * thread for verifying and come back without a copy either.
 */
export async function readBinaryBody(req: FastifyRequest, payload: IncomingMessage): Promise<Buffer> {
  const limit = req.routeOptions.bodyLimit ?? 1024 * 1024;
  const tooLarge = () => new CairnError(413, 'too_large', `The request body is larger than the ${limit} bytes this endpoint accepts.`);
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && !Number.isSafeInteger(declared)) throw new CairnError(400, 'bad_request', 'The Content-Length header is not a number of bytes.');
  if (declared !== undefined && declared > limit) {
    payload.resume(); // drain, so the answer can be read on a kept-alive connection
    throw tooLarge();
  }

  if (declared !== undefined) {
    const buffers = (req.routeOptions.config as BinaryBodyConfig | undefined)?.bodyBuffers;
    const target = buffers && declared <= buffers.size ? buffers.take().subarray(0, declared) : Buffer.allocUnsafeSlow(declared);
    const body = await readInto(payload, target, () => {
      throw new CairnError(400, 'bad_request', `The request body ran past its Content-Length of ${declared} bytes.`);
    });
    if (body.length !== declared) throw new CairnError(400, 'bad_request', `The request body ended after ${body.length} of the ${declared} bytes its Content-Length announced.`);
    return body;
  }

  // Chunked transfer encoding: the size is known only at the end.
  const pieces: Buffer[] = [];
  let total = 0;
  for await (const piece of payload as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > limit) throw tooLarge();
    pieces.push(piece);
  }
  const body = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const piece of pieces) at += piece.copy(body, at);
  return body;
}
