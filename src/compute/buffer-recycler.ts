import { alignedStart } from '../io/disk-io.js';
import { adviseHugePages, canAdviseHugePages, HUGE_PAGE_SIZE } from '../runtime/index.js';

/** The smallest page a buffer's memory may be faulted in by. */
const PAGE_SIZE = 4096;

export interface RecyclerOptions {
  /** Most buffers kept for reuse; the rest are left to the collector. */
  keep?: number;
  /**
   * Buffers in a SharedArrayBuffer, which a worker uses in place (see
   * ChunkPool): nothing moves, so no new ArrayBuffer is made per message.
   * Every buffer moved back from a worker counts to V8 as freshly allocated
   * external memory, which it answers with extra collections (a server taking
   * a 2 GiB backup: 25 of them, against 5 with shared memory).
   */
  shared?: boolean;
  /** Memory alignment of every buffer's start, for O_DIRECT reads and writes. */
  align?: number;
  /**
   * Whether buffers of a huge page or more ask for huge pages (the default).
   * Not for buffers that are mostly filled in part and never pinned for
   * direct I/O: the kernel zeroes a huge page whole when it is first touched,
   * and a VM that hands free memory back to its host (free page reporting)
   * hands it back in exactly such blocks, so each one costs the host
   * hundreds of faults on first touch.
   */
  hugePages?: boolean;
}

/**
 * A free list of equally sized buffers. Pipelines that move a disk through
 * 4 MiB buffers reuse them instead of allocating one per chunk: a fresh
 * allocation costs page faults and zeroing in the kernel on every chunk, and
 * garbage collection later, which together cost more than the hashing.
 *
 * Buffers handed out own their memory, so they can be moved to a worker and
 * back; `give` takes a view of any of them back, whatever its offset or length.
 * With `align`, each buffer is a view into a slightly larger ArrayBuffer.
 *
 * Buffers of a huge page or more start on a huge page boundary and ask for
 * huge pages (see adviseHugePages) unless told not to, since they live long
 * and are written whole: first touching a recycler's 4 MiB buffer then costs
 * two page faults instead of 1024 (with 2 MiB huge pages). The alignment slack, up to a huge
 * page, is address space only; no page of it is ever touched.
 */
export class BufferRecycler {
  private readonly free: (ArrayBuffer | SharedArrayBuffer)[] = [];
  private readonly keep: number;
  private readonly shared: boolean;
  private readonly align: number;
  private readonly hugePages: boolean;

  /** @param size bytes of every buffer */
  constructor(
    readonly size: number,
    options: RecyclerOptions = {},
  ) {
    this.keep = options.keep ?? 16;
    this.shared = options.shared ?? false;
    this.hugePages = (options.hugePages ?? true) && canAdviseHugePages && size >= HUGE_PAGE_SIZE;
    // Huge page alignment is also aligned for O_DIRECT (4 KiB).
    this.align = this.hugePages ? Math.max(HUGE_PAGE_SIZE, options.align ?? 0) : (options.align ?? 0);
  }

  take(): Buffer {
    const spare = this.free.pop();
    return spare ? this.viewOf(spare) : this.allocate();
  }

  /**
   * Allocates buffers until `count` (at most `keep`) are ready for reuse, and
   * faults their memory in now, for a long-lived process to pay at its start
   * what its first transfer would pay as the buffers are first written (see
   * blobSlotPool in app.ts).
   */
  prefill(count = this.keep): void {
    while (this.free.length < Math.min(count, this.keep)) {
      const view = this.allocate();
      // A write, not a read: reading would map the shared zero page and fault again on the first write.
      for (let at = 0; at < view.length; at += PAGE_SIZE) view[at] = 0;
      this.free.push(view.buffer);
    }
  }

  /** Buffers ready for reuse. */
  get spare(): number {
    return this.free.length;
  }

  /** One buffer for each length, seen through `blobs` as its first `length` bytes, until the lease is released. */
  leaseOf(lengths: readonly number[]): Lease {
    const buffers = lengths.map(() => this.take());
    return new Lease(
      this,
      buffers,
      lengths.map((length, i) => buffers[i]!.subarray(0, length)),
    );
  }

  /**
   * `count` buffers for `fill` to put blobs in (its result, views of them),
   * held until the lease is released; if `fill` fails they come back at once.
   */
  async lease(count: number, fill: (buffers: Buffer[]) => Promise<Buffer[]>): Promise<Lease> {
    const buffers = Array.from({ length: count }, () => this.take());
    try {
      return new Lease(this, buffers, await fill(buffers));
    } catch (err) {
      for (const buffer of buffers) this.give(buffer);
      throw err;
    }
  }

  /** Returns a buffer (or a view of one) obtained from `take`; others are ignored. */
  give(view: Uint8Array | undefined): void {
    const buffer = view?.buffer;
    const kind = this.shared ? SharedArrayBuffer : ArrayBuffer;
    if (buffer instanceof kind && buffer.byteLength === this.size + this.align && this.free.length < this.keep && !this.free.includes(buffer)) {
      this.free.push(buffer);
    }
  }

  private allocate(): Buffer {
    const view = this.viewOf(this.shared ? new SharedArrayBuffer(this.size + this.align) : Buffer.allocUnsafeSlow(this.size + this.align).buffer);
    if (this.hugePages) adviseHugePages(view);
    return view;
  }

  private viewOf(buffer: ArrayBuffer | SharedArrayBuffer): Buffer {
    return this.align ? Buffer.from(buffer, alignedStart(buffer, this.align), this.size) : Buffer.from(buffer);
  }
}

/**
 * Blobs in buffers taken from a recycler, owned by the holder until `release`
 * gives the buffers back. Releasing twice is a bug (the buffers may already
 * hold someone else's blobs), so it throws.
 */
export class Lease {
  private released = false;

  constructor(
    private readonly recycler: BufferRecycler,
    /** The whole buffers, for a holder that fills them past the blobs (a batch body's padding). */
    readonly buffers: readonly Buffer[],
    readonly blobs: Buffer[],
  ) {}

  release(): void {
    if (this.released) throw new Error('This lease of buffers was released already; a second release would hand them out twice.');
    this.released = true;
    for (const buffer of this.buffers) this.recycler.give(buffer);
  }
}
