import type { BufferRecycler } from '../compute/buffer-recycler.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import type { DiskSource, ReadChunk } from './disk-source.js';

/** A chunk after the encoder has seen it: digest null for all zeros; a blob unless it need not be sent. */
export interface PreparedChunk {
  index: number;
  digest: string | null;
  blob?: Buffer;
}

export class DiskChangedError extends Error {
  constructor(path: string, index: number) {
    super(`${path} changed while it was being backed up (chunk ${index} no longer matches what was read before); back up an unmounted disk or a snapshot of it`);
    this.name = 'DiskChangedError';
  }
}

export interface ChunkEncoderOptions {
  pool: ChunkPool;
  /** Where chunks are read again (encodeAgain). */
  source: DiskSource;
  /** Where chunk buffers go back once hashed or compressed. */
  buffers: BufferRecycler;
  /** Where blobs are compressed into. */
  blobBuffers: BufferRecycler;
  /** Chunks encoded at once. */
  window: number;
  /** Digests the store most likely holds (the backup's `known` hint), once it has come. */
  known: Promise<ReadonlySet<string>>;
  /** Digests an earlier chunk has taken charge of (ChunkBatcher.claimed). */
  claimed: ReadonlySet<string>;
}

/**
 * The encode stage: hashes each chunk read and compresses, through the pool,
 * only those that may have to be sent (hashing is cheap, compressing is the
 * costly part), up to `window` chunks at once, and hands them on in disk
 * order. The source hashes chunks as it reads them where it can, the pool
 * otherwise; either finds the zeros that the file system does not know as holes.
 */
export class ChunkEncoder {
  private readonly pool: ChunkPool;
  private readonly source: DiskSource;
  private readonly buffers: BufferRecycler;
  private readonly blobBuffers: BufferRecycler;
  private readonly window: number;
  private readonly known: Promise<ReadonlySet<string>>;
  private readonly claimed: ReadonlySet<string>;
  /** The chunks being encoded, in disk order. */
  private readonly encoding: Promise<PreparedChunk>[] = [];

  constructor(options: ChunkEncoderOptions) {
    ({ pool: this.pool, source: this.source, buffers: this.buffers, blobBuffers: this.blobBuffers, window: this.window, known: this.known, claimed: this.claimed } = options);
  }

  /** Starts encoding a chunk read. */
  push(chunk: ReadChunk): void {
    const encoded = this.encode(chunk);
    encoded.catch(() => {}); // observed through next(), in order; never unhandled
    this.encoding.push(encoded);
  }

  /** Whether `window` chunks are being encoded: the next must be taken before another is pushed. */
  get full(): boolean {
    return this.encoding.length >= this.window;
  }

  get empty(): boolean {
    return this.encoding.length === 0;
  }

  /** The earliest chunk pushed and not taken yet; not to be called when empty. */
  next(): Promise<PreparedChunk> {
    return this.encoding.shift()!;
  }

  /** The encodes not taken yet, which must settle before their buffers are released. */
  get running(): readonly Promise<PreparedChunk>[] {
    return this.encoding;
  }

  /** For a `known` chunk the store lacks after all: reads, checks and compresses it again. */
  async encodeAgain(index: number, digest: string): Promise<Buffer> {
    const hashed = await this.digestOf(await this.source.readChunk(index, this.buffers, { hash: true }));
    if (hashed.digest !== digest) {
      this.buffers.give(hashed.data);
      throw new DiskChangedError(this.source.path, index);
    }
    const { blob, data } = await this.pool.compress(hashed.data, this.blobBuffers.take());
    this.buffers.give(data);
    return blob;
  }

  private async encode(chunk: ReadChunk): Promise<PreparedChunk> {
    const hashed = await this.digestOf(chunk);
    const known = await this.known;
    const { digest } = hashed;
    if (digest === null || known.has(digest) || this.claimed.has(digest)) {
      this.buffers.give(hashed.data);
      return { index: chunk.index, digest };
    }
    const { blob, data } = await this.pool.compress(hashed.data, this.blobBuffers.take());
    this.buffers.give(data);
    return { index: chunk.index, digest, blob };
  }

  private digestOf(chunk: ReadChunk): Promise<{ digest: string | null; data: Buffer }> {
    return chunk.digest !== undefined ? Promise.resolve({ digest: chunk.digest, data: chunk.data }) : this.pool.hash(chunk.data);
  }
}
