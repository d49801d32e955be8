import { isZeroChunk, type EncodedChunk } from './chunk-codec.js';
import { checkPositiveInteger, linkedAbortController, runConcurrently } from './concurrency.js';
import { openDiskSource } from './disk-source.js';
import type { ChunkPool } from './worker-pool.js';

/** Where a backup puts its chunks: normally the server's chunk API. */
export interface ChunkSink {
  /** Of `digests`, those the store does not hold yet. */
  missing(digests: string[], signal?: AbortSignal): Promise<Set<string>>;
  upload(digest: string, blob: Buffer, signal?: AbortSignal): Promise<void>;
}

export interface BackupProgress {
  /** Disk bytes read so far, holes included. */
  bytesRead: number;
  /** Blob bytes (compressed, with headers) sent to the sink so far. */
  bytesUploaded: number;
  /** Size of the disk. */
  bytesTotal: number;
}

export interface BackupOptions {
  path: string;
  /** Size recorded by the previous backup of this disk; a different size aborts the backup. */
  expectedSize?: number;
  pool: ChunkPool;
  sink: ChunkSink;
  onProgress?: (progress: BackupProgress) => void;
  signal?: AbortSignal;
  /** Most digests asked about in one `missing` call. */
  batchSize?: number;
  uploadConcurrency?: number;
}

export interface BackupResult {
  /** Digest of each chunk in disk order, null for holes: the manifest's content. */
  chunks: (string | null)[];
  size: number;
  chunkSize: number;
  bytesRead: number;
  bytesUploaded: number;
  chunksUploaded: number;
}

/**
 * Blobs held per batch are capped by bytes as well as by count, so that an
 * incompressible disk does not keep batchSize × 4 MiB in memory while the
 * store answers; together with one batch uploading and the encode window this
 * bounds the pipeline to roughly 2 × 32 MiB + 4 chunks per worker.
 */
const MAX_BATCH_BYTES = 32 * 1024 * 1024;

interface PendingUpload {
  digest: string;
  blob: Buffer | undefined;
}

/**
 * Reads a disk once, storing every chunk the sink lacks. Reading, encoding (in
 * the pool) and uploading overlap, with bounded queues between them. On failure
 * or abort it rejects only after its in-flight uploads have settled.
 */
export async function backupDisk(options: BackupOptions): Promise<BackupResult> {
  const { pool, sink, onProgress } = options;
  const batchSize = options.batchSize ?? 64;
  const uploadConcurrency = options.uploadConcurrency ?? 4;
  checkPositiveInteger('batchSize', batchSize);
  checkPositiveInteger('uploadConcurrency', uploadConcurrency);
  options.signal?.throwIfAborted();

  const source = await openDiskSource(options.path, {
    ...(options.expectedSize !== undefined ? { expectedSize: options.expectedSize } : {}),
  });
  const { controller, dispose } = linkedAbortController(options.signal);
  const signal = controller.signal;

  const size = source.size;
  const chunks = new Array<string | null>(Math.ceil(size / source.chunkSize)).fill(null);
  const stats = { bytesRead: 0, bytesUploaded: 0, chunksUploaded: 0 };
  const report = (): void => onProgress?.({ bytesRead: stats.bytesRead, bytesUploaded: stats.bytesUploaded, bytesTotal: size });

  // Digests that are in the store or that an earlier batch has taken charge of
  // uploading: a repeat later on the disk costs nothing but its manifest entry.
  const claimed = new Set<string>();
  let batch = new Map<string, PendingUpload>();
  let batchBytes = 0;
  let uploading: Promise<void> | undefined;
  const encodes: Promise<EncodedChunk & { index: number }>[] = [];
  // Two requests per worker, as the pool itself schedules: enough to keep every
  // core busy while the main thread reads and uploads, and no more in memory.
  const encodeWindow = Math.max(2, pool.size * 2);

  const processBatch = async (pending: PendingUpload[]): Promise<void> => {
    const missing = await sink.missing(pending.map((p) => p.digest), signal);
    signal.throwIfAborted();
    const toUpload = pending.filter((p) => missing.has(p.digest));
    for (const p of pending) if (!missing.has(p.digest)) p.blob = undefined;
    await runConcurrently(toUpload.length, uploadConcurrency, async (i) => {
      const item = toUpload[i]!;
      const blob = item.blob!;
      await sink.upload(item.digest, blob, signal);
      item.blob = undefined;
      stats.bytesUploaded += blob.length;
      stats.chunksUploaded += 1;
      report();
    }, controller);
  };

  const flush = async (): Promise<void> => {
    if (batch.size === 0) return;
    const pending = [...batch.values()];
    batch = new Map();
    batchBytes = 0;
    // One batch talks to the store while the next one is read and encoded;
    // waiting here is what keeps memory flat when the store is the bottleneck.
    await uploading;
    uploading = processBatch(pending);
    uploading.catch((err: unknown) => controller.abort(err));
  };

  const accept = async (encoded: EncodedChunk & { index: number }): Promise<void> => {
    chunks[encoded.index] = encoded.digest;
    if (claimed.has(encoded.digest)) return;
    claimed.add(encoded.digest);
    batch.set(encoded.digest, { digest: encoded.digest, blob: encoded.blob });
    batchBytes += encoded.blob.length;
    if (batch.size >= batchSize || batchBytes >= MAX_BATCH_BYTES) await flush();
  };

  try {
    for await (const chunk of source.chunks({ signal })) {
      stats.bytesRead += chunk.data.length;
      if (!isZeroChunk(chunk.data)) {
        const index = chunk.index;
        const encoding = pool.encode(chunk.data).then((e) => ({ ...e, index }));
        encoding.catch(() => {}); // observed below, in order; never unhandled
        encodes.push(encoding);
      }
      report();
      while (encodes.length >= encodeWindow) await accept(await encodes.shift()!);
      signal.throwIfAborted();
    }
    while (encodes.length > 0) await accept(await encodes.shift()!);
    await flush();
    await uploading;
  } catch (err) {
    controller.abort(err);
    // Nothing may keep uploading on the caller's behalf once this rejects.
    await Promise.allSettled([...encodes, uploading]);
    // A failed upload aborts the reader too; report the cause, not the abort.
    throw signal.reason ?? err;
  } finally {
    dispose();
    await source.close();
  }

  return { chunks, size, chunkSize: source.chunkSize, ...stats };
}
