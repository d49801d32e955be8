import { randomBytes } from 'node:crypto';
import { xxh3 } from '@node-rs/xxhash';

/**
 * Change fingerprints: a keyed XXH3-128 of a chunk, about forty times cheaper
 * than its SHA-256 on a CPU without SHA instructions. An incremental backup
 * compares each chunk's fingerprint with the one recorded for the same place
 * at the previous point and, where they are equal, takes that point's digest
 * instead of hashing again: the block-level counterpart of the mtime and size
 * check that file backup tools make. The key (a random secret kept with the
 * record, never sent) is what keeps collisions from being crafted in advance;
 * XXH3 is not a cryptographic hash, so `cairn backup --rehash` hashes
 * everything for those who trust nothing but SHA-256.
 */

/** XXH3's own default secret size; anything from 136 bytes is accepted. */
export const FINGERPRINT_SECRET_SIZE = 192;

/**
 * A secret in memory of its own: it goes with every request to a worker, and a
 * view into a larger buffer (Node's allocation pool) would carry all of it.
 */
export function newFingerprintSecret(): Uint8Array {
  return new Uint8Array(randomBytes(FINGERPRINT_SECRET_SIZE));
}

export function fingerprint(data: Uint8Array, secret: Uint8Array): bigint {
  if (secret.length < FINGERPRINT_SECRET_SIZE) {
    throw new RangeError(`a fingerprint secret needs ${FINGERPRINT_SECRET_SIZE} bytes, got ${secret.length}`);
  }
  return xxh3.xxh128WithSecret(data, secret);
}
