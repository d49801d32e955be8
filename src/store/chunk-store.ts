/**
 * Where chunk blobs live. Kept to what an object store offers (S3 and its
 * kin), so a bucket can replace the local folder without changing callers.
 * Keys are lowercase hex chunk digests (docs/formats.md).
 */
export interface ChunkStore {
  /** Stores the blob unless the key exists; true when this call wrote it. */
  putIfAbsent(key: string, blob: Buffer): Promise<boolean>;
  /**
   * Stores the blob whether or not the key exists, in the same steps either way:
   * the upload path stores a chunk new to the account this way, so how long it
   * takes does not tell whether another account stored it (docs/upload-protocol.md);
   * re-keying rewrites blobs with it (docs/formats.md). Atomic and durable once
   * it returns: a reader gets the old blob or the new one, never a torn one.
   */
  replace(key: string, blob: Buffer): Promise<void>;
  /**
   * The blob, or null when the key is absent. Given a slot its caller holds
   * (a leased blob slot) that is large enough, it is read to the slot's start
   * and the result is a view of it; bytes of the slot past the blob may be
   * overwritten too. Otherwise it comes in memory of its own.
   */
  get(key: string, slot?: Buffer): Promise<Buffer | null>;
  head(key: string): Promise<{ size: number; modifiedAt: Date } | null>;
  delete(key: string): Promise<void>;
  /** Deletes every key (absent ones are no error); an object store does it in a few requests. */
  deleteMany(keys: string[]): Promise<void>;
  list(): AsyncIterable<{ key: string; size: number; modifiedAt: Date }>;
  /**
   * Removes what writes that never finished left behind (a folder store's
   * temporary files after a crash) if last modified before `before`, which
   * must be long past any write still running; how many and their bytes.
   */
  removeTemporaries(before: Date): Promise<{ files: number; bytes: number }>;
}

/** The store has no room left: the upload fails, nothing stored before is lost. */
export class StoreFullError extends Error {
  constructor(cause: unknown) {
    super('The chunk store is full (no space left on its disk); free space or grow it, then start the backup again.', { cause });
    this.name = 'StoreFullError';
  }
}

/**
 * The store did not answer, or failed on its side, through all its retries (an
 * object store down or overloaded). The message names the chunk and the
 * setting, for the operator; nothing the request would have committed is.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'StoreUnavailableError';
  }
}
