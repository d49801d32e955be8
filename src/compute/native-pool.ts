import { loadNativeHelper } from '../runtime/index.js';
import { BufferRecycler } from './buffer-recycler.js';
import {
  BLOB_CAPACITY,
  BLOB_HEADER_SIZE,
  checkBlobBuffer,
  checkChunkLength,
  checkedDigest,
  chunkBuffer,
  CHUNK_SIZE,
  CODEC_RAW,
  CODEC_ZSTD,
  type Codec,
  decodeChunk,
  ownedCopy,
  readBlobHeader,
  sealBlob,
  verifyChunk,
  ZSTD_PARAMETERS,
} from '../format/chunk-codec.js';
import { Semaphore } from './concurrency.js';
import { poolSize, PoolClosedError, type ChunkPool, type ChunkPoolOptions } from './chunk-pool.js';
import { WorkerPool } from './worker-pool.js';

/** The chunk jobs of native/chunk_jobs.c, run on libuv's thread pool. */
interface ChunkJobs {
  hashJob(data: Uint8Array): Promise<Buffer | null>;
  compressJob(data: Uint8Array, into: Uint8Array, parameters: Int32Array): Promise<number>;
  decodeJob(payload: Uint8Array, compressed: boolean, length: number, into: Uint8Array | null): Promise<Buffer | null>;
}

function loadChunkJobs(): ChunkJobs | null {
  const addon = loadNativeHelper<Partial<ChunkJobs>>('chunk');
  return addon?.hashJob && addon.compressJob && addon.decodeJob ? (addon as ChunkJobs) : null;
}

const jobs = loadChunkJobs();

/** Whether this build runs chunk work as native jobs (else in worker threads). */
export const nativeChunkJobs = jobs !== null;

/**
 * The chunk pool as native jobs on libuv's thread pool (native/chunk_jobs.c):
 * the same work as the worker threads, with no thread to start (~75 ms of
 * CPU each), no message per chunk, and no V8 heap beside the main one.
 * Buffers stay where they are: each job reads and writes the caller's memory
 * while it runs, so callers must leave it alone until the answer, as they do
 * with the workers.
 *
 * At most `size` jobs run at once. libuv's threads also serve the file
 * system; a server whose uploads filled them with verification would make
 * its chunk writes wait (bin/cairn.js gives the pool six threads beyond one
 * per core for that).
 *
 * The jobs know payloads, not blobs: the header is read and written here, in
 * chunk-codec.ts's terms. When a job finds a payload wrong, or a digest other
 * than the one expected, chunk-codec.ts's decoder looks again, on this
 * thread: it says what is wrong, and knows chunks stored under SHA-256.
 */
export class NativeChunkPool implements ChunkPool {
  readonly size: number;
  private readonly lanes: Semaphore;
  // Where verification decompresses: a chunk it does not keep.
  private readonly scratch: BufferRecycler;
  private closed = false;

  constructor(
    private readonly native: ChunkJobs,
    options: ChunkPoolOptions = {},
  ) {
    this.size = poolSize(options);
    this.lanes = new Semaphore(this.size);
    this.scratch = new BufferRecycler(CHUNK_SIZE, { keep: this.size });
  }

  async hash(data: Buffer): Promise<{ digest: string | null; data: Buffer }> {
    checkChunkLength(data);
    const digest = await this.run(() => this.native.hashJob(data));
    return { digest: digest && digest.toString('hex'), data };
  }

  async compress(data: Buffer, into?: Buffer): Promise<{ blob: Buffer; data: Buffer }> {
    checkChunkLength(data);
    checkBlobBuffer(into);
    const target = into ?? Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    const compressed = await this.run(() => this.native.compressJob(data, target.subarray(BLOB_HEADER_SIZE), ZSTD_PARAMETERS));
    const blob = compressed > 0 ? sealBlob(target, CODEC_ZSTD, data.length, compressed) : sealBlob(target, CODEC_RAW, data.length, data.length);
    // A blob of its own is exactly its size, as compressChunk makes it.
    return { blob: into ? blob : ownedCopy(blob), data };
  }

  async decode(blob: Buffer, digest: string, into?: Buffer): Promise<{ data: Buffer; blob: Buffer }> {
    const expected = checkedDigest(digest);
    const { codec, length } = readBlobHeader(blob, expected);
    const data = chunkBuffer(into, length);
    if ((await this.run(() => this.decodeJob(blob, codec, length, data))) !== expected) decodeChunk(blob, expected, data);
    return { data, blob };
  }

  async verify(blob: Buffer, digest: string): Promise<{ length: number; blob: Buffer }> {
    const expected = checkedDigest(digest);
    const { codec, length } = readBlobHeader(blob, expected);
    // A raw payload is hashed where it lies; a compressed one is decoded into a scratch buffer.
    const found = codec === CODEC_RAW ? await this.run(() => this.decodeJob(blob, codec, length, null)) : await this.withScratch((scratch) => this.decodeJob(blob, codec, length, scratch));
    if (found !== expected) verifyChunk(blob, expected);
    return { length, blob };
  }

  /** The digest of the chunk in `blob`, decoded into `into`; null where the payload is not the chunk its header declares. */
  private async decodeJob(blob: Buffer, codec: Codec, length: number, into: Buffer | null): Promise<string | null> {
    const payload = blob.subarray(BLOB_HEADER_SIZE);
    if (codec === CODEC_RAW && payload.length !== length) return null;
    const digest = await this.native.decodeJob(payload, codec === CODEC_ZSTD, length, into);
    return digest && digest.toString('hex');
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** A scratch buffer is taken only once a lane is free, so there are never more than lanes. */
  private withScratch<T>(work: (scratch: Buffer) => Promise<T>): Promise<T> {
    return this.run(async () => {
      const scratch = this.scratch.take();
      try {
        return await work(scratch);
      } finally {
        this.scratch.give(scratch);
      }
    });
  }

  private run<T>(job: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new PoolClosedError());
    return this.lanes.run(() => (this.closed ? Promise.reject(new PoolClosedError()) : job()));
  }
}

/**
 * The chunk pool this build has: native jobs where native/ was built with
 * zstd (as `npm install` does), worker threads otherwise.
 */
export function createChunkPool(options?: ChunkPoolOptions): ChunkPool {
  return jobs ? new NativeChunkPool(jobs, options) : new WorkerPool(options);
}

/** The native pool, for tests that must run it whatever the build; null where it was not built. */
export function createNativeChunkPool(options?: ChunkPoolOptions): NativeChunkPool | null {
  return jobs ? new NativeChunkPool(jobs, options) : null;
}
