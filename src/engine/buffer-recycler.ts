import { alignedStart } from './disk-io.js';

/**
 * A free list of equally sized buffers. Pipelines that move a disk through
 * 4 MiB buffers reuse them instead of allocating one per chunk: a fresh
 * allocation costs page faults and zeroing in the kernel on every chunk, and
 * garbage collection later, which together cost more than the hashing.
 *
 * Buffers handed out own their memory, so they can be moved to a worker and
 * back (see ChunkPool); `give` takes a view of any of them back, whatever its
 * offset or length. With `align`, each buffer starts on such a memory boundary
 * (for O_DIRECT writes): it is a view into a slightly larger ArrayBuffer.
 */
export class BufferRecycler {
  private readonly free: ArrayBuffer[] = [];

  /**
   * @param size bytes of every buffer
   * @param keep most buffers kept for reuse; the rest are left to the collector
   * @param align memory alignment of every buffer's start, if any
   */
  constructor(
    readonly size: number,
    private readonly keep = 16,
    private readonly align = 0,
  ) {}

  take(): Buffer {
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size + this.align).buffer;
    return this.align ? Buffer.from(buffer, alignedStart(buffer, this.align), this.size) : Buffer.from(buffer);
  }

  /** Returns a buffer (or a view of one) obtained from `take`; others are ignored. */
  give(view: Uint8Array | undefined): void {
    const buffer = view?.buffer;
    if (buffer instanceof ArrayBuffer && buffer.byteLength === this.size + this.align && this.free.length < this.keep && !this.free.includes(buffer)) {
      this.free.push(buffer);
    }
  }
}
