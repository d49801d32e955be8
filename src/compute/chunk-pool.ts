import { availableParallelism } from 'node:os';
import { checkPositiveInteger } from './concurrency.js';

/**
 * What the backup and restore pipelines and the upload service ask of a chunk
 * pool: CPU-bound chunk work that they hand off the main thread: native jobs
 * on libuv's thread pool (native-pool.ts), or worker threads where the native
 * build is missing (worker-pool.ts). Buffers come back as views of the same
 * memory, so callers can recycle them. Callers must not use a buffer, or any
 * other view of its memory, once they have passed it in, until the answer
 * comes: the worker pool moves (detaches) an ArrayBuffer it is given and uses
 * a SharedArrayBuffer in place, the native jobs use either in place.
 */
export interface ChunkPool {
  readonly size: number;
  /** The chunk digest of `data`, or null when it is all zeros (holes are not hashed); gives `data` back. */
  hash(data: Buffer): Promise<{ digest: string | null; data: Buffer }>;
  /**
   * Compresses a chunk into the start of `into` (BLOB_CAPACITY bytes) or a blob
   * of its own (see compressChunk); gives `data` back.
   */
  compress(data: Buffer, into?: Buffer): Promise<{ blob: Buffer; data: Buffer }>;
  /**
   * Decodes and verifies a blob into the start of `into` (or a new buffer); gives
   * the blob back. Rejects with ChunkIntegrityError on any mismatch.
   */
  decode(blob: Buffer, digest: string, into?: Buffer): Promise<{ data: Buffer; blob: Buffer }>;
  /** Proves a blob holds the chunk `digest` without keeping the chunk; gives the blob back. */
  verify(blob: Buffer, digest: string): Promise<{ length: number; blob: Buffer }>;
  close(): Promise<void>;
}

export interface ChunkPoolOptions {
  /** Most chunks worked on at once (worker threads, or native jobs); defaults to os.availableParallelism(). */
  size?: number;
}

/** The size `options` ask for, checked, or one per available core. */
export function poolSize(options: ChunkPoolOptions): number {
  const size = options.size ?? availableParallelism();
  checkPositiveInteger('chunk pool size', size);
  return size;
}

export class PoolClosedError extends Error {
  constructor() {
    super('chunk pool is closed');
    this.name = 'PoolClosedError';
  }
}
