import { chunkLength, chunkOffset, type Manifest } from '../format/manifest.js';
import type { BlockDevice } from './block-device.js';

/**
 * A backed-up disk as a BlockDevice: each read is served from the chunks its
 * range covers, which `chunk` fetches and decodes (through a ChunkCache);
 * holes read as zeros without asking for anything.
 */
export class ManifestDevice implements BlockDevice {
  readonly size: number;

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
      if (!digest) into.fill(0, dest, dest + stop - at);
      else (await this.chunk(index, digest)).copy(into, dest, at - start, stop - start);
      at = stop;
    }
  }
}
