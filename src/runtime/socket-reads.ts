import { once } from 'node:events';
import { connect, createServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { checkOnLoopback } from './loopback-check.js';
import { tlsReadsInto } from './tls-reads.js';
import { active, inactive, type Verdict } from './verdict.js';

/** What libuv reads into at a time, by default. */
const READ_BUFFER = 1024 * 1024;

/**
 * Reads go straight into a target only when it has this much room: for less,
 * a read of its own costs more than copying those bytes from the buffer.
 */
const DIRECT_READ_MIN = 256 * 1024;

export interface ReadsIntoOptions {
  bufferSize?: number;
  /**
   * Where the next bytes are expected, if anywhere (the unfilled rest of a
   * blob's slot): libuv then reads them there, and `onBytes` is handed a view
   * of that memory, which it need not copy (PartsFiller sees that it is in place).
   */
  target?: () => Buffer | null;
}

/** The libuv stream under a net.Socket, which Node does not document. */
interface StreamHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

let checked: Promise<Verdict> | undefined;
let verdict: Verdict | undefined;
/** The kind of handle the check read through (TCP): a TLS socket's handle aborts the process when taken over. */
let checkedKind: unknown;

/**
 * Whether libuv reads into buffers of ours here (net.Socket's `onread` on a
 * socket's moved `_handle`): a read on a loopback connection must land in the
 * very memory given, bytes and all. Checked once per process; readsInto takes
 * the plain path until it has passed.
 */
export function checkSocketReads(): Promise<Verdict> {
  return (checked ??= probe().then((found) => (verdict = found)));
}

/**
 * The connection, made to hand each read to `onBytes` from one buffer that
 * libuv reads into, reused for the next read once `onBytes` returns, instead
 * of a fresh 64 KiB buffer per read: the server took a 2 GiB full backup in
 * 1.7 CPU-s instead of 2.1, and a restore of it took 1.18 s instead of 1.38.
 * A TLS socket keeps its handle and reads its records in place instead
 * (tlsReadsInto). Where the socket is a stream of another kind, or the check
 * has not passed (checkSocketReads, checkTlsReads), its 'data' events serve
 * instead. What the socket had already buffered is lost: take it over before
 * anything is read from it.
 */
export function readsInto(socket: Duplex, onBytes: (piece: Buffer) => void, options: ReadsIntoOptions = {}): Socket {
  const handle = handleOf(socket);
  if (handle && verdict?.active && handle.constructor === checkedKind) return takeOver(socket as Socket, handle, onBytes, options);
  if (socket instanceof TLSSocket && tlsReadsInto(socket, onBytes, options.target)) return socket;
  // The connections after this one know.
  if (!verdict) void checkSocketReads();
  socket.on('data', onBytes);
  return socket as Socket;
}

function handleOf(socket: Duplex): StreamHandle | null {
  const handle = (socket as { _handle?: Partial<StreamHandle> | null })._handle;
  return socket instanceof Socket && handle && typeof handle.useUserBuffer === 'function' ? (handle as StreamHandle) : null;
}

/** Node offers `onread` only to sockets it makes, so the handle moves to a new one. */
function takeOver(socket: Socket, handle: StreamHandle, onBytes: (piece: Buffer) => void, options: ReadsIntoOptions): Socket {
  // Detached first, so that the old socket's end leaves the connection open.
  (socket as { _handle?: unknown })._handle = null;
  socket.destroy();
  const buffer = Buffer.allocUnsafe(options.bufferSize ?? READ_BUFFER);
  const target = options.target;
  // Asked before every read: where the next bytes should land.
  const next = (): Buffer => {
    const into = target?.();
    return into && into.length >= DIRECT_READ_MIN ? into : buffer;
  };
  const callback = (n: number, into: Buffer): void => void onBytes(into.subarray(0, n));
  return new Socket({ handle, onread: { buffer: next, callback } } as ConstructorParameters<typeof Socket>[0]);
}

/** Sends a few bytes over a loopback connection and sees where the taken-over side's read put them. */
async function probe(): Promise<Verdict> {
  const server = createServer();
  return checkOnLoopback(server, 'could not check on a loopback connection', async (port, keep) => {
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect(port, '127.0.0.1');
    keep(client);
    const [peer] = await Promise.race([accepted, once(client, 'error') as Promise<never>]);
    keep(peer);
    const handle = handleOf(peer);
    if (!handle) return inactive('a net.Socket here has no _handle with useUserBuffer');
    checkedKind = handle.constructor;
    const sent = Buffer.from('cairn checks that libuv reads into the buffer it is given');
    // At an odd offset, and with room for a direct read: as a blob's slot is read into.
    const memory = Buffer.alloc(DIRECT_READ_MIN + 4096);
    const target = memory.subarray(17);
    let got = 0;
    const seen = new Promise<Verdict>((resolve) => {
      const onBytes = (piece: Buffer): void => {
        if (piece.buffer !== memory.buffer || piece.byteOffset !== target.byteOffset + got) resolve(inactive('a read was handed over in memory other than the buffer given'));
        got += piece.length;
        if (got < sent.length) return;
        resolve(target.subarray(0, got).equals(sent) ? active('a loopback read landed in the buffer given') : inactive('the bytes read are not in the buffer given (useUserBuffer ignored)'));
      };
      keep(takeOver(peer, handle, onBytes, { target: () => target.subarray(got) }));
    });
    client.write(sent);
    return seen;
  });
}
