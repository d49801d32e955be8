import { chunkLength, chunkOffset, type Manifest } from '../format/manifest.js';
import type { BlockDevice } from './block-device.js';

/**
 * A backed-up disk as a BlockDevice: each read is served from the chunks its
 * range covers, which `chunk` fetches and decodes (through a ChunkCache);
 * holes read as zeros without asking for anything.
 */
export class ManifestDevice implements BlockDevice {
  readonly size: number;
  /**
   * Told the digest of the next chunk when reads move on from one chunk to the
   * one after it, as reading a file does: fetching it then overlaps with the
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
      const digest = this.manifest.chunks[index];
      const dest = offset + at - position;
      if (index === this.lastIndex + 1) {
        const next = this.manifest.chunks[index + 1];
        if (next) this.readAhead?.(next);
      }
      this.lastIndex = index;
      if (!digest) into.fill(0, dest, dest + stop - at);
      else (await this.chunk(index, digest)).copy(into, dest, at - start, stop - start);
      at = stop;
    }
  }
}
