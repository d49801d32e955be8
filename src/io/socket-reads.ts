import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

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

/**
 * The connection, made to hand each read to `onBytes` from one buffer that
 * libuv reads into (net.Socket's `onread`), which is reused for the next read
 * once `onBytes` returns. Through 'data' events (and HTTP bodies), Node reads
 * 64 KiB at a time, each into a fresh buffer that is garbage soon after. Node
 * offers `onread` only to sockets it makes, so the socket's handle moves to a
 * new one. Where the socket has no such handle (another Node, a TLS socket),
 * its 'data' events serve instead. What the socket had already buffered is
 * lost: take it over before anything is read from it.
 */
export function readsInto(socket: Duplex, onBytes: (piece: Buffer) => void, options: ReadsIntoOptions = {}): Socket {
  const handle = (socket as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (socket instanceof Socket && handle && typeof handle.useUserBuffer === 'function') {
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
  socket.on('data', onBytes);
  return socket as Socket;
}
