import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { connect, createServer, TLSSocket, type ConnectionOptions } from 'node:tls';
import { checkOnLoopback } from './loopback-check.js';
import { active, errorLine, inactive, type Verdict } from './verdict.js';

/** A TLS read hands over at most one record's plaintext, 16 KiB. */
const RECORD = 16 * 1024;

/** net.Socket's own keys for what `onread` gave it: where the next read goes, what is told of it, what says where the one after goes. */
interface OnreadKeys {
  buffer: symbol;
  callback: symbol;
  next: symbol;
}

/** The TLS handle under a TLSSocket, which Node does not document. */
interface TlsHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

let checked: Promise<Verdict> | undefined;
let verdict: Verdict | undefined;
let keys: OnreadKeys | null = null;

/**
 * Whether a TLS connection's decrypted bytes can be read into buffers of
 * ours: Node offers `onread` only to a TLS socket it connects itself, never to
 * one a server accepts, so it is given one afterwards, as net.Socket keeps it
 * (its own symbols, read off a socket made with `onread`, and `useUserBuffer`
 * on the TLS handle). A loopback TLS connection (a pre-shared key, no
 * certificate) must then hand over its bytes in the very memory given.
 * Checked once per process; tlsReadsInto declines until it has passed.
 */
export function checkTlsReads(): Promise<Verdict> {
  return (checked ??= probe().then((found) => (verdict = found)));
}

/**
 * Makes a TLS socket copy each record it opens straight into `next()` (the
 * unfilled rest of a blob's slot, or a buffer of its own when there is none)
 * and hand `onBytes` a view of it, instead of a fresh buffer per record that
 * `onBytes` copies again: 640 MiB received over loopback TLS took 0.75–0.78
 * CPU-s instead of 0.90–0.95, at 65 MB instead of 97 (docs/performance.md).
 * Returns false, leaving the socket as it is, where the check has not passed
 * or the socket has no TLS handle. Bytes the socket had already
 * buffered are not handed over: call it before anything reads it.
 */
export function tlsReadsInto(socket: TLSSocket, onBytes: (piece: Buffer) => void, target?: () => Buffer | null): boolean {
  if (!verdict) void checkTlsReads();
  return Boolean(verdict?.active) && readInPlace(socket, onBytes, target);
}

function readInPlace(socket: TLSSocket, onBytes: (piece: Buffer) => void, target?: () => Buffer | null): boolean {
  const handle = (socket as { _handle?: Partial<TlsHandle> | null })._handle;
  if (!keys || typeof handle?.useUserBuffer !== 'function') return false;
  const own = Buffer.allocUnsafeSlow(RECORD);
  // Asked after every read: where the next bytes should land. Any room will do; a record that does not fit goes on into the next buffer.
  const next = (): Buffer => {
    const into = target?.();
    return into && into.length > 0 ? into : own;
  };
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[keys.next] = next;
  fields[keys.callback] = (n: number, into: Buffer): void => onBytes(into.subarray(0, n));
  const first = next();
  fields[keys.buffer] = first;
  (handle as TlsHandle).useUserBuffer(first);
  // Reads flow to the callback, never to 'data': nothing else may hold the socket paused.
  socket.resume();
  return true;
}

/** The symbols net.Socket keeps `onread`'s buffer, callback and buffer function under, if this Node has them. */
function onreadKeys(): OnreadKeys | null {
  const made = new Socket({ onread: { buffer: () => Buffer.alloc(1), callback: () => true } } as ConstructorParameters<typeof Socket>[0]);
  const found = new Map(Object.getOwnPropertySymbols(made).map((key) => [key.description, key]));
  made.destroy();
  const [buffer, callback, next] = [found.get('kBuffer'), found.get('kBufferCb'), found.get('kBufferGen')];
  return buffer && callback && next ? { buffer, callback, next } : null;
}

/** Sends bytes over a loopback TLS connection and sees where the accepting side's reads put them. */
async function probe(): Promise<Verdict> {
  keys = onreadKeys();
  if (!keys) return inactive("this Node's net.Socket keeps no kBuffer, kBufferCb and kBufferGen for onread");
  const psk = randomBytes(32);
  const tls: ConnectionOptions = { ciphers: 'PSK-AES128-GCM-SHA256', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' };
  const memory = Buffer.alloc(4 * RECORD);
  // At an odd offset, and more than a record: as a blob's slot is read into.
  const target = memory.subarray(17);
  const sent = randomBytes(2 * RECORD + 1000);
  const server = createServer({ ...tls, pskCallback: () => psk });
  return checkOnLoopback(server, 'could not check on a loopback TLS connection', async (port, keep) => {
    const seen = new Promise<Verdict>((resolve) => {
      let got = 0;
      const onBytes = (piece: Buffer): void => {
        if (piece.buffer !== memory.buffer || piece.byteOffset !== target.byteOffset + got) return resolve(inactive('a TLS read was handed over in memory other than the buffer given'));
        got += piece.length;
        if (got < sent.length) return;
        resolve(target.subarray(0, got).equals(sent) ? active('a loopback TLS connection read its records into the buffer given') : inactive('the bytes read are not those sent'));
      };
      server.on('secureConnection', (socket: TLSSocket) => {
        keep(socket);
        if (!readInPlace(socket, onBytes, () => target.subarray(got))) resolve(inactive('a TLS socket here has no _handle with useUserBuffer'));
      });
    });
    const client = connect({ ...tls, host: '127.0.0.1', port, pskCallback: () => ({ psk, identity: 'cairn' }), checkServerIdentity: () => undefined });
    keep(client);
    const failed = once(client, 'error').then(([err]) => inactive(`the loopback TLS connection failed: ${errorLine(err)}`));
    const connected = await Promise.race([once(client, 'secureConnect').then(() => undefined), failed]);
    if (connected) return connected;
    client.write(sent);
    return Promise.race([seen, failed]);
  });
}
