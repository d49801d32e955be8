import type { Duplex } from 'node:stream';
import { CairnError } from '../domain/errors.js';
import type { ErrorBody } from '../contract/index.js';
import type { UploadChunk } from '../pipeline/backup-pipeline.js';
import { batchBodyParts, batchReplyLengths, ChunkBatchError, formatBatchQuery, replySlots } from '../wire/chunk-batch.js';
import { CHUNK_STREAM_PROTOCOL, encodeFrame, FrameTextReader } from '../wire/frames.js';
import { PartsFiller } from '../io/read-into.js';
import { readsInto, sealBuffersWhereTheyLie } from '../runtime/index.js';
import { describeNetworkError, ServerUnreachableError, type CairnClient } from './http-client.js';

/** A refusal as the server sends it, as the last frame of a stream. */
/** A refusal frame: the HTTP status the request would have had, and its error body. */
type StreamRefusal = Partial<ErrorBody> & { status?: number };

/** A frame's JSON; a frame that holds none makes the stream malformed. */
function jsonFrame<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ChunkBatchError('an answer frame that is not JSON');
  }
}

/**
 * What the client's chunk streams (src/api/chunk-stream.ts) have in common:
 * one exchange at a time, each answered before the next goes; a refusal or a
 * lost connection ends the stream, and a stream idle for REUSE_MS is not used
 * again, well before the server closes it (after two minutes).
 */
export abstract class FramedStream<T> {
  /** Idle longer than this, a stream is not used again: the server closes streams idle for two minutes. */
  static readonly REUSE_MS = 30_000;

  private idleSince = Date.now();
  private waiting: { resolve(answer: T): void; reject(err: unknown): void } | null = null;
  private failure: unknown = null;
  protected readonly socket: Duplex;

  protected constructor(
    socket: Duplex,
    head: Buffer,
    protected readonly server: string,
  ) {
    const onBytes = (piece: Buffer): void => this.receivedOrFail(piece);
    this.socket = readsInto(socket, onBytes, { target: () => this.target() });
    sealBuffersWhereTheyLie(this.socket);
    // A stream that breaks is a server gone, as a request that finds none is.
    this.socket.on('error', (err) => this.fail(new ServerUnreachableError(server, describeNetworkError(err))));
    this.socket.on('close', () => this.fail(new ServerUnreachableError(server, 'the connection closed before the server answered')));
    // After the subclass's own fields are set up.
    if (head.length > 0) queueMicrotask(() => onBytes(head));
  }

  /** Whether the stream can take another exchange. */
  get usable(): boolean {
    return this.failure === null && Date.now() - this.idleSince < FramedStream.REUSE_MS;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Writes what `send` writes and waits for the answer that `received` settles. */
  protected async exchange(send: () => void, signal: AbortSignal | undefined): Promise<T> {
    if (this.failure !== null) throw this.failure;
    if (this.waiting) throw new Error('a chunk stream takes one exchange at a time');
    const answered = new Promise<T>((resolve, reject) => (this.waiting = { resolve, reject }));
    const abort = (): void => {
      this.fail(signal?.reason);
      this.socket.destroy();
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      // Corked, a frame and what follows it leave in one writev, as a request's would.
      this.socket.cork();
      send();
      this.socket.uncork();
      return await answered;
    } finally {
      signal?.removeEventListener('abort', abort);
      this.idleSince = Date.now();
    }
  }

  /** Takes bytes from the server; calls `answer` once the exchange's answer is whole. Throws ChunkBatchError for malformed ones. */
  protected abstract received(piece: Buffer): void;

  /** Where the next bytes from the server belong, if somewhere of the exchange's own (see readsInto). */
  protected target(): Buffer | null {
    return null;
  }

  protected get expecting(): boolean {
    return this.waiting !== null;
  }

  protected answer(value: T): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.resolve(value);
  }

  /** The stream's refusal frame, which ends it, as the error it names. */
  protected refused(refusal: StreamRefusal): void {
    const { code = 'error', message = 'The server refused the request.', field } = refusal.error ?? {};
    this.fail(new CairnError(refusal.status ?? 500, code, message, field));
  }

  private receivedOrFail(piece: Buffer): void {
    try {
      this.received(piece);
    } catch (err) {
      if (!(err instanceof ChunkBatchError)) throw err;
      this.fail(new CairnError(502, 'bad_response', `The server at ${this.server} sent a malformed chunk stream: ${err.message}.`));
      this.socket.destroy();
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(this.failure);
  }
}

/**
 * An upload's chunk stream: batches sent one after another over one
 * connection, each answered once the server has stored it, before the next goes.
 */
export class ChunkStream extends FramedStream<{ digest: string; stored: boolean }[]> {
  private readonly answers = new FrameTextReader();

  /** A stream for the upload `uploadId`; null when the server offers none (batches then go as requests). */
  static async open(client: CairnClient, uploadId: string, signal?: AbortSignal): Promise<ChunkStream | null> {
    const taken = await client.upgrade(`/api/v1/uploads/${encodeURIComponent(uploadId)}/chunk-stream`, CHUNK_STREAM_PROTOCOL, signal);
    return taken && new ChunkStream(taken.socket, taken.head, client.server);
  }

  /**
   * Sends one batch (at most what one batch request carries) and resolves once
   * the server has stored it; the blobs' memory is not needed after that.
   */
  send(chunks: UploadChunk[], signal?: AbortSignal): Promise<{ digest: string; stored: boolean }[]> {
    return this.exchange(() => {
      this.socket.write(encodeFrame(formatBatchQuery(chunks.map(({ digest, blob }) => ({ digest, length: blob.length })))));
      for (const part of batchBodyParts(chunks.map((c) => c.blob))) this.socket.write(part);
    }, signal);
  }

  protected received(piece: Buffer): void {
    for (let at = 0; at < piece.length; ) {
      const taken = this.answers.take(piece.subarray(at));
      at += taken.used;
      if (taken.text === undefined) continue;
      const answer = jsonFrame<StreamRefusal & { chunks?: { digest: string; stored: boolean }[] }>(taken.text);
      if (answer.error) this.refused(answer);
      else this.answer(answer.chunks ?? []);
    }
  }
}

/**
 * A restore's chunk stream, for a point's or an image's chunks: reads asked
 * one after another, each answered with its blobs, which libuv reads into
 * one buffer a megabyte at a time and which are copied from there into their
 * slots, or which it reads into the slots themselves (readsInto). Through
 * HTTP, each 64 KiB of a body is a fresh buffer, copied once more by the
 * parser, and garbage soon after.
 */
export class ChunkReadStream extends FramedStream<Buffer[]> {
  private readonly frames = new FrameTextReader();
  private asked: { digests: string[]; into: Buffer } | null = null;
  private blobs: { slots: Buffer[]; filler: PartsFiller } | null = null;

  /** A stream for the chunks under `base` (`/api/v1/points/ss-…`, `/api/v1/images/img-…`); null when the server offers none. */
  static async open(client: CairnClient, base: string, signal?: AbortSignal): Promise<ChunkReadStream | null> {
    const taken = await client.upgrade(`${base}/chunk-stream`, CHUNK_STREAM_PROTOCOL, signal);
    return taken && new ChunkReadStream(taken.socket, taken.head, client.server);
  }

  /** The blobs of `digests` (at most MAX_READ_CHUNKS), each read into its slot of `into` (replySlots), as a batch read answers. */
  fetch(digests: string[], signal: AbortSignal | undefined, into: Buffer): Promise<Buffer[]> {
    return this.exchange(() => {
      this.asked = { digests, into };
      this.socket.write(encodeFrame(digests.join(',')));
    }, signal);
  }

  protected override target(): Buffer | null {
    return this.blobs?.filler.pending ?? null;
  }

  protected received(piece: Buffer): void {
    for (let at = 0; at < piece.length; ) {
      if (!this.expecting || !this.asked) throw new ChunkBatchError('bytes that nothing asked for');
      if (!this.blobs) {
        const taken = this.frames.take(piece.subarray(at));
        at += taken.used;
        if (taken.text === undefined) continue;
        // Lengths are digits; a refusal is JSON.
        if (taken.text.startsWith('{')) {
          this.refused(jsonFrame(taken.text));
          return;
        }
        const slots = replySlots(batchReplyLengths(this.asked.digests, taken.text), this.asked.into);
        if (!slots) throw new ChunkBatchError('an answer that lists a blob longer than any chunk\'s');
        this.blobs = { slots, filler: new PartsFiller(slots) };
      }
      at += this.blobs.filler.take(piece.subarray(at));
      if (!this.blobs.filler.full) continue;
      const { slots } = this.blobs;
      this.blobs = null;
      this.asked = null;
      this.answer(slots);
    }
  }
}

/**
 * The streams of one transfer kept between exchanges, one per exchange in
 * flight; `open` makes more as needed, until the server says it offers none
 * (a proxy drops the Upgrade header): then `take` says so with null.
 */
export class StreamKeeper<S extends FramedStream<unknown>> {
  private readonly idle: S[] = [];
  private offered = true;

  constructor(private readonly open: (signal?: AbortSignal) => Promise<S | null>) {}

  /** A kept stream that can take an exchange, or a new one; null where the server takes none. */
  async take(signal?: AbortSignal): Promise<S | null> {
    for (let stream = this.idle.pop(); stream; stream = this.idle.pop()) {
      if (stream.usable) return stream;
      stream.close();
    }
    if (!this.offered) return null;
    const stream = await this.open(signal);
    if (!stream) this.offered = false;
    return stream;
  }

  /** Keeps a stream taken for another exchange (one that failed is closed at the next take). */
  give(stream: S): void {
    this.idle.push(stream);
  }

  /** Closes the streams kept. */
  close(): void {
    for (const stream of this.idle.splice(0)) stream.close();
  }
}
