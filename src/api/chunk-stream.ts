import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { CairnError, unauthorized } from '../domain/errors.js';
import type { Caller } from '../domain/caller.js';
import { isId } from '../domain/ids.js';
import { batchSlot, ChunkBatchError, CHUNK_STREAM_PROTOCOL, encodeFrame, FrameTextReader, parseBatchQuery, type BatchEntry } from '../engine/chunk-batch.js';
import type { Services } from '../services/index.js';
import { bearerToken, callerOfToken } from './auth.js';
import { PartsFiller } from '../io/read-into.js';
import { blobSlots } from './binary-body.js';
import { errorBody } from './error-body.js';

/**
 * The server's side of chunk streams (CHUNK_STREAM_PROTOCOL, see
 * docs/upload-protocol.md): upload batches over a connection taken over from
 * HTTP, read by libuv straight into a buffer of ours a megabyte at a time.
 * Through HTTP, Node reads a request body 64 KiB at a time, copies each piece
 * into a fresh buffer for JavaScript and then we copy it into its slot: a
 * server taking 640 MiB as 16 MiB bodies over three connections spent
 * 0.69–0.86 CPU-s on our test VM, against 0.24–0.29 over such connections.
 * Each batch is checked as its POST twin is: the caller's token again, then
 * UploadsService.putChunks, which verifies every blob before recording any.
 */

const STREAM_PATH = /^\/api\/v1\/uploads\/([^/?#]+)\/chunk-stream(?:\?.*)?$/;

/** What libuv reads into at a time; each read is copied on into the blob slots. */
const READ_BUFFER = 1024 * 1024;

/** A stream with no batch for this long is closed, as an idle upload would expire. */
const IDLE_MS = 120_000;

/** Takes Upgrade requests for chunk streams on `server`; the streams close with the app. */
export function acceptChunkStreams(server: Server, services: Services, log: FastifyBaseLogger): { closeAll(): void } {
  const open = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    void upgrade(req, socket, head).catch((err: unknown) => {
      const { status, body } = errorBody(err);
      if (status >= 500) log.error({ err }, 'chunk stream upgrade failed');
      refuse(socket, status, body);
    });
  });

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const path = STREAM_PATH.exec(req.url ?? '');
    if (!path || req.method !== 'GET') {
      throw new CairnError(404, 'not_found', `No upgrade to ${req.method} ${(req.url ?? '').split('?')[0]}; only GET /api/v1/uploads/:id/chunk-stream takes one (Upgrade: ${CHUNK_STREAM_PROTOCOL}).`);
    }
    if (req.headers.upgrade?.toLowerCase() !== CHUNK_STREAM_PROTOCOL) {
      throw new CairnError(400, 'bad_request', `Ask for Upgrade: ${CHUNK_STREAM_PROTOCOL}, not ${JSON.stringify(req.headers.upgrade ?? '')}.`, 'upgrade');
    }
    const token = bearerToken(req.headers.authorization);
    if (!token) throw unauthorized('A chunk stream needs an "Authorization: Bearer <token>" header.');
    const caller = (): Promise<Caller> => callerOfToken(services.accounts, token);
    const uploadId = path[1]!;
    if (!isId('point', uploadId)) throw new CairnError(400, 'bad_request', `"${uploadId}" is not an upload ID.`, 'id');
    // Someone else's upload, or none: 404, as for every other request about it.
    await services.uploads.get(await caller(), uploadId);
    if (socket.destroyed) return;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${CHUNK_STREAM_PROTOCOL}\r\n\r\n`);

    const receiver = new BatchReceiver();
    // While a batch is being stored its slots are in use: they go back only once putChunks settles.
    let busy = false;
    const fail = (err: unknown): void => {
      const { status, body } = errorBody(err);
      if (status >= 500) log.error({ err }, 'chunk stream batch failed');
      // After a refusal the rest of what the client sent means nothing: the stream ends.
      if (!connection.destroyed && !connection.writableEnded) connection.end(encodeFrame(JSON.stringify({ status, ...(body as object) })));
      if (!busy) receiver.release();
    };
    const onBytes = (piece: Buffer): void => {
      if (connection.writableEnded) return;
      if (busy) {
        // One batch at a time: the client waits for each answer.
        fail(new CairnError(400, 'bad_request', 'A chunk stream takes one batch at a time; wait for its answer before sending the next.'));
        return;
      }
      let batch;
      try {
        batch = receiver.take(piece);
      } catch (err) {
        fail(err instanceof ChunkBatchError ? new CairnError(400, 'bad_request', err.message, 'chunks') : err);
        return;
      }
      if (!batch) return;
      busy = true;
      connection.setTimeout(0);
      const stored = caller().then(async (who) => services.uploads.putChunks(who, uploadId, batch.entries.map(({ digest }, i) => ({ digest, blob: batch.blobs[i]! }))));
      void stored
        .finally(() => {
          busy = false;
          receiver.release();
        })
        .then((chunks) => {
          if (connection.destroyed || connection.writableEnded) return;
          connection.setTimeout(IDLE_MS);
          connection.write(encodeFrame(JSON.stringify({ chunks })));
        }, fail);
    };
    const connection = takeOver(socket, onBytes);
    open.add(connection);
    connection.setTimeout(IDLE_MS, () => connection.destroy());
    connection.on('error', () => connection.destroy());
    connection.on('close', () => {
      open.delete(connection);
      if (!busy) receiver.release();
    });
    if (head.length > 0) onBytes(head);
  }

  return {
    closeAll() {
      for (const connection of open) connection.destroy();
    },
  };
}

/** An HTTP answer on a connection not taken over, which then closes. */
function refuse(socket: Duplex, status: number, body: unknown): void {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/**
 * The connection, made to hand each read to `onBytes` from a buffer that
 * libuv reads into (net.Socket's `onread`): Node offers that only to sockets
 * it makes, so the accepted socket's handle moves to a new one. Where the
 * socket has no such handle (another Node, a TLS socket), its 'data' events
 * serve instead.
 */
function takeOver(socket: Duplex, onBytes: (piece: Buffer) => void): Socket {
  const handle = (socket as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (socket instanceof Socket && handle && typeof handle.useUserBuffer === 'function') {
    // Detached first, so that the old socket's end leaves the connection open.
    (socket as { _handle?: unknown })._handle = null;
    socket.destroy();
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    return new Socket({ handle, onread: { buffer, callback: (n: number) => void onBytes(buffer.subarray(0, n)) } } as ConstructorParameters<typeof Socket>[0]);
  }
  socket.on('data', onBytes);
  return socket as Socket;
}

/** The batch a stream is receiving: its frame of chunks, then their blobs, one to a slot of blobSlots. */
class BatchReceiver {
  private readonly list = new FrameTextReader();
  private entries: BatchEntry[] | null = null;
  private slots: Buffer[] = [];
  private blobs = new PartsFiller([]);

  /** Takes bytes of the stream; the whole batch once its last byte came. Throws ChunkBatchError for a malformed one. */
  take(piece: Buffer): { entries: BatchEntry[]; blobs: Buffer[] } | null {
    let at = 0;
    if (!this.entries) {
      const { used, text } = this.list.take(piece);
      at = used;
      if (text === undefined) return null;
      this.entries = parseBatchQuery(text);
      this.slots = this.entries.map(() => blobSlots.take());
      // Each blob with the zeros that pad it, as the batch body lays them out.
      this.blobs = new PartsFiller(this.entries.map(({ length }, i) => this.slots[i]!.subarray(0, batchSlot(length))));
    }
    at += this.blobs.take(piece.subarray(at));
    if (!this.blobs.full) return null;
    if (at < piece.length) throw new ChunkBatchError('More bytes came after the blobs of the batch; send the next batch after its answer.');
    return { entries: this.entries, blobs: this.entries.map(({ length }, i) => this.slots[i]!.subarray(0, length)) };
  }

  /** Gives the slots back and starts over: the batch is stored, refused, or abandoned. */
  release(): void {
    for (const slot of this.slots) blobSlots.give(slot);
    this.slots = [];
    this.entries = null;
  }
}
