import { createHash } from 'node:crypto';
import { loadNativeHelper } from '../runtime/index.js';

/**
 * What names a chunk: the BLAKE3 (256 bits, lowercase hex) of its content.
 * On CPUs without SHA instructions BLAKE3 runs an order of magnitude faster
 * than SHA-256 (4.7 GB/s against 0.36 GB/s on one core of our test machine),
 * and every byte of a backup is hashed twice, by the client and again by the
 * server that verifies it, and once more by a restore.
 *
 * Chunks stored before BLAKE3 are named by SHA-256, and stay valid: content
 * matches a digest when either algorithm gives it. That weakens nothing, as
 * content whose BLAKE3 equals another content's SHA-256 is as hard to find as
 * any collision of a 256-bit hash.
 */

interface Blake3Addon {
  /** Absent when the addon was built without BLAKE3's C sources (native/blake3/locate.mjs). */
  hash?: (data: Uint8Array) => Buffer;
  readAndHash?: (fd: number, position: number, into: Uint8Array) => Promise<{ length: number; digest: Buffer | null }>;
}

/** BLAKE3 in WebAssembly: the same digests as the native build, at about a tenth of the speed. */
export async function wasmBlake3(): Promise<(data: Uint8Array) => string> {
  const hasher = await (await import('hash-wasm')).createBLAKE3();
  return (data) => hasher.init().update(data).digest('hex');
}

const addon = loadNativeHelper<Blake3Addon>('chunk');
const native = addon?.hash;

/** Which BLAKE3 this process runs: BLAKE3's own C and assembly, or WebAssembly. */
export const blake3Implementation: 'native' | 'wasm' = native ? 'native' : 'wasm';

// WebAssembly is only loaded without the native build.
export const blake3Hex: (data: Uint8Array) => string = native ? (data) => native(data).toString('hex') : await wasmBlake3();

/** A read of part of a file that hashed it on the way: `digest` is the chunk digest, null when all read was zeros. */
export interface HashedRead {
  length: number;
  digest: string | null;
}

const nativeReadAndHash = addon?.readAndHash;

/**
 * Fills `into` from `fd` at `position` and hashes what it read, as one job on
 * libuv's thread pool, then drops those pages from the page cache (see
 * native/blake3/addon.c); `length` is short only where the file ends first.
 * Null without the native build: read, then hash.
 */
export const readAndHash: ((fd: number, position: number, into: Uint8Array) => Promise<HashedRead>) | null = nativeReadAndHash
  ? async (fd, position, into) => {
      const { length, digest } = await nativeReadAndHash(fd, position, into);
      return { length, digest: digest && digest.toString('hex') };
    }
  : null;

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest a chunk is stored under. */
export const chunkDigest = blake3Hex;

/** Whether `data` is the chunk named `digest` (lowercase hex), by either algorithm. */
export function contentMatches(data: Uint8Array, digest: string): boolean {
  return blake3Hex(data) === digest || sha256Hex(data) === digest;
}
