import type { BufferRecycler } from '../compute/buffer-recycler.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import { CHUNK_SIZE, isZeroChunk } from '../format/chunk-codec.js';
import { chunkLength, chunkOffset, type Manifest } from '../format/manifest.js';
import type { RestoreMode, RestoreTarget } from './restore-target.js';

/** A chunk of the disk to fetch and write. */
export interface WantedChunk {
  digest: string;
  index: number;
  offset: number;
  length: number;
}

/**
 * Decides, chunk by chunk, what a restore must fetch: in `file` mode every
 * chunk but the holes; otherwise it reads the target first, zeroing holes
 * that do not read as zeros, and in `rollback` mode skipping chunks whose
 * content is already as wanted.
 */
export class RestorePlanner {
  private skipped = 0;
  private zeros: Buffer | undefined;

  constructor(
    private readonly manifest: Manifest,
    private readonly mode: RestoreMode,
    private readonly target: RestoreTarget,
    private readonly pool: ChunkPool,
    /** Where the target's current content is read into. */
    private readonly chunkBuffers: BufferRecycler,
  ) {}

  /** Chunks not written: holes left sparse, or content already as wanted. */
  get chunksSkipped(): number {
    return this.skipped;
  }

  /** What to fetch for chunk `index`; undefined when it needs no fetch (skipped, or zeroed here). */
  async plan(index: number): Promise<WantedChunk | undefined> {
    const { manifest, mode, target, chunkBuffers } = this;
    const digest = manifest.chunks[index] ?? null;
    const offset = chunkOffset(manifest, index);
    const length = chunkLength(manifest, index);
    if (mode === 'file') return digest === null ? this.skip() : { digest, index, offset, length };
    if (digest === null) {
      const current = await target.read(chunkBuffers.take().subarray(0, length), offset);
      const isZero = isZeroChunk(current);
      chunkBuffers.give(current);
      if (isZero) return this.skip();
      this.zeros ??= Buffer.alloc(CHUNK_SIZE);
      await target.write(this.zeros.subarray(0, length), offset);
      return undefined;
    }
    if (mode === 'rollback') {
      const hashed = await this.pool.hash(await target.read(chunkBuffers.take().subarray(0, length), offset));
      chunkBuffers.give(hashed.data);
      if (hashed.digest === digest) return this.skip();
    }
    return { digest, index, offset, length };
  }

  private skip(): undefined {
    this.skipped += 1;
    return undefined;
  }
}
