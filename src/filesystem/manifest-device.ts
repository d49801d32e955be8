import { chunkLength, chunkOffset, type Manifest } from '../format/manifest.js';
import type { BlockDevice } from './block-device.js';

/** Chunks asked for ahead of a sequential read: enough to keep both cores decoding while the one before is sent. */
const READ_AHEAD = 3;

/**
 * A backed-up disk as a BlockDevice: each read is served from the chunks its
 * range covers, which `chunk` fetches and decodes (through a ChunkCache);
 * holes read as zeros without asking for anything.
 */
export class ManifestDevice implements BlockDevice {
  readonly size: number;
  /**
   * Told the digests of the next chunks when reads move on from one chunk to the
   * one after it, as reading a file does: fetching them then overlaps with the
   * block-by-block reads of the current one. Metadata reads, which jump, ask nothing.
   */
  readAhead: ((digest: string) => void) | undefined;
  private lastIndex = -1;

  constructor(
    private readonly manifest: Manifest,
    private readonly chunk: (index: number, digest: string) => Promise<Buffer>,
  ) {
    this.size = manifest.size;
  }

  async read(into: Buffer, offset: number, length: number, position: number): Promise<void> {
    const end = position + length;
    let at = position;
    while (at < end) {
      if (at >= this.size) {
        into.fill(0, offset + at - position, offset + length);
        return;
      }
      const index = Math.floor(at / this.manifest.chunkSize);
      const start = chunkOffset(this.manifest, index);
      const stop = Math.min(end, start + chunkLength(this.manifest, index));
      const dest = offset + at - position;
      const chunk = await this.chunkAt(index);
      if (!chunk) into.fill(0, dest, dest + stop - at);
      else chunk.copy(into, dest, at - start, stop - start);
      at = stop;
    }
  }

  async view(position: number, length: number): Promise<Buffer | null> {
    if (position >= this.size || length <= 0) return null;
    const index = Math.floor(position / this.manifest.chunkSize);
    const chunk = await this.chunkAt(index);
    if (!chunk) return null;
    const from = position - chunkOffset(this.manifest, index);
    return chunk.subarray(from, Math.min(chunk.length, from + length));
  }

  /** Chunk `index` decoded, or null for a hole; reading on from the chunk before asks for the next READ_AHEAD ahead. */
  private async chunkAt(index: number): Promise<Buffer | null> {
    if (index === this.lastIndex + 1) {
      for (let i = index + 1; i <= index + READ_AHEAD && i < this.manifest.chunks.length; i++) {
        const next = this.manifest.chunks[i];
        if (next) this.readAhead?.(next);
      }
    }
    this.lastIndex = index;
    const digest = this.manifest.chunks[index];
    return digest ? this.chunk(index, digest) : null;
  }
}
