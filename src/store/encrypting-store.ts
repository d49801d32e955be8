import type { ChunkStore } from './chunk-store.js';
import type { MasterKeys } from './master-key.js';
import { isSealed, open, seal, SEAL_OVERHEAD, sealedKeyId } from './sealed-blob.js';

/** Where sealed blobs are written before they go to the store: the server's blob slots (blobSlotPool in app.ts). */
export interface ScratchBuffers {
  readonly size: number;
  take(): Buffer;
  give(view: Uint8Array): void;
}

/**
 * Any chunk store, with every blob sealed under the master keys on its way in
 * and opened on its way out (sealed-blob.ts; docs/formats.md). Only with a
 * master key: without one the server uses the store it wraps directly. Blobs
 * stored before encryption was turned on come out as they are, until
 * `cairn admin rekey` seals them. A blob that does not open throws SealError,
 * which readers treat as a chunk that fails its digest check.
 */
export class EncryptingChunkStore implements ChunkStore {
  constructor(
    readonly inner: ChunkStore,
    readonly keys: MasterKeys,
    private readonly scratch?: ScratchBuffers,
  ) {}

  putIfAbsent(key: string, blob: Buffer): Promise<boolean> {
    return this.sealed(key, blob, (out) => this.inner.putIfAbsent(key, out));
  }

  replace(key: string, blob: Buffer): Promise<void> {
    return this.sealed(key, blob, (out) => this.inner.replace(key, out));
  }

  /** `blob` sealed into a scratch buffer (a blob slot, aligned as the folder store writes best), for `write`. */
  private async sealed<T>(key: string, blob: Buffer, write: (sealed: Buffer) => Promise<T>): Promise<T> {
    const need = blob.length + SEAL_OVERHEAD;
    const out = this.scratch && need <= this.scratch.size ? this.scratch.take() : Buffer.allocUnsafe(need);
    try {
      return await write(seal(this.keys, 'chunk', key, blob, out));
    } finally {
      this.scratch?.give(out);
    }
  }

  /** Read into the slot, then opened there: the plaintext never takes memory of its own. */
  async get(key: string, slot?: Buffer): Promise<Buffer | null> {
    const blob = await this.inner.get(key, slot);
    if (!blob || !isSealed(blob)) return blob;
    return open(this.keys, 'chunk', key, blob, `chunk ${key}`);
  }

  head(key: string): Promise<{ size: number; modifiedAt: Date } | null> {
    return this.inner.head(key);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.inner.deleteMany(keys);
  }

  list(): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    return this.inner.list();
  }

  removeTemporaries(before: Date): Promise<{ files: number; bytes: number }> {
    return this.inner.removeTemporaries(before);
  }

  /**
   * Seals the blob under the current master key unless it already is: a blob
   * under an older key, or plain, is opened and written again in its place
   * (atomically: readers meanwhile get the old blob or the new one). A plain
   * blob is given to `checkPlain` first, which throws if it is damaged: sealing
   * it would make the damage look authentic.
   */
  async rekey(key: string, checkPlain?: (blob: Buffer) => void): Promise<'rekeyed' | 'current' | 'missing'> {
    const blob = await this.inner.get(key);
    if (!blob) return 'missing';
    const sealed = isSealed(blob);
    if (sealed && sealedKeyId(blob) === this.keys.current.id) return 'current';
    // Opened in place: `blob` holds the plaintext from here on.
    const plain = sealed ? open(this.keys, 'chunk', key, blob, `chunk ${key}`) : blob;
    if (!sealed) checkPlain?.(plain);
    await this.inner.replace(key, seal(this.keys, 'chunk', key, plain));
    return 'rekeyed';
  }
}
