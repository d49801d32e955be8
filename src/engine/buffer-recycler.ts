/**
 * A free list of equally sized buffers. Pipelines that move a disk through
 * 4 MiB buffers reuse them instead of allocating one per chunk: a fresh
 * allocation costs page faults and zeroing in the kernel on every chunk, and
 * garbage collection later, which together cost more than the hashing.
 *
 * Buffers handed out own their memory; `give` takes a view of any of them back,
 * whatever its offset or length. Plain buffers are moved to a worker and back
 * (see ChunkPool); `shared` ones live in a SharedArrayBuffer, which a worker
 * reads in place, so the view the caller holds stays valid throughout.
 */
export class BufferRecycler {
  private readonly free: (ArrayBuffer | SharedArrayBuffer)[] = [];

  /**
   * @param size bytes of every buffer
   * @param keep most buffers kept for reuse; the rest are left to the collector
   */
  constructor(
    readonly size: number,
    private readonly keep = 16,
    private readonly shared = false,
  ) {}

  take(): Buffer {
    const buffer = this.free.pop();
    if (buffer) return Buffer.from(buffer);
    return this.shared ? Buffer.from(new SharedArrayBuffer(this.size)) : Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer (or a view of one) obtained from `take`; others are ignored. */
  give(view: Uint8Array | undefined): void {
    const buffer = view?.buffer;
    const kind = this.shared ? SharedArrayBuffer : ArrayBuffer;
    if (buffer instanceof kind && buffer.byteLength === this.size && this.free.length < this.keep && !this.free.includes(buffer)) {
      this.free.push(buffer);
    }
  }
}
