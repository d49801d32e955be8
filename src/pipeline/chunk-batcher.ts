import type { BufferRecycler } from '../compute/buffer-recycler.js';
import { BLOB_CAPACITY } from '../format/chunk-codec.js';
import { MAX_BATCH_BYTES, type PendingUpload } from './batch-uploader.js';
import type { PreparedChunk } from './chunk-encoder.js';

/**
 * Takes encoded chunks in disk order: records each digest in the manifest,
 * drops repeats of a digest already taken charge of, and groups the rest into
 * batches of at most `batchSize` chunks and MAX_BATCH_BYTES of blob buffers
 * (counted whole, as that is the memory they pin).
 */
export class ChunkBatcher {
  /** Digest of each chunk in disk order, null for holes: the manifest's content. */
  readonly digests: (string | null)[];
  /**
   * Digests that are in the store or that an earlier batch has taken charge of
   * uploading: a repeat later on the disk costs nothing but its manifest entry.
   */
  readonly claimed = new Set<string>();
  private batch = new Map<string, PendingUpload>();
  private batchBytes = 0;

  constructor(
    chunkCount: number,
    private readonly batchSize: number,
    private readonly blobBuffers: BufferRecycler,
  ) {
    this.digests = new Array<string | null>(chunkCount).fill(null);
  }

  /** Takes the next chunk in disk order; returns the batch it completes, if it does. */
  add(encoded: PreparedChunk): PendingUpload[] | undefined {
    const { index, digest, blob } = encoded;
    if (digest === null) return undefined;
    this.digests[index] = digest;
    if (this.claimed.has(digest)) {
      this.blobBuffers.give(blob);
      return undefined;
    }
    this.claimed.add(digest);
    this.batch.set(digest, { digest, index, blob });
    if (blob) this.batchBytes += BLOB_CAPACITY;
    return this.batch.size >= this.batchSize || this.batchBytes >= MAX_BATCH_BYTES ? this.flush() : undefined;
  }

  /** The batch being filled, if it holds any chunk; the next one starts empty. */
  flush(): PendingUpload[] | undefined {
    if (this.batch.size === 0) return undefined;
    const pending = [...this.batch.values()];
    this.batch = new Map();
    this.batchBytes = 0;
    return pending;
  }
}
