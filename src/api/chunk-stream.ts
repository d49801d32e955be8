import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CairnError, unauthorized } from '../domain/errors.js';
import type { Caller } from '../domain/caller.js';
import type { BufferRecycler, Lease } from '../compute/buffer-recycler.js';
import { batchSlot, ChunkBatchError, parseBatchQuery, type BatchEntry } from '../wire/chunk-batch.js';
import { CHUNK_STREAM_PROTOCOL, encodeFrame, FrameTextReader } from '../wire/frames.js';
import type { Services } from '../services/index.js';
import { bearerToken, callerOfToken } from './auth.js';
import { PartsFiller } from '../io/read-into.js';
import { readsInto, sealBuffersWhereTheyLie } from '../runtime/index.js';
import { errorBody } from './error-body.js';
import { digestList } from './schemas.js';

/**
 * The server's side of chunk streams (CHUNK_STREAM_PROTOCOL, see
 * docs/upload-protocol.md): upload batches, or restore reads, over a
 * connection taken over from HTTP, read by libuv straight into a buffer of
 * ours (readsInto); through HTTP bodies the same 640 MiB cost about three
 * times the CPU. An Upgrade request goes through the app's router, hooks and
 * error handler like any other; the route (GET …/chunk-stream) checks access
 * as its HTTP answer does, then takes the connection. Each batch, and each
 * read, is checked as its HTTP twin is: the caller's token again, then the
 * same service call (UploadsService.putChunks verifies every blob before
 * recording any; BackupDataService serves only chunks the point's or image's
 * manifest names). Only API tokens open streams: a session cookie gets 401
 * (no browser can send this Upgrade header, and a cookie-borne upload over a
 * GET would pass by auth.ts's CSRF check).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes chunk-stream upgrades (chunkStream); every other route answers an Upgrade request with the API's 404. */
    chunkStream?: boolean;
  }
}

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

/** An Upgrade request's connection, kept for the route that takes it over. */
interface Upgrade {
  socket: Socket;
  head: Buffer;
  /** The app's open streams, closed with it. */
  open: Set<Duplex>;
}

const upgrades = new WeakMap<IncomingMessage, Upgrade>();

/**
 * Routes the server's Upgrade requests through `app` (as @fastify/websocket
 * does): its onRequest hooks authenticate them, its router finds the route,
 * whose params are checked, and its error and not-found handlers answer in
 * HTTP on the connection, which then closes. Streams close with the app.
 */
export function routeUpgrades(app: FastifyInstance): void {
  const open = new Set<Duplex>();
  app.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrades.set(req, { socket, head, open });
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    // An answer in HTTP (a refusal) is the last thing on the connection; a stream taken over detaches it first.
    res.once('finish', () => socket.end(() => socket.destroy()));
    app.routing(req, res);
  });
  app.addHook('onRequest', async (req, reply) => {
    if (upgrades.has(req.raw) && !req.is404 && !req.routeOptions.config.chunkStream) return reply.callNotFound();
  });
  app.addHook('preClose', async () => {
    for (const connection of open) connection.destroy();
  });
}

/** What a chunk stream route serves, once the route has checked its caller may. */
export type StreamOf = { uploads: string } | { points: string } | { images: string };

/**
 * Takes the request's connection over as a chunk stream of `what`, whose
 * caller the route has checked; without the Upgrade header (a proxy dropped
 * it), answers 426, saying what the client does instead.
 */
export function chunkStream(req: FastifyRequest, reply: FastifyReply, services: Services, what: StreamOf): FastifyReply {
  const upgrade = upgrades.get(req.raw);
  if (!upgrade) return upgradeRequired(reply, 'uploads' in what ? 'send the batches as POST …/chunks requests' : 'read the chunks with GET …/chunks requests');
  if (req.headers.upgrade?.toLowerCase() !== CHUNK_STREAM_PROTOCOL) {
    throw new CairnError(400, 'bad_request', `Ask for Upgrade: ${CHUNK_STREAM_PROTOCOL}, not ${JSON.stringify(req.headers.upgrade ?? '')}.`, 'upgrade');
  }
  const token = bearerToken(req.headers.authorization);
  if (!token) throw unauthorized('A chunk stream needs an API token in an "Authorization: Bearer <token>" header; a session cookie does not open one.');
  const caller = (): Promise<Caller> => callerOfToken(services.accounts, token);
  const session: Session =
    'uploads' in what
      ? new UploadSession((who, chunks) => services.uploads.putChunks(who, what.uploads, chunks), caller, req.server.blobSlots)
      : 'points' in what
        ? new ReadSession((who, digests) => services.data.pointChunks(who, what.points, digests), caller)
        : new ReadSession((who, digests) => services.images.chunks(who, what.images, digests), caller);

  reply.hijack();
  const { socket, head, open } = upgrade;
  reply.raw.detachSocket(socket);
  if (socket.destroyed) return reply;
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${CHUNK_STREAM_PROTOCOL}\r\n\r\n`);

  const io: SessionIo = {
    get connection() {
      return connection;
    },
    fail(err) {
      const { status, body } = errorBody(err);
      if (status >= 500) req.log.error({ err }, 'chunk stream request failed');
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
  sealBuffersWhereTheyLie(connection);
  open.add(connection);
  connection.setTimeout(IDLE_MS, () => connection.destroy());
  connection.on('error', () => connection.destroy());
  connection.on('close', () => {
    open.delete(connection);
    if (!session.busy) session.release();
  });
  if (head.length > 0) onBytes(head);
  return reply;
}

type Reader = (caller: Caller, digests: string[]) => Promise<Lease>;

/**
 * Upload batches: a frame of chunks (a batch request's `chunks` query), then
 * their blobs laid out as its body; each answered with a frame of JSON, the
 * request's answer, before the next may come.
 */
class UploadSession implements Session {
  private readonly receiver: BatchReceiver;
  busy = false;

  constructor(
    private readonly store: (caller: Caller, chunks: { digest: string; blob: Buffer }[]) => Promise<{ digest: string; stored: boolean }[]>,
    private readonly caller: () => Promise<Caller>,
    slots: BufferRecycler,
  ) {
    this.receiver = new BatchReceiver(slots);
  }

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
      .then((who) => this.read(who, digests))
      .then(
        (lease) => {
          this.busy = false;
          const { connection } = io;
          if (connection.destroyed || connection.writableEnded) return lease.release();
          const { blobs } = lease;
          io.served();
          connection.cork();
          connection.write(encodeFrame(blobs.map((b) => b.length).join(',')));
          // Once the last blob is with the kernel, the slots are free again; a
          // connection cut short before leaves them to the collector instead.
          blobs.forEach((blob, i) => connection.write(blob, i < blobs.length - 1 ? undefined : (err) => void (err ? undefined : lease.release())));
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
 * The answer to a chunk stream's path asked for without the Upgrade header:
 * what a proxy that drops the header passes on. The client then does `instead`.
 */
function upgradeRequired(reply: FastifyReply, instead: string): FastifyReply {
  return reply
    .status(426)
    .header('upgrade', CHUNK_STREAM_PROTOCOL)
    .send({ error: { code: 'upgrade_required', message: `This is a chunk stream: ask for it with "Connection: Upgrade" and "Upgrade: ${CHUNK_STREAM_PROTOCOL}", or ${instead}.` } });
}

/** The batch a stream is receiving: its frame of chunks, then their blobs, one to a blob slot. */
class BatchReceiver {
  private readonly list = new FrameTextReader();
  private entries: BatchEntry[] | null = null;
  private lease: Lease | null = null;
  private blobs = new PartsFiller([]);

  constructor(private readonly slots: BufferRecycler) {}

  /** Takes bytes of the stream; the whole batch once its last byte came. Throws ChunkBatchError for a malformed one. */
  take(piece: Buffer): { entries: BatchEntry[]; blobs: Buffer[] } | null {
    let at = 0;
    if (!this.entries) {
      const { used, text } = this.list.take(piece);
      at = used;
      if (text === undefined) return null;
      this.entries = parseBatchQuery(text);
      const lease = (this.lease = this.slots.leaseOf(this.entries.map(({ length }) => length)));
      // Each blob with the zeros that pad it, as the batch body lays them out.
      this.blobs = new PartsFiller(this.entries.map(({ length }, i) => lease.buffers[i]!.subarray(0, batchSlot(length))));
    }
    at += this.blobs.take(piece.subarray(at));
    if (!this.blobs.full) return null;
    if (at < piece.length) throw new ChunkBatchError('More bytes came after the blobs of the batch; send the next batch after its answer.');
    return { entries: this.entries, blobs: this.lease!.blobs };
  }

  /** The rest of the blob slot being filled, once the batch's frame has come. */
  get pending(): Buffer | null {
    return this.entries ? this.blobs.pending : null;
  }

  /** Gives the slots back and starts over: the batch is stored, refused, or abandoned. */
  release(): void {
    this.lease?.release();
    this.lease = null;
    this.entries = null;
  }
}
