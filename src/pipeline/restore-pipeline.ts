import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DIRECT_IO_ALIGNMENT, DirectChannel, dropCached } from '../io/disk-io.js';
import { readFull, writeFull } from '../io/file-io.js';
import { BufferRecycler } from '../compute/buffer-recycler.js';
import { BLOB_SLOT, MAX_READ_CHUNKS } from '../wire/chunk-batch.js';
import { BLOB_HEADER_SIZE, CHUNK_SIZE, CODEC_RAW, ChunkIntegrityError, isZeroChunk, readBlobHeader } from '../format/chunk-codec.js';
import { checkPositiveInteger, linkedAbortController, runConcurrently, Semaphore, settleAll } from '../compute/concurrency.js';
import { blockDeviceSize } from './disk-source.js';
import { chunkLength, chunkOffset, expectedChunkCount, type Manifest } from '../format/manifest.js';
import type { ChunkPool } from '../compute/chunk-pool.js';

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
 * Chunks fetched in one request (the server takes up to MAX_READ_CHUNKS), and
 * fetches in flight: while the chunks of one are decoded and written, the
 * next ones are on their way. Per request the server pays for the caller's
 * token, the point's access check and the HTTP exchange: restoring the 2 GiB
 * benchmark disk on our test VM took 0.76–0.90 s of server CPU a chunk at a
 * time, and 0.45–0.62 s four at a time. Each side holds a buffer slot for
 * every chunk in flight. In medians of 6 restores, three fetches of four took
 * 1.39 s against 1.59 s for two of four; in a later set, four fetches of two
 * took 1.67 s against 1.78 s for three of four, with a third less memory
 * (three of three: 1.71 s; five of two: 1.60 s, for more memory); three of
 * two were 4–10% slower than four. The server answers from the same blob
 * slots it takes uploads in (blobSlots), so what a restore holds there is
 * what the backup before it did.
 */
const CHUNKS_PER_FETCH = Math.min(2, MAX_READ_CHUNKS);
const FETCHES_IN_FLIGHT = 4;

/**
 * Chunks decoded or being written at once, each in its own 4 MiB buffer,
 * across all fetches: enough for the pool to decode while others write,
 * and the bound on a restore's memory beyond its fetch buffers. Letting
 * every fetch decode all its chunks at once (three fetches of four) took
 * 24 MB more and was no faster, as the pool decodes only as many at a time as
 * it has cores.
 */
const CHUNKS_DECODED_AT_ONCE = 6;

/**
 * - `file`: (re)create a sparse image file; holes stay unallocated.
 * - `device`: overwrite an existing block device (or image file) in place;
 *   holes are zeroed unless they already read as zero.
 * - `rollback`: the target holds an older state of the same disk; only chunks
 *   whose current content differs are fetched and written.
 */
export type RestoreMode = 'file' | 'device' | 'rollback';

/**
 * Chunks whose memory and place in the target are whole aligned blocks (all
 * but an odd-sized last one) are written with O_DIRECT: a restore writes each
 * byte once, and copying it into the page cache costs the kernel fresh pages,
 * which in a VM cost the host too. Restoring the 2 GiB benchmark disk on our
 * test VM took 2.44 s this way (median of 4) against 2.77 s through the cache.
 * What goes through the cache is flushed in the background every this many
 * written bytes, and the flushed pages are dropped, so that the few pages in
 * use are reused warm; without, the same restore took 4.2 s, most of it in
 * one flush at the end.
 */
const FLUSH_EVERY = 32 * 1024 * 1024;

export interface RestoreProgress {
  /** Disk bytes dealt with so far, whether written, skipped or left as holes. */
  bytesDone: number;
  bytesWritten: number;
  bytesTotal: number;
}

export interface RestoreOptions {
  manifest: Manifest;
  target: string;
  source: ChunkSource;
  pool: ChunkPool;
  mode: RestoreMode;
  onProgress?: (progress: RestoreProgress) => void;
  /** Fetches in flight at once, each of up to two chunks. */
  fetches?: number;
  /** Create the target as a regular file if absent; defaults to true only in `file` mode. */
  createIfMissing?: boolean;
  signal?: AbortSignal;
}

export interface RestoreResult {
  chunksWritten: number;
  bytesWritten: number;
  /** Chunks not written: holes left sparse, or content already as wanted. */
  chunksSkipped: number;
  /** Blob bytes fetched from the source. */
  bytesFetched: number;
}

export class RestoreTargetError extends Error {
  readonly target: string;

  constructor(target: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot restore to ${target}: ${reason}`, options);
    this.name = 'RestoreTargetError';
    this.target = target;
  }
}

interface OpenedTarget {
  handle: FileHandle;
  created: boolean;
}

async function openTarget(target: string, mode: RestoreMode, size: number, createIfMissing: boolean): Promise<OpenedTarget> {
  let handle: FileHandle;
  let created = false;
  try {
    // Read access is needed outside `file` mode, to compare before writing.
    handle = await open(target, fsConstants.O_RDWR);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new RestoreTargetError(target, (err as Error).message, { cause: err });
    if (!createIfMissing) throw new RestoreTargetError(target, 'it does not exist', { cause: err });
    try {
      handle = await open(target, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      created = true;
    } catch (createErr) {
      throw new RestoreTargetError(target, (createErr as Error).message, { cause: createErr });
    }
  }
  try {
    const st = await handle.stat({ bigint: true });
    if (st.isFile()) {
      if (mode === 'file') {
        // Dropping all old blocks first is what leaves holes sparse: a later
        // extend allocates nothing, whereas writing zeros would.
        await handle.truncate(0);
      }
      await handle.truncate(size);
    } else if (st.isBlockDevice()) {
      if (mode === 'file') {
        throw new RestoreTargetError(target, "it is a block device; use mode 'device' or 'rollback'");
      }
      let deviceSize: number;
      try {
        deviceSize = await blockDeviceSize(st.rdev);
      } catch (err) {
        throw new RestoreTargetError(target, (err as Error).message, { cause: err });
      }
      if (deviceSize < size) {
        throw new RestoreTargetError(target, `device holds ${deviceSize} bytes, the disk needs ${size}`);
      }
    } else {
      throw new RestoreTargetError(target, 'not a regular file or block device');
    }
    return { handle, created };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readFully(handle: FileHandle, buf: Buffer, position: number): Promise<Buffer> {
  const filled = await readFull(handle, buf, position);
  if (filled < buf.length) throw new Error(`unexpected end of target at byte ${position + filled}`);
  return buf;
}

function checkManifest(manifest: Manifest): void {
  if (manifest.chunkSize !== CHUNK_SIZE) {
    throw new RangeError(`manifest chunk size ${manifest.chunkSize} is not ${CHUNK_SIZE}`);
  }
  if (manifest.chunks.length !== expectedChunkCount(manifest.size, manifest.chunkSize)) {
    throw new RangeError(`manifest lists ${manifest.chunks.length} chunks for a disk of ${manifest.size} bytes`);
  }
}

/**
 * Writes the disk described by `manifest` to `target`, verifying every chunk
 * before it is written, then fsyncs. A failure leaves the target partly
 * written; integrity failures name the chunk digest, the caller adds the point.
 */
export async function restoreDisk(options: RestoreOptions): Promise<RestoreResult> {
  const { manifest, target, source, pool, mode, onProgress } = options;
  const lanes = options.fetches ?? FETCHES_IN_FLIGHT;
  checkPositiveInteger('fetches', lanes);
  if (mode !== 'file' && mode !== 'device' && mode !== 'rollback') {
    throw new TypeError(`unknown restore mode ${JSON.stringify(mode)}`);
  }
  checkManifest(manifest);
  options.signal?.throwIfAborted();

  const { handle, created } = await openTarget(target, mode, manifest.size, options.createIfMissing ?? mode === 'file');
  const { controller, dispose } = linkedAbortController(options.signal, lanes);
  const signal = controller.signal;
  const stats = { chunksWritten: 0, bytesWritten: 0, chunksSkipped: 0, bytesFetched: 0 };
  let bytesDone = 0;
  let zeros: Buffer | undefined;
  // Shared memory, which the pool decodes in place.
  const blobs = new BufferRecycler(CHUNKS_PER_FETCH * BLOB_SLOT, { keep: lanes, shared: true, align: DIRECT_IO_ALIGNMENT });
  const chunkBuffers = new BufferRecycler(CHUNK_SIZE, { keep: CHUNKS_DECODED_AT_ONCE, shared: true, align: DIRECT_IO_ALIGNMENT });
  const decoding = new Semaphore(CHUNKS_DECODED_AT_ONCE);
  const direct = await DirectChannel.open(handle, 'write');

  let unflushed = 0;
  let flushing: Promise<void> | undefined;
  const write = async (data: Uint8Array, offset: number): Promise<void> => {
    // What the file system takes no direct I/O for goes through the cache (the
    // direct handle stays open until the end, and is closed there).
    const wroteDirect = await direct.run(data, offset, async (d) => {
      await writeFull(d, data, offset);
      return true;
    });
    if (!wroteDirect) await writeFull(handle, data, offset);
    stats.chunksWritten += 1;
    stats.bytesWritten += data.length;
    if (wroteDirect) return;
    unflushed += data.length;
    if (unflushed >= FLUSH_EVERY && !flushing) {
      unflushed = 0;
      // Pages written since the flush began are dirty, and stay.
      flushing = handle
        .datasync()
        .then(() => dropCached(handle.fd, 0, 0))
        .finally(() => (flushing = undefined));
      flushing.catch(() => {}); // a failing flush fails the final sync below
    }
  };

  interface Wanted {
    digest: string;
    index: number;
    offset: number;
    length: number;
  }

  /** Fetches the chunks `wanted` in one request, then decodes (verifying) and writes each. */
  const writeWanted = async (wanted: Wanted[]): Promise<void> => {
    const digests = [...new Set(wanted.map((w) => w.digest))];
    const into = blobs.take();
    const fetched = await source.fetch(digests, signal, into);
    if (fetched.length !== digests.length) throw new Error(`asked for ${digests.length} chunks, got ${fetched.length}`);
    // Every decode settles before this does: the target is closed once the lanes are done.
    await settleAll(
      digests.map((digest, i) =>
        decoding.run(async () => {
          const blob = fetched[i]!;
          stats.bytesFetched += blob.length;
          signal.throwIfAborted();
          const data = await verifiedChunk(blob, digest);
          try {
            for (const { index, offset, length } of wanted.filter((w) => w.digest === digest)) {
              // A verified chunk of the wrong length means the manifest itself is
              // inconsistent; writing it would spill into the next chunk or past the end.
              if (data.length !== length) {
                throw new ChunkIntegrityError(digest, `is ${data.length} bytes but chunk ${index} of the disk is ${length}`);
              }
              signal.throwIfAborted();
              await write(data, offset);
            }
          } finally {
            chunkBuffers.give(data);
          }
        }),
      ),
    );
    blobs.give(into);
  };

  /**
   * The chunk in `blob`, proven to be `digest`. A raw chunk that lies aligned
   * for direct I/O is hashed and written where it lies; any other is decoded
   * into a chunk buffer, which goes back to chunkBuffers once written.
   */
  const verifiedChunk = async (blob: Buffer, digest: string): Promise<Buffer> => {
    if (readBlobHeader(blob, digest).codec === CODEC_RAW && direct.suits(blob.subarray(BLOB_HEADER_SIZE), 0)) {
      const { blob: back } = await pool.verify(blob, digest);
      return back.subarray(BLOB_HEADER_SIZE);
    }
    return (await pool.decode(blob, digest, chunkBuffers.take())).data;
  };

  /**
   * Deals with chunk `index` where that needs no fetch (holes; content the
   * target holds already), or says what to fetch for it.
   */
  const plan = async (index: number): Promise<Wanted | 'skipped' | 'zeroed'> => {
    const digest = manifest.chunks[index] ?? null;
    const offset = chunkOffset(manifest, index);
    const length = chunkLength(manifest, index);
    if (mode === 'file') return digest === null ? 'skipped' : { digest, index, offset, length };
    if (digest === null) {
      const current = await readFully(handle, chunkBuffers.take().subarray(0, length), offset);
      const isZero = isZeroChunk(current);
      chunkBuffers.give(current);
      if (isZero) return 'skipped';
      zeros ??= Buffer.alloc(CHUNK_SIZE);
      await write(zeros.subarray(0, length), offset);
      return 'zeroed';
    }
    if (mode === 'rollback') {
      const hashed = await pool.hash(await readFully(handle, chunkBuffers.take().subarray(0, length), offset));
      chunkBuffers.give(hashed.data);
      if (hashed.digest === digest) return 'skipped';
    }
    return { digest, index, offset, length };
  };

  const restoreGroup = async (group: number): Promise<void> => {
    const first = group * CHUNKS_PER_FETCH;
    const last = Math.min(first + CHUNKS_PER_FETCH, manifest.chunks.length);
    const wanted: Wanted[] = [];
    let groupBytes = 0;
    for (let index = first; index < last; index++) {
      const want = await plan(index);
      if (want === 'skipped') stats.chunksSkipped += 1;
      else if (want !== 'zeroed') wanted.push(want);
      groupBytes += chunkLength(manifest, index);
    }
    if (wanted.length > 0) await writeWanted(wanted);
    bytesDone += groupBytes;
    onProgress?.({ bytesDone, bytesWritten: stats.bytesWritten, bytesTotal: manifest.size });
  };

  try {
    await runConcurrently(Math.ceil(manifest.chunks.length / CHUNKS_PER_FETCH), lanes, restoreGroup, controller);
    await flushing;
    await handle.sync();
    dropCached(handle.fd, 0, 0);
  } finally {
    await flushing?.catch(() => {});
    dispose();
    await direct.close();
    await handle.close();
  }
  if (created) await syncDirectory(dirname(target));
  return stats;
}

/** Makes a newly created file's directory entry durable, not just its data. */
async function syncDirectory(dir: string): Promise<void> {
  const dirHandle = await open(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
