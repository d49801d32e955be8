import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { active, inactive, type Verdict } from './verdict.js';

type Writev = { _writev?: unknown };

/**
 * Makes a TLS connection seal each buffer written where it lies: Node's TLS
 * handle copies the buffers of a writev into one new allocation first, and a
 * chunk stream writes a batch of blobs corked (an HTTPS restore took 4.73 CPU-s
 * with it, 4.08 without; docs/performance.md). Without `_writev` the
 * stream hands its handle the corked buffers one at a time. Any other socket
 * is left as it is: on plain TCP a writev is one system call and no copy.
 */
export function sealBuffersWhereTheyLie(socket: Duplex): void {
  if (socket instanceof TLSSocket && verdict.active) (socket as Writev)._writev = null;
}

const verdict: Verdict =
  typeof (TLSSocket.prototype as Writev)._writev === 'function'
    ? active('TLS sockets hand corked buffers to their handle one at a time (no _writev)')
    : inactive("this Node's TLS socket has no _writev to take away: corked buffers go as Node sends them");

/** Whether a TLS socket batches corked writes through `_writev`, which sealBuffersWhereTheyLie takes away. */
export function tlsWritesVerdict(): Verdict {
  return verdict;
}
