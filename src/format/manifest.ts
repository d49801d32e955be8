import { CHUNK_SIZE, isDigest } from './chunk-codec.js';
import { sha256Hex } from './chunk-hash.js';

export const MANIFEST_MAGIC = 'CAIRNMF1';
export const MANIFEST_HEADER_SIZE = 24;
const DIGEST_BYTES = 32;
const HOLE = Buffer.alloc(DIGEST_BYTES);

/**
 * Generous upper bound on the disk size a manifest may describe (1 PiB). It
 * keeps every offset exactly representable as a JS number and caps the
 * allocation a hostile header can cause.
 */
export const MAX_DISK_SIZE = 2 ** 50;

/** One disk of a backup point: chunk digests in disk order, `null` for a hole. */
export interface Manifest {
  size: number;
  chunkSize: number;
  chunks: (string | null)[];
}

export class ManifestFormatError extends Error {
  constructor(message: string) {
    super(`invalid manifest: ${message}`);
    this.name = 'ManifestFormatError';
  }
}

export function expectedChunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

function checkGeometry(size: number, chunkSize: number, count: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_DISK_SIZE) {
    throw new ManifestFormatError(`disk size ${size} is not an integer in 0..${MAX_DISK_SIZE}`);
  }
  // Only the engine's own chunk size is readable: a manifest cut differently
  // would need chunks this code never produces and cannot dedup against.
  if (chunkSize !== CHUNK_SIZE) {
    throw new ManifestFormatError(`chunk size ${chunkSize} is not ${CHUNK_SIZE}`);
  }
  const expected = expectedChunkCount(size, chunkSize);
  if (count !== expected) {
    throw new ManifestFormatError(`chunk count ${count} does not match ceil(${size} / ${chunkSize}) = ${expected}`);
  }
}

export function encodeManifest(manifest: Manifest): Buffer {
  const { size, chunkSize, chunks } = manifest;
  checkGeometry(size, chunkSize, chunks.length);
  const buf = Buffer.alloc(MANIFEST_HEADER_SIZE + chunks.length * DIGEST_BYTES);
  buf.write(MANIFEST_MAGIC, 0, 'ascii');
  buf.writeBigUInt64BE(BigInt(size), 8);
  buf.writeUInt32BE(chunkSize, 16);
  buf.writeUInt32BE(chunks.length, 20);
  chunks.forEach((digest, i) => {
    if (digest === null) return; // already zero-filled
    if (!isDigest(digest)) {
      throw new ManifestFormatError(`chunk ${i} is not a lowercase hex chunk digest: ${JSON.stringify(digest)}`);
    }
    const at = MANIFEST_HEADER_SIZE + i * DIGEST_BYTES;
    buf.write(digest, at, 'hex');
    // The all-zero digest is reserved for holes; a chunk really hashing to it
    // is not going to happen, but encoding it would silently turn it into one.
    if (buf.subarray(at, at + DIGEST_BYTES).equals(HOLE)) {
      throw new ManifestFormatError(`chunk ${i} has the reserved all-zero digest`);
    }
  });
  return buf;
}

export function decodeManifest(buf: Uint8Array): Manifest {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.length < MANIFEST_HEADER_SIZE) {
    throw new ManifestFormatError(`${view.length} bytes is shorter than the ${MANIFEST_HEADER_SIZE}-byte header`);
  }
  if (view.toString('latin1', 0, 8) !== MANIFEST_MAGIC) {
    throw new ManifestFormatError(`bad magic (expected "${MANIFEST_MAGIC}")`);
  }
  const bigSize = view.readBigUInt64BE(8);
  if (bigSize > BigInt(MAX_DISK_SIZE)) {
    throw new ManifestFormatError(`disk size ${bigSize} exceeds ${MAX_DISK_SIZE}`);
  }
  const size = Number(bigSize);
  const chunkSize = view.readUInt32BE(16);
  const count = view.readUInt32BE(20);
  checkGeometry(size, chunkSize, count);
  const expectedLength = MANIFEST_HEADER_SIZE + count * DIGEST_BYTES;
  if (view.length !== expectedLength) {
    throw new ManifestFormatError(`${view.length} bytes, expected ${expectedLength} for ${count} chunks`);
  }
  const chunks = new Array<string | null>(count);
  for (let i = 0; i < count; i++) {
    const at = MANIFEST_HEADER_SIZE + i * DIGEST_BYTES;
    const raw = view.subarray(at, at + DIGEST_BYTES);
    chunks[i] = raw.equals(HOLE) ? null : raw.toString('hex');
  }
  return { size, chunkSize, chunks };
}

/** The manifest's id: hex SHA-256 of its encoded bytes. */
export function manifestDigest(buf: Uint8Array): string {
  return sha256Hex(buf);
}

/** Each stored chunk the manifest references, once, in first-use order. */
export function manifestChunkDigests(manifest: Manifest): string[] {
  const seen = new Set<string>();
  for (const digest of manifest.chunks) {
    if (digest !== null) seen.add(digest);
  }
  return [...seen];
}

/** Bytes of the disk that are not holes, i.e. what a restore has to write. */
export function manifestLogicalSize(manifest: Manifest): number {
  let total = 0;
  manifest.chunks.forEach((digest, i) => {
    if (digest !== null) total += chunkLength(manifest, i);
  });
  return total;
}

export function chunkOffset(manifest: Pick<Manifest, 'chunkSize'>, index: number): number {
  return index * manifest.chunkSize;
}

export function chunkLength(manifest: Pick<Manifest, 'size' | 'chunkSize'>, index: number): number {
  return Math.min(manifest.chunkSize, manifest.size - index * manifest.chunkSize);
}
