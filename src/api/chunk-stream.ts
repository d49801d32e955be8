import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { CairnError, unauthorized } from '../domain/errors.js';
import type { Caller } from '../domain/caller.js';
import { isId } from '../domain/ids.js';
import { batchSlot, ChunkBatchError, parseBatchQuery, type BatchEntry } from '../wire/chunk-batch.js';
import { CHUNK_STREAM_PROTOCOL, encodeFrame, FrameTextReader } from '../wire/frames.js';
import type { Services } from '../services/index.js';
import { bearerToken, callerOfToken } from './auth.js';
import { PartsFiller } from '../io/read-into.js';
import { readsInto } from '../runtime/index.js';
import { blobSlots, readIntoBlobSlots } from './binary-body.js';
import { errorBody } from './error-body.js';
import { digestList } from './schemas.js';

/**
 * The server's side of chunk streams (CHUNK_STREAM_PROTOCOL, see
 * docs/upload-protocol.md): upload batches, or restore reads, over a
 * connection taken over from HTTP, read by libuv straight into a buffer of
 * ours a megabyte at a time (readsInto). Through HTTP, Node reads a request
 * body 64 KiB at a time, copies each piece into a fresh buffer for JavaScript
 * and then we copy it into its slot: a server taking 640 MiB as 16 MiB bodies
 * over three connections spent 0.69–0.86 CPU-s on our test VM, against
 * 0.24–0.29 over such connections. Each batch, and each read, is checked as
 * its HTTP twin is: the caller's token again, then the same service call
 * (UploadsService.putChunks verifies every blob before recording any;
 * BackupDataService serves only chunks the point's or image's manifest names).
 */

const STREAM_PATH = /^\/api\/v1\/(uploads|points|images)\/([^/?#]+)\/chunk-stream(?:\?.*)?$/;

/** A stream with nothing asked of it for this long is closed, as an idle upload would expire. */
const IDLE_MS = 120_000;

/** What one kind of stream does with the bytes it is sent. */
interface Session {
  /** Takes bytes from the client; `io` answers, or fails the stream. */
  take(piece: Buffer, io: SessionIo): void;
  /** Whether a batch or read is being served: its slots are in use until it settles. */
  readonly busy: boolean;
  /** Gives back the slots of what was being received; the stream failed or closed. */
  release(): void;
  /** Where the next bytes belong, for libuv to read them there (see readsInto); null for its own buffer. */
  target(): Buffer | null;
}

interface SessionIo {
  readonly connection: Duplex;
  /** Ends the stream with the error as its last frame. */
  fail(err: unknown): void;
  /** Something was asked: no idle timeout until `served`. */
  serving(): void;
  served(): void;
}

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
      throw new CairnError(
        404,
        'not_found',
        `No upgrade to ${req.method} ${(req.url ?? '').split('?')[0]}; only GET /api/v1/{uploads,points,images}/:id/chunk-stream take one (Upgrade: ${CHUNK_STREAM_PROTOCOL}).`,
      );
    }
    if (req.headers.upgrade?.toLowerCase() !== CHUNK_STREAM_PROTOCOL) {
      throw new CairnError(400, 'bad_request', `Ask for Upgrade: ${CHUNK_STREAM_PROTOCOL}, not ${JSON.stringify(req.headers.upgrade ?? '')}.`, 'upgrade');
    }
    const token = bearerToken(req.headers.authorization);
    if (!token) throw unauthorized('A chunk stream needs an "Authorization: Bearer <token>" header.');
    const caller = (): Promise<Caller> => callerOfToken(services.accounts, token);
    const kind = path[1] as 'uploads' | 'points' | 'images';
    const id = path[2]!;
    if (!isId(kind === 'images' ? 'image' : 'point', id)) throw new CairnError(400, 'bad_request', `"${id}" is not ${ID_NAMES[kind]}.`, 'id');
    // Someone else's upload, point or image, or none: 404 (or 409), as for every other request about it.
    const session = await SESSIONS[kind](services, caller, id);
    if (socket.destroyed) return;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${CHUNK_STREAM_PROTOCOL}\r\n\r\n`);

    const io: SessionIo = {
      get connection() {
        return connection;
      },
      fail(err) {
        const { status, body } = errorBody(err);
        if (status >= 500) log.error({ err }, 'chunk stream request failed');
        // After a refusal the rest of what the client sent means nothing: the stream ends.
        if (!connection.destroyed && !connection.writableEnded) connection.end(encodeFrame(JSON.stringify({ status, ...(body as object) })));
        if (!session.busy) session.release();
      },
      serving: () => connection.setTimeout(0),
      served: () => connection.setTimeout(IDLE_MS),
    };
    const onBytes = (piece: Buffer): void => {
      if (!connection.writableEnded) session.take(piece, io);
    };
    const connection = readsInto(socket, onBytes, { target: () => session.target() });
    open.add(connection);
    connection.setTimeout(IDLE_MS, () => connection.destroy());
    connection.on('error', () => connection.destroy());
    connection.on('close', () => {
      open.delete(connection);
      if (!session.busy) session.release();
    });
    if (head.length > 0) onBytes(head);
  }

  return {
    closeAll() {
      for (const connection of open) connection.destroy();
    },
  };
}

const ID_NAMES = { uploads: 'an upload ID', points: 'a point ID', images: 'an image ID' } as const;

type Reader = (caller: Caller, digests: string[], into: Buffer[]) => Promise<Buffer[]>;

/** How each kind of stream checks its caller before it is taken, and then serves. */
const SESSIONS: Record<'uploads' | 'points' | 'images', (services: Services, caller: () => Promise<Caller>, id: string) => Promise<Session>> = {
  async uploads(services, caller, id) {
    await services.uploads.get(await caller(), id);
    return new UploadSession((who, chunks) => services.uploads.putChunks(who, id, chunks), caller);
  },
  async points(services, caller, id) {
    await services.data.readablePoint(await caller(), id);
    return new ReadSession((who, digests, into) => services.data.pointChunks(who, id, digests, into), caller);
  },
  async images(services, caller, id) {
    await services.images.checkReadable(await caller(), id);
    return new ReadSession((who, digests, into) => services.images.chunks(who, id, digests, into), caller);
  },
};

/**
 * Upload batches: a frame of chunks (a batch request's `chunks` query), then
 * their blobs laid out as its body; each answered with a frame of JSON, the
 * request's answer, before the next may come.
 */
class UploadSession implements Session {
  private readonly receiver = new BatchReceiver();
  busy = false;

  constructor(
    private readonly store: (caller: Caller, chunks: { digest: string; blob: Buffer }[]) => Promise<{ digest: string; stored: boolean }[]>,
    private readonly caller: () => Promise<Caller>,
  ) {}

  take(piece: Buffer, io: SessionIo): void {
    if (this.busy) {
      // One batch at a time: the client waits for each answer.
      io.fail(new CairnError(400, 'bad_request', 'A chunk stream takes one batch at a time; wait for its answer before sending the next.'));
      return;
    }
    let batch;
    try {
      batch = this.receiver.take(piece);
    } catch (err) {
      io.fail(err instanceof ChunkBatchError ? new CairnError(400, 'bad_request', err.message, 'chunks') : err);
      return;
    }
    if (!batch) return;
    this.busy = true;
    io.serving();
    const stored = this.caller().then((who) => this.store(who, batch.entries.map(({ digest }, i) => ({ digest, blob: batch.blobs[i]! }))));
    void stored
      .finally(() => {
        this.busy = false;
        this.receiver.release();
      })
      .then((chunks) => {
        if (io.connection.destroyed || io.connection.writableEnded) return;
        io.served();
        io.connection.write(encodeFrame(JSON.stringify({ chunks })));
      }, io.fail);
  }

  release(): void {
    this.receiver.release();
  }

  target(): Buffer | null {
    return this.busy ? null : this.receiver.pending;
  }
}

/**
 * Restore reads: a frame naming up to MAX_READ_CHUNKS digests (a batch
 * read's `digests` query), answered with a frame of their blob lengths (its
 * BATCH_LENGTHS_HEADER) and the blobs back to back, as its body.
 */
class ReadSession implements Session {
  private readonly requests = new FrameTextReader();
  busy = false;

  constructor(
    private readonly read: Reader,
    private readonly caller: () => Promise<Caller>,
  ) {}

  take(piece: Buffer, io: SessionIo): void {
    for (let at = 0; at < piece.length; ) {
      if (this.busy) {
        io.fail(new CairnError(400, 'bad_request', 'A chunk stream takes one read at a time; wait for its answer before asking for more.'));
        return;
      }
      let text;
      try {
        const taken = this.requests.take(piece.subarray(at));
        at += taken.used;
        text = taken.text;
      } catch (err) {
        io.fail(err instanceof ChunkBatchError ? new CairnError(400, 'bad_request', err.message, 'digests') : err);
        return;
      }
      if (text === undefined) continue;
      let digests;
      try {
        digests = digestList(text);
      } catch (err) {
        io.fail(err);
        return;
      }
      this.serve(digests, io);
    }
  }

  private serve(digests: string[], io: SessionIo): void {
    this.busy = true;
    io.serving();
    void this.caller()
      .then((who) => readIntoBlobSlots(digests.length, (into) => this.read(who, digests, into)))
      .then(
        ({ blobs, release }) => {
          this.busy = false;
          const { connection } = io;
          if (connection.destroyed || connection.writableEnded) return release();
          io.served();
          connection.cork();
          connection.write(encodeFrame(blobs.map((b) => b.length).join(',')));
          // Once the last blob is with the kernel, the slots are free again; a
          // connection cut short before leaves them to the collector instead.
          blobs.forEach((blob, i) => connection.write(blob, i < blobs.length - 1 ? undefined : (err) => void (err ? undefined : release())));
          connection.uncork();
        },
        (err: unknown) => {
          this.busy = false;
          io.fail(err);
        },
      );
  }

  release(): void {}

  target(): null {
    return null;
  }
}

/**
 * The answer to a chunk stream's path asked for without the Upgrade header
 * (acceptChunkStreams takes the connections that have it): what a proxy that
 * drops the header passes on. The client then does `instead`.
 */
export function upgradeRequired(reply: FastifyReply, instead: string): FastifyReply {
  return reply
    .status(426)
    .header('upgrade', CHUNK_STREAM_PROTOCOL)
    .send({ error: { code: 'upgrade_required', message: `This is a chunk stream: ask for it with "Connection: Upgrade" and "Upgrade: ${CHUNK_STREAM_PROTOCOL}", or ${instead}.` } });
}

/** An HTTP answer on a connection not taken over, which then closes. */
function refuse(socket: Duplex, status: number, body: unknown): void {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
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

  /** The rest of the blob slot being filled, once the batch's frame has come. */
  get pending(): Buffer | null {
    return this.entries ? this.blobs.pending : null;
  }

  /** Gives the slots back and starts over: the batch is stored, refused, or abandoned. */
  release(): void {
    for (const slot of this.slots) blobSlots.give(slot);
    this.slots = [];
    this.entries = null;
  }
}
