import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '../domain/errors.js';
import { Lease, type BufferRecycler } from '../compute/buffer-recycler.js';
import { BATCH_LENGTHS_HEADER, batchBodyLength, batchSlot } from '../wire/chunk-batch.js';
import { readInto, readIntoParts } from '../io/read-into.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The slots chunk blobs are received and sent in, one blob to a slot (blobSlotPool in app.ts). */
    blobSlots: BufferRecycler;
  }
}

/** Answers with the lease's one blob; its slot goes back once the answer has left. */
export function sendChunk(reply: FastifyReply, lease: Lease): FastifyReply {
  releaseWhenSent(reply, lease);
  return reply.type('application/octet-stream').send(lease.blobs[0]);
}

/**
 * Answers with the lease's blobs back to back, their lengths in the
 * BATCH_LENGTHS_HEADER header (chunk-batch.ts); no copy joins them, and the
 * slots go back once the answer has left.
 */
export function sendChunks(reply: FastifyReply, lease: Lease): FastifyReply {
  releaseWhenSent(reply, lease);
  const { blobs } = lease;
  return reply
    .type('application/octet-stream')
    .header(BATCH_LENGTHS_HEADER, blobs.map((b) => b.length).join(','))
    .header('content-length', blobs.reduce((sum, b) => sum + b.length, 0))
    .send(Readable.from(blobs));
}

function releaseWhenSent(reply: FastifyReply, lease: Lease): void {
  // 'finish': every byte is with the kernel. A connection cut short never
  // finishes, and those slots are left to the collector instead.
  reply.raw.once('finish', () => lease.release());
}

/**
 * A route whose config names `bodyBuffers` gets its body in a buffer from that
 * recycler (when it fits), and gives it back when it is done with it. One
 * whose config says which blobs the body carries (`bodyBlobs`, their lengths,
 * each padded to BATCH_ALIGNMENT as chunk-batch.ts lays them out) gets them
 * read one to a blob slot, as a SlottedBody, when the body's length agrees;
 * any other body comes as one buffer, for the route to refuse.
 */
export interface BinaryBodyConfig {
  bodyBuffers?: BufferRecycler;
  bodyBlobs?: (req: FastifyRequest) => readonly number[] | null;
}

/** A batch body read one blob to a slot: a lease of those slots, which the route releases once it is done. */
export { Lease as SlottedBody };

/**
 * Reads an application/octet-stream body (a chunk blob, a manifest) into one
 * buffer sized from Content-Length up front. Fastify's own buffer parser keeps
 * every piece and concatenates them at the end, which copies each chunk once
 * more; and the buffer made here owns its memory, so it can go to a worker
 * thread for verifying and come back without a copy either.
 */
export async function readBinaryBody(req: FastifyRequest, payload: IncomingMessage, blobSlots: BufferRecycler): Promise<Buffer | Lease> {
  const limit = req.routeOptions.bodyLimit ?? 1024 * 1024;
  const tooLarge = () => new CairnError(413, 'too_large', `The request body is larger than the ${limit} bytes this endpoint accepts.`);
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  if (declared !== undefined && !Number.isSafeInteger(declared)) throw new CairnError(400, 'bad_request', 'The Content-Length header is not a number of bytes.');
  if (declared !== undefined && declared > limit) {
    payload.resume(); // drain, so the answer can be read on a kept-alive connection
    throw tooLarge();
  }

  if (declared !== undefined) {
    const config = req.routeOptions.config as BinaryBodyConfig | undefined;
    const blobs = config?.bodyBlobs?.(req);
    if (blobs && batchBodyLength(blobs) === declared) return readSlotted(payload, blobSlots.leaseOf(blobs), declared);
    const buffers = config?.bodyBuffers;
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

async function readSlotted(payload: IncomingMessage, body: Lease, declared: number): Promise<Lease> {
  try {
    // Each blob with the zeros that pad it, as the batch body lays them out.
    if (!(await readIntoParts(payload, body.blobs.map(({ length }, i) => body.buffers[i]!.subarray(0, batchSlot(length))))))
      throw new CairnError(400, 'bad_request', `The request body did not hold the ${declared} bytes its Content-Length announced.`);
  } catch (err) {
    body.release();
    throw err;
  }
  return body;
}
