import type { BufferRecycler } from '../compute/buffer-recycler.js';
import type { ChunkDecoder } from './chunk-decoder.js';
import type { WantedChunk } from './restore-planner.js';

/** Where a restore gets its chunks: normally the server's chunk API. */
export interface ChunkSource {
  /**
   * The stored blobs for `digests` (distinct, at most MAX_READ_CHUNKS), in
   * that order; they are verified here, so they need not be trusted. `into`
   * (aligned, BLOB_SLOT bytes for each digest) may hold them, to spare an
   * allocation per fetch, placed as replySlots does: a raw chunk is then
   * written from there.
   */
  fetch(digests: string[], signal: AbortSignal | undefined, into: Buffer): Promise<Buffer[]>;
}

/**
 * The fetch stage: asks the source for the chunks of one group in one
 * request, into a buffer from `blobs`, and hands them to the decoder; the
 * buffer goes back once every chunk of it is written.
 */
export class ChunkFetcher {
  constructor(
    private readonly source: ChunkSource,
    /** Fetch buffers: BLOB_SLOT bytes for each chunk of a fetch. */
    private readonly blobs: BufferRecycler,
    private readonly decoder: ChunkDecoder,
    private readonly signal: AbortSignal,
  ) {}

  /** Fetches the chunks `wanted` in one request, then decodes (verifying) and writes each. */
  async fetch(wanted: readonly WantedChunk[]): Promise<void> {
    const digests = [...new Set(wanted.map((w) => w.digest))];
    const into = this.blobs.take();
    const fetched = await this.source.fetch(digests, this.signal, into);
    if (fetched.length !== digests.length) throw new Error(`asked for ${digests.length} chunks, got ${fetched.length}`);
    // Every decode settles before this does: the target is closed once the lanes are done.
    await this.decoder.writeAll(digests, fetched, wanted);
    this.blobs.give(into);
  }
}
