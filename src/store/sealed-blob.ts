import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { MasterKey, MasterKeys } from './master-key.js';

/**
 * The sealed form of anything Cairn keeps encrypted at rest: chunk blobs,
 * manifests, recoverable secrets (docs/formats.md, "Encryption at rest").
 *
 *   "CRE" | version 1 (1 byte) | master key ID (4 bytes) | nonce (12 bytes) | ciphertext | tag (16 bytes)
 *
 * AES-256-GCM under a key derived (HKDF-SHA256) from the master key, the
 * purpose and the name (a chunk's digest, a manifest's digest, an access
 * key's ID): a blob opens only under the name it was sealed for, and no key
 * seals more than the few copies of one content, so random nonces are safe
 * however many chunks a store holds. The header is authenticated too.
 * A plain chunk blob starts "CRN", a manifest "CAIRNMF1": neither is taken for
 * a sealed one, so both kinds live side by side in one store.
 */
const MAGIC = 0x435245; // "CRE"
const VERSION = 1;
const HEADER = 20;
const TAG = 16;
export const SEAL_OVERHEAD = HEADER + TAG;
/** Node's ciphers only write to memory of their own: blobs go through in pieces this size, each copied to its place. */
const PIECE = 256 * 1024;

export type SealPurpose = 'chunk' | 'manifest' | 'secret';

/** A sealed blob that does not open: changed, cut short, or sealed under a key this server lacks. */
export class SealError extends Error {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what} does not open: ${reason}`);
    this.name = 'SealError';
  }
}

export function isSealed(blob: Uint8Array): boolean {
  return blob.length >= 3 && ((blob[0]! << 16) | (blob[1]! << 8) | blob[2]!) === MAGIC;
}

/** The ID of the master key a sealed blob is under. */
export function sealedKeyId(blob: Uint8Array): string {
  return Buffer.from(blob.buffer, blob.byteOffset + 4, 4).toString('hex');
}

function keyFor(master: MasterKey, purpose: SealPurpose, name: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master.key, Buffer.alloc(0), `cairn ${purpose} ${name}`, 32));
}

/**
 * Seals `plain` under the current master key into `out` (at least
 * `plain.length + SEAL_OVERHEAD` bytes; by default new memory) and returns the
 * view of it that holds the sealed blob.
 */
export function seal(keys: MasterKeys, purpose: SealPurpose, name: string, plain: Uint8Array, out: Buffer = Buffer.allocUnsafe(plain.length + SEAL_OVERHEAD)): Buffer {
  if (out.length < plain.length + SEAL_OVERHEAD) throw new RangeError('The buffer for a sealed blob is too short.');
  const master = keys.current;
  out.writeUIntBE(MAGIC, 0, 3);
  out[3] = VERSION;
  out.write(master.id, 4, 'hex');
  randomBytes(12).copy(out, 8);
  const cipher = createCipheriv('aes-256-gcm', keyFor(master, purpose, name), out.subarray(8, HEADER));
  cipher.setAAD(out.subarray(0, HEADER));
  let at = HEADER;
  for (let i = 0; i < plain.length; i += PIECE) {
    const part = cipher.update(plain.subarray(i, i + PIECE));
    out.set(part, at);
    at += part.length;
  }
  const last = cipher.final();
  out.set(last, at);
  at += last.length;
  out.set(cipher.getAuthTag(), at);
  return out.subarray(0, at + TAG);
}

/**
 * Opens a sealed blob in place: the plaintext is written over the blob from
 * its start (each piece is read before it is overwritten) and the view of it
 * returned. On failure the memory holds unauthenticated bytes: throw it away.
 */
export function open(keys: MasterKeys, purpose: SealPurpose, name: string, sealed: Buffer, what = `${purpose} ${name}`): Buffer {
  if (sealed.length < SEAL_OVERHEAD || !isSealed(sealed)) throw new SealError(what, 'it is shorter than its header and tag, or not sealed');
  if (sealed[3] !== VERSION) throw new SealError(what, `it is sealed in format version ${sealed[3]}, which this Cairn does not know (a newer one wrote it)`);
  const id = sealedKeyId(sealed);
  const master = keys.get(id);
  if (!master) throw new SealError(what, `it is sealed under master key ${id}, which the master key file does not hold (it holds ${keys.ids.join(', ')})`);
  const end = sealed.length - TAG;
  const decipher = createDecipheriv('aes-256-gcm', keyFor(master, purpose, name), sealed.subarray(8, HEADER));
  decipher.setAAD(sealed.subarray(0, HEADER));
  decipher.setAuthTag(sealed.subarray(end));
  let at = 0;
  for (let i = HEADER; i < end; i += PIECE) {
    const part = decipher.update(sealed.subarray(i, Math.min(i + PIECE, end)));
    sealed.set(part, at);
    at += part.length;
  }
  try {
    const last = decipher.final();
    sealed.set(last, at);
    at += last.length;
  } catch {
    throw new SealError(what, 'its authentication tag does not match (it was changed after it was written)');
  }
  return sealed.subarray(0, at);
}
