// The binding is CommonJS around a .node file, so Node exposes its functions
// only on the default export, not as ESM named exports.
import zstd from 'zstd-napi/binding.js';
import { copyBytes } from '../io/copy-bytes.js';
import { chunkDigest, contentMatches } from './chunk-hash.js';

/** Disks are cut into chunks of this size; only a disk's last chunk may be shorter. */
export const CHUNK_SIZE = 4 * 1024 * 1024;

export const BLOB_HEADER_SIZE = 8;

/**
 * A well-formed blob is never larger than a raw chunk plus its header; the extra
 * KiB is slack so that a future header extension does not break old readers.
 */
export const MAX_BLOB_SIZE = CHUNK_SIZE + 1024;

export const CODEC_RAW = 0;
export const CODEC_ZSTD = 1;
export type Codec = typeof CODEC_RAW | typeof CODEC_ZSTD;

const MAGIC = Buffer.from('CRN', 'ascii');
// Level 2 with 2^15-entry tables, 7-byte matches and a chunk-long window: most of
// level 2's space for less time than level 1's defaults (docs/performance.md).
const COMPRESSION: [zstd.CParameter, number][] = [
  [zstd.CParameter.compressionLevel, 2],
  [zstd.CParameter.hashLog, 15],
  [zstd.CParameter.chainLog, 15],
  [zstd.CParameter.minMatch, 7],
  [zstd.CParameter.windowLog, 22],
];

/**
 * COMPRESSION flat, as the native jobs (native-pool.ts) take it: the one list
 * of settings that they and the JavaScript codec both apply.
 */
export const ZSTD_PARAMETERS = Int32Array.from(COMPRESSION.flat());
const HEX_DIGEST = /^[0-9a-f]{64}$/;

// Shared, never written: zero detection is a memcmp against a slice of it, which
// is an order of magnitude cheaper than hashing and lets holes skip the pool.
const ZERO_CHUNK = Buffer.alloc(CHUNK_SIZE);

export class ChunkIntegrityError extends Error {
  readonly digest: string;

  constructor(digest: string, reason: string) {
    super(`chunk ${digest} failed integrity check: ${reason}`);
    this.name = 'ChunkIntegrityError';
    this.digest = digest;
  }
}

export interface EncodedChunk {
  /** The uncompressed chunk's digest (chunkDigest). */
  digest: string;
  blob: Buffer;
}

export function isZeroChunk(data: Uint8Array): boolean {
  if (data.length > CHUNK_SIZE) {
    throw new RangeError(`chunk of ${data.length} bytes exceeds CHUNK_SIZE`);
  }
  return ZERO_CHUNK.subarray(0, data.length).equals(data);
}

export function isDigest(value: string): boolean {
  return HEX_DIGEST.test(value);
}

// zstd contexts are expensive to create and not thread-safe; each thread that
// loads this module (main thread or pool worker) gets its own lazily.
let cctx: zstd.CCtx | undefined;
let dctx: zstd.DCtx | undefined;
let scratch: Buffer | undefined;

/** Hashes and compresses one chunk. */
export function encodeChunk(data: Uint8Array): EncodedChunk {
  return { digest: chunkDigest(checkChunkLength(data)), blob: compressChunk(data) };
}

/** Room that compressing any chunk may need: a buffer this size always holds the blob. */
export const BLOB_CAPACITY = BLOB_HEADER_SIZE + zstd.compressBound(CHUNK_SIZE);

/**
 * Compresses one chunk into a blob (stored raw when zstd does not shrink it).
 * With `into` (at least BLOB_CAPACITY bytes) the blob is written to its start
 * and the result is a view of it, which lets callers recycle blob buffers.
 * Without, the blob owns an ArrayBuffer of exactly its size (never a slice of
 * Node's shared pool), so it can be transferred between threads and pins no slack.
 */
export function compressChunk(data: Uint8Array, into?: Buffer): Buffer {
  checkChunkLength(data);
  checkBlobBuffer(into);
  cctx ??= compressionContext();
  // Sized for the worst case so zstd never fails for lack of room.
  const target = into ?? (scratch ??= Buffer.allocUnsafeSlow(BLOB_CAPACITY));
  const compressedLength = cctx.compress2(target.subarray(BLOB_HEADER_SIZE), data);
  const zstdWins = compressedLength < data.length;
  if (!zstdWins) copyBytes(target, BLOB_HEADER_SIZE, data);
  const blob = sealBlob(target, zstdWins ? CODEC_ZSTD : CODEC_RAW, data.length, zstdWins ? compressedLength : data.length);
  // Without `into`, the blob is copied out of the scratch at its exact size.
  return into ? blob : ownedCopy(blob);
}

/** Refuses a blob buffer that some chunk's blob might not fit in. */
export function checkBlobBuffer(into: Buffer | undefined): void {
  if (into && into.length < BLOB_CAPACITY) throw new RangeError(`a blob buffer needs ${BLOB_CAPACITY} bytes, got ${into.length}`);
}

/** A copy of `blob` in an ArrayBuffer of exactly its size, which can be transferred and pins no slack. */
export function ownedCopy(blob: Buffer): Buffer {
  return Buffer.from(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length));
}

/**
 * Writes the header of a blob whose payload (`payloadLength` bytes, the chunk
 * itself for CODEC_RAW) is in place after it, and returns the blob as a view.
 */
export function sealBlob(target: Buffer, codec: Codec, chunkLength: number, payloadLength: number): Buffer {
  const blob = target.subarray(0, BLOB_HEADER_SIZE + payloadLength);
  MAGIC.copy(blob, 0);
  blob[3] = codec;
  blob.writeUInt32BE(chunkLength, 4);
  return blob;
}

function compressionContext(): zstd.CCtx {
  const c = new zstd.CCtx();
  for (const [parameter, value] of COMPRESSION) c.setParameter(parameter, value);
  return c;
}

export function checkChunkLength(data: Uint8Array): Uint8Array {
  if (data.length === 0 || data.length > CHUNK_SIZE) {
    throw new RangeError(`chunk length ${data.length} outside 1..${CHUNK_SIZE}`);
  }
  return data;
}

export interface BlobHeader {
  codec: Codec;
  length: number;
}

/** Parses and bounds-checks a blob header without touching the payload. */
export function readBlobHeader(blob: Uint8Array, digest: string): BlobHeader {
  if (blob.length < BLOB_HEADER_SIZE) {
    throw new ChunkIntegrityError(digest, `blob is ${blob.length} bytes, shorter than its ${BLOB_HEADER_SIZE}-byte header`);
  }
  if (blob.length > MAX_BLOB_SIZE) {
    throw new ChunkIntegrityError(digest, `blob is ${blob.length} bytes, over the ${MAX_BLOB_SIZE}-byte limit`);
  }
  if (blob[0] !== MAGIC[0] || blob[1] !== MAGIC[1] || blob[2] !== MAGIC[2]) {
    throw new ChunkIntegrityError(digest, 'bad magic (expected "CRN")');
  }
  const codec = blob[3];
  if (codec !== CODEC_RAW && codec !== CODEC_ZSTD) {
    throw new ChunkIntegrityError(digest, `unknown codec ${String(codec)}`);
  }
  const view = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const length = view.readUInt32BE(4);
  if (length === 0 || length > CHUNK_SIZE) {
    throw new ChunkIntegrityError(digest, `uncompressed length ${length} outside 1..${CHUNK_SIZE}`);
  }
  return { codec, length };
}

/**
 * Decodes a blob and proves it is the chunk named by `expectedDigest`. Anything
 * that comes back from storage or the network goes through here before use.
 * The chunk is written to the start of `into` when given (it must be large
 * enough), which lets callers recycle chunk buffers; the result is a view of it.
 */
export function decodeChunk(blob: Uint8Array, expectedDigest: string, into?: Buffer): Buffer {
  const digest = checkedDigest(expectedDigest);
  const { codec, length } = readBlobHeader(blob, digest);
  const data = chunkBuffer(into, length);
  if (codec === CODEC_RAW) {
    copyBytes(data, 0, verifiedRawPayload(blob, digest, length));
    return data;
  }
  decompressExactly(blob.subarray(BLOB_HEADER_SIZE), data, digest);
  checkContent(data, digest);
  return data;
}

/** Where a decoded chunk of `length` bytes goes: the start of `into`, which must hold it, or a buffer of its own. */
export function chunkBuffer(into: Buffer | undefined, length: number): Buffer {
  if (into && into.length < length) throw new RangeError(`a buffer of ${into.length} bytes cannot hold a chunk of ${length}`);
  return into ? into.subarray(0, length) : Buffer.allocUnsafeSlow(length);
}

let verifyScratch: Buffer | undefined;

/**
 * Proves a blob is the chunk named by `digest` without keeping the chunk.
 * A raw blob is hashed where it lies; a compressed one is decoded into a
 * scratch buffer of this thread. Returns the chunk's length.
 */
export function verifyChunk(blob: Uint8Array, expectedDigest: string): number {
  const digest = checkedDigest(expectedDigest);
  const { codec, length } = readBlobHeader(blob, digest);
  if (codec === CODEC_RAW) return verifiedRawPayload(blob, digest, length).length;
  verifyScratch ??= Buffer.allocUnsafeSlow(CHUNK_SIZE);
  return decodeChunk(blob, digest, verifyScratch).length;
}

/** The chunk a raw blob holds, as a view of it, once proven to be chunk `digest`. */
function verifiedRawPayload(blob: Uint8Array, digest: string, length: number): Uint8Array {
  const payload = blob.subarray(BLOB_HEADER_SIZE);
  if (payload.length !== length) {
    throw new ChunkIntegrityError(digest, `raw payload is ${payload.length} bytes, header says ${length}`);
  }
  checkContent(payload, digest);
  return payload;
}

/** The digest as stored (lowercase); a TypeError when it is not one. */
export function checkedDigest(expectedDigest: string): string {
  const digest = expectedDigest.toLowerCase();
  if (!isDigest(digest)) throw new TypeError(`not a hex chunk digest: ${JSON.stringify(expectedDigest)}`);
  return digest;
}

function checkContent(data: Uint8Array, digest: string): void {
  if (!contentMatches(data, digest)) throw new ChunkIntegrityError(digest, `content hashes to ${chunkDigest(data)}`);
}

/** Decompresses into exactly `data` (the declared length): a frame that would expand beyond it fails instead. */
function decompressExactly(payload: Uint8Array, data: Buffer, digest: string): void {
  dctx ??= new zstd.DCtx();
  let written: number;
  try {
    const frameLength = zstd.findFrameCompressedSize(payload);
    if (frameLength !== payload.length) {
      throw new Error(`payload holds ${payload.length - frameLength} bytes after the zstd frame`);
    }
    const declared = zstd.getFrameContentSize(payload);
    if (declared !== null && declared !== data.length) {
      throw new Error(`zstd frame declares ${declared} bytes, header says ${data.length}`);
    }
    written = dctx.decompress(data, payload);
  } catch (err) {
    // A failed decompression can leave the context mid-frame; start clean.
    dctx = undefined;
    throw new ChunkIntegrityError(digest, `zstd payload invalid: ${(err as Error).message}`);
  }
  if (written !== data.length) {
    throw new ChunkIntegrityError(digest, `zstd payload decompressed to ${written} bytes, header says ${data.length}`);
  }
}
