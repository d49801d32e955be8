import type { Duplex } from 'node:stream';
import { CairnError } from '../domain/errors.js';
import type { UploadChunk } from '../engine/backup-pipeline.js';
import { batchBodyParts, CHUNK_STREAM_PROTOCOL, encodeFrame, formatBatchQuery, FrameTextReader } from '../engine/chunk-batch.js';
import { describeNetworkError, ServerUnreachableError, type CairnClient } from './http-client.js';

interface StreamAnswer {
  status?: number;
  chunks?: { digest: string; stored: boolean }[];
  error?: { code?: string; message?: string; field?: string };
}

/**
 * The client's side of a chunk stream (src/api/chunk-stream.ts): the batches
 * of one upload sent one after another over one connection, each answered
 * once the server has stored it, before the next goes.
 */
export class ChunkStream {
  /** Idle longer than this, a stream is not used again: the server closes streams idle for two minutes. */
  static readonly REUSE_MS = 30_000;

  private readonly answers = new FrameTextReader();
  private idleSince = Date.now();
  private waiting: { resolve(text: string): void; reject(err: unknown): void } | null = null;
  private failure: unknown = null;

  private constructor(
    private readonly socket: Duplex,
    private readonly server: string,
  ) {
    socket.on('data', (piece: Buffer) => this.received(piece));
    // A stream that breaks is a server gone, as a request that finds none is.
    socket.on('error', (err) => this.fail(new ServerUnreachableError(server, describeNetworkError(err))));
    socket.on('close', () => this.fail(new ServerUnreachableError(server, 'the connection closed before the server answered')));
  }

  /** A stream for the upload `uploadId`; null when the server offers none (batches then go as requests). */
  static async open(client: CairnClient, uploadId: string, signal?: AbortSignal): Promise<ChunkStream | null> {
    const socket = await client.upgrade(`/api/v1/uploads/${encodeURIComponent(uploadId)}/chunk-stream`, CHUNK_STREAM_PROTOCOL, signal);
    return socket && new ChunkStream(socket, client.server);
  }

  /**
   * Whether the stream can take another batch: a refused batch or a lost
   * connection ends it, and one idle for REUSE_MS is left alone, well before
   * the server closes it (src/api/chunk-stream.ts).
   */
  get usable(): boolean {
    return this.failure === null && Date.now() - this.idleSince < ChunkStream.REUSE_MS;
  }

  /**
   * Sends one batch (at most what one batch request carries) and resolves once
   * the server has stored it; the blobs' memory is not needed after that.
   */
  async send(chunks: UploadChunk[], signal?: AbortSignal): Promise<{ digest: string; stored: boolean }[]> {
    if (this.failure !== null) throw this.failure;
    if (this.waiting) throw new Error('a chunk stream takes one batch at a time');
    const answered = new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject }));
    const abort = (): void => {
      this.fail(signal?.reason);
      this.socket.destroy();
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      // Corked, the frame and the blobs leave in one writev, as a request's would.
      this.socket.cork();
      this.socket.write(encodeFrame(formatBatchQuery(chunks.map(({ digest, blob }) => ({ digest, length: blob.length })))));
      for (const part of batchBodyParts(chunks.map((c) => c.blob))) this.socket.write(part);
      this.socket.uncork();
      const text = await answered;
      let answer: StreamAnswer;
      try {
        answer = JSON.parse(text) as StreamAnswer;
      } catch {
        throw new CairnError(502, 'bad_response', `The server at ${this.server} answered a chunk stream's batch with something that is not JSON.`);
      }
      if (answer.error) {
        const { code = 'error', message = 'The server refused the batch.', field } = answer.error;
        // The server ends a stream after a refusal.
        this.fail(new CairnError(answer.status ?? 500, code, message, field));
        throw this.failure;
      }
      return answer.chunks ?? [];
    } finally {
      signal?.removeEventListener('abort', abort);
      this.idleSince = Date.now();
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private received(piece: Buffer): void {
    for (let at = 0; at < piece.length; ) {
      let taken;
      try {
        taken = this.answers.take(piece.subarray(at));
      } catch (err) {
        this.fail(new CairnError(502, 'bad_response', `The server at ${this.server} sent a malformed chunk stream frame: ${(err as Error).message}`));
        this.socket.destroy();
        return;
      }
      at += taken.used;
      if (taken.text === undefined) continue;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.resolve(taken.text);
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(this.failure);
  }
}
