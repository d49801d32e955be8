import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CairnError } from '../domain/errors.js';
import { BufferRecycler } from '../compute/buffer-recycler.js';
import { BATCH_LENGTHS_HEADER, batchBodyLength, batchSlot, BLOB_SLOT } from '../wire/chunk-batch.js';
import { DIRECT_IO_ALIGNMENT } from '../io/disk-io.js';
import { readInto, readIntoParts } from '../io/read-into.js';

/**
 * The memory every chunk blob the server receives or sends sits in, one blob
 * to a slot (the largest blob, in whole blocks), reused across requests (like
 * Node's own small-buffer pool, one per process): a fresh buffer per chunk
 * left tens of megabytes of garbage between collections. Uploads and reads
 * draw on the same slots, so a server that took a backup restores it in the
 * same memory rather than in more: with a buffer per request sized for four
 * blobs, a restore's reads held 229–248 MB at the server's peak on the 8 GiB
 * benchmark disk. Incoming blobs are verified by the chunk pool, so the slots
 * are shared memory it reads in place; they are aligned, so that the
 * chunk store writes and reads them around the page cache (LocalChunkStore).
 * Sixteen are kept, what a client moving three batches of four holds with
 * room to spare; a burst beyond that allocates, and the collector takes the
 * surplus back, where keeping it would hold the server's memory at its
 * highest. `cairn serve` faults in the twelve one backup fills as it starts
 * (prefill): a fresh server otherwise paid for that as their blobs arrived,
 * on its main thread, where page faults took 10% of the time (perf, 2 GiB
 * benchmark disk; on our test VM each MiB of fresh memory costs 1–2 ms);
 * prefilled (all sixteen, in that test), the full backup was faster in 7 of
 * 8 A/B pairs (median 3.08 → 3.01 s), and with twelve it took no slot of its
 * own.
 */
export const blobSlots = new BufferRecycler(BLOB_SLOT, { shared: true, keep: 16, align: DIRECT_IO_ALIGNMENT });

/** Answers with a blob that `read` puts into a slot of blobSlots, which goes back once the answer has left. */
export async function sendChunk(reply: FastifyReply, read: (into: Buffer) => Promise<Buffer>): Promise<FastifyReply> {
  const [blob] = await readIntoSlots(reply, 1, async ([into]) => [await read(into!)]);
  return reply.type('application/octet-stream').send(blob);
}

/**
 * Answers with `count` blobs back to back, their lengths in the
 * BATCH_LENGTHS_HEADER header (chunk-batch.ts), as `read` puts them into
 * slots of blobSlots; no copy joins them.
 */
export async function sendChunks(reply: FastifyReply, count: number, read: (into: Buffer[]) => Promise<Buffer[]>): Promise<FastifyReply> {
  const blobs = await readIntoSlots(reply, count, read);
  return reply
    .type('application/octet-stream')
    .header(BATCH_LENGTHS_HEADER, blobs.map((b) => b.length).join(','))
    .header('content-length', blobs.reduce((sum, b) => sum + b.length, 0))
    .send(Readable.from(blobs));
}

/** Blobs read by `read` into slots of blobSlots (count ≤ MAX_READ_CHUNKS), which go back once the answer has left. */
async function readIntoSlots(reply: FastifyReply, count: number, read: (into: Buffer[]) => Promise<Buffer[]>): Promise<Buffer[]> {
  const { blobs, release } = await readIntoBlobSlots(count, read);
  // 'finish': every byte is with the kernel. A connection cut short never
  // finishes, and those slots are left to the collector instead.
  reply.raw.once('finish', release);
  return blobs;
}

/**
 * Blobs read by `read` into `count` slots of blobSlots, and how to give the
 * slots back once the blobs are sent; if `read` fails they go back at once.
 */
export async function readIntoBlobSlots(count: number, read: (into: Buffer[]) => Promise<Buffer[]>): Promise<{ blobs: Buffer[]; release(): void }> {
  const into = Array.from({ length: count }, () => blobSlots.take());
  const release = (): void => into.forEach((slot) => blobSlots.give(slot));
  try {
    return { blobs: await read(into), release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * A route whose config names `bodyBuffers` gets its body in a buffer from that
 * recycler (when it fits), and gives it back when it is done with it. One
 * whose config says which blobs the body carries (`bodyBlobs`, their lengths,
 * each padded to BATCH_ALIGNMENT as chunk-batch.ts lays them out) gets them
 * read one to a slot of blobSlots, as a SlottedBody, when the body's length
 * agrees; any other body comes as one buffer, for the route to refuse.
 */
export interface BinaryBodyConfig {
  bodyBuffers?: BufferRecycler;
  bodyBlobs?: (req: FastifyRequest) => readonly number[] | null;
}

/** A batch body read one blob to a slot of blobSlots; `release` gives the slots back. */
export class SlottedBody {
  constructor(
    readonly blobs: Buffer[],
    private readonly slots: Buffer[],
  ) {}

  release(): void {
    for (const slot of this.slots) blobSlots.give(slot);
  }
}

/**
 * Reads an application/octet-stream body (a chunk blob, a manifest) into one
 * buffer sized from Content-Length up front. Fastify's own buffer parser keeps
 * every piece and concatenates them at the end, which copies each chunk once
 * more; and the buffer made here owns its memory, so it can go to a worker
 * thread for verifying and come back without a copy either.
 */
export async function readBinaryBody(req: FastifyRequest, payload: IncomingMessage): Promise<Buffer | SlottedBody> {
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
    if (blobs && batchBodyLength(blobs) === declared) return readSlotted(payload, blobs, declared);
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

async function readSlotted(payload: IncomingMessage, lengths: readonly number[], declared: number): Promise<SlottedBody> {
  const slots = lengths.map(() => blobSlots.take());
  const body = new SlottedBody(
    lengths.map((length, i) => slots[i]!.subarray(0, length)),
    slots,
  );
  try {
    if (!(await readIntoParts(payload, lengths.map((length, i) => slots[i]!.subarray(0, batchSlot(length))))))
      throw new CairnError(400, 'bad_request', `The request body did not hold the ${declared} bytes its Content-Length announced.`);
  } catch (err) {
    body.release();
    throw err;
  }
  return body;
}
