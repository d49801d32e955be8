/**
 * A free list of equally sized buffers. Pipelines that move a disk through
 * 4 MiB buffers reuse them instead of allocating one per chunk: a fresh
 * allocation costs page faults and zeroing in the kernel on every chunk, and
 * garbage collection later, which together cost more than the hashing.
 *
 * Buffers handed out own their memory, so they can be moved to a worker and
 * back (see ChunkPool); `give` takes a view of any of them back, whatever its
 * offset or length.
 */
export class BufferRecycler {
  private readonly free: ArrayBuffer[] = [];

  /**
   * @param size bytes of every buffer
   * @param keep most buffers kept for reuse; the rest are left to the collector
   */
  constructor(
    readonly size: number,
    private readonly keep = 16,
  ) {}

  take(): Buffer {
    const buffer = this.free.pop();
    if (buffer) return Buffer.from(buffer);
    return Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer (or a view of one) obtained from `take`; others are ignored. */
  give(view: Uint8Array | undefined): void {
    const buffer = view?.buffer;
    if (buffer instanceof ArrayBuffer && buffer.byteLength === this.size && this.free.length < this.keep && !this.free.includes(buffer)) {
      this.free.push(buffer);
    }
  }
}
