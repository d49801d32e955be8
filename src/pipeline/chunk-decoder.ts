import type { BufferRecycler } from '../compute/buffer-recycler.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import { Semaphore, settleAll } from '../compute/concurrency.js';
import { BLOB_HEADER_SIZE, CODEC_RAW, ChunkIntegrityError, readBlobHeader } from '../format/chunk-codec.js';
import type { RestoreTarget } from './restore-target.js';
import type { WantedChunk } from './restore-planner.js';

export interface ChunkDecoderOptions {
  pool: ChunkPool;
  /** Where chunks are decoded into; each goes back once written. */
  chunkBuffers: BufferRecycler;
  /** Chunks decoded or being written at once, across all fetches. */
  atOnce: number;
  /** Where the chunks go: the write stage. */
  target: RestoreTarget;
  signal: AbortSignal;
}

/**
 * The decode stage: proves each fetched blob to be the chunk it was asked
 * for, decodes it (up to `atOnce` chunks at once, each holding a chunk
 * buffer) and writes it wherever the disk wants it.
 */
export class ChunkDecoder {
  private readonly pool: ChunkPool;
  private readonly chunkBuffers: BufferRecycler;
  private readonly target: RestoreTarget;
  private readonly signal: AbortSignal;
  private readonly decoding: Semaphore;
  private fetchedBytes = 0;

  constructor(options: ChunkDecoderOptions) {
    ({ pool: this.pool, chunkBuffers: this.chunkBuffers, target: this.target, signal: this.signal } = options);
    this.decoding = new Semaphore(options.atOnce);
  }

  /** Blob bytes taken in so far. */
  get bytesFetched(): number {
    return this.fetchedBytes;
  }

  /**
   * Decodes and writes `blobs`, those of `digests`, to every place in
   * `wanted`; settles only once every one has, as the blobs' memory is
   * reused then; rejects with the first failure.
   */
  writeAll(digests: readonly string[], blobs: readonly Buffer[], wanted: readonly WantedChunk[]): Promise<void[]> {
    return settleAll(digests.map((digest, i) => this.decoding.run(() => this.writeOne(blobs[i]!, digest, wanted))));
  }

  private async writeOne(blob: Buffer, digest: string, wanted: readonly WantedChunk[]): Promise<void> {
    const { signal } = this;
    this.fetchedBytes += blob.length;
    signal.throwIfAborted();
    const data = await this.verifiedChunk(blob, digest);
    try {
      for (const { index, offset, length } of wanted.filter((w) => w.digest === digest)) {
        // A verified chunk of the wrong length means the manifest itself is
        // inconsistent; writing it would spill into the next chunk or past the end.
        if (data.length !== length) {
          throw new ChunkIntegrityError(digest, `is ${data.length} bytes but chunk ${index} of the disk is ${length}`);
        }
        signal.throwIfAborted();
        await this.target.write(data, offset);
      }
    } finally {
      this.chunkBuffers.give(data);
    }
  }

  /**
   * The chunk in `blob`, proven to be `digest`. A raw chunk that lies aligned
   * for direct I/O is hashed and written where it lies; any other is decoded
   * into a chunk buffer.
   */
  private async verifiedChunk(blob: Buffer, digest: string): Promise<Buffer> {
    if (readBlobHeader(blob, digest).codec === CODEC_RAW && this.target.suitsDirect(blob.subarray(BLOB_HEADER_SIZE))) {
      const { blob: back } = await this.pool.verify(blob, digest);
      return back.subarray(BLOB_HEADER_SIZE);
    }
    return (await this.pool.decode(blob, digest, this.chunkBuffers.take())).data;
  }
}
