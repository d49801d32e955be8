import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { blockSpan, DIRECT_IO_ALIGNMENT, hasNativeHelper, isDirectAligned, openDirectWriter, writeNewFile } from '../io/disk-io.js';
import { readFull, writeFull } from '../io/file-io.js';
import { StoreFullError, type ChunkStore } from './chunk-store.js';

const KEY_RE = /^[0-9a-f]{64}$/;

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/**
 * Chunks as files under two levels of fan-out (`ab/cd/abcd…`), so no folder
 * grows past a few thousand entries. A blob is written to a temporary file,
 * fsynced, then renamed into place: a crash leaves either the whole blob or
 * none, never a torn one under its real name.
 *
 * Blobs in memory aligned for direct I/O (the server's request and reply
 * buffers) are written and read around the page cache: a chunk store is
 * written once and read rarely, so caching it only costs the kernel
 * allocating pages, and evicts what the machine does use.
 */
export class LocalChunkStore implements ChunkStore {
  /** Cleared the first time the file system refuses direct I/O. */
  private direct = hasNativeHelper;

  constructor(private readonly root: string) {}

  private pathOf(key: string): { dir: string; file: string } {
    if (!KEY_RE.test(key)) throw new Error(`Invalid chunk key "${key}".`);
    const dir = join(this.root, key.slice(0, 2), key.slice(2, 4));
    return { dir, file: join(dir, key) };
  }

  async putIfAbsent(key: string, blob: Buffer): Promise<boolean> {
    const { dir, file } = this.pathOf(key);
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      const native = writeNewFile(dir, tmp, file, blob, this.direct);
      if (native) {
        const { created, direct } = await native;
        // A file system that refused O_DIRECT once will refuse it again.
        if (created && !direct && this.direct && blob.length >= DIRECT_IO_ALIGNMENT && isDirectAligned(blob.subarray(0, DIRECT_IO_ALIGNMENT), 0)) this.direct = false;
        return created;
      }
      if (await this.head(key)) return false;
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'wx', 0o640);
      try {
        await this.write(fh, blob);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      await this.syncDir(dir);
      return true;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) throw new StoreFullError(err);
      throw err;
    }
  }

  async get(key: string, into?: Buffer): Promise<Buffer | null> {
    const { file } = this.pathOf(key);
    try {
      if (!into) return await readFile(file);
      // Unaligned memory is never read into directly: not worth opening the file for.
      const direct = this.direct && isDirectAligned(into.subarray(0, DIRECT_IO_ALIGNMENT), 0) ? await this.readDirect(file, into) : null;
      if (direct) return direct;
      const fh = await open(file, 'r');
      try {
        const { size } = await fh.stat();
        if (size > into.length) return await fh.readFile();
        // Short if truncated meanwhile: the reader's digest check catches it.
        return into.subarray(0, await readFull(fh, into.subarray(0, size), 0));
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  /** Whole 4 KiB blocks of the blob go around the page cache when its memory allows; the short tail through it. */
  private async write(fh: FileHandle, blob: Buffer): Promise<void> {
    const body = blob.subarray(0, blob.length - (blob.length % DIRECT_IO_ALIGNMENT));
    const written = this.direct && isDirectAligned(body, 0) ? await this.writeDirect(fh, body) : 0;
    await writeFull(fh, blob.subarray(written), written);
  }

  /** Writes `body` at the start of the file with O_DIRECT; 0 bytes where the file system refuses. */
  private async writeDirect(fh: FileHandle, body: Buffer): Promise<number> {
    const direct = await openDirectWriter(fh);
    if (!direct) {
      this.direct = false;
      return 0;
    }
    try {
      await writeFull(direct, body, 0);
      return body.length;
    } catch (err) {
      if (!isErrno(err, 'EINVAL')) throw err;
      this.direct = false;
      return 0;
    } finally {
      await direct.close();
    }
  }

  /**
   * The blob read with O_DIRECT into `into` (aligned), or null to read it
   * through the page cache instead: `into` too small for the blob rounded up
   * to whole blocks, or a file system without direct I/O.
   */
  private async readDirect(file: string, into: Buffer): Promise<Buffer | null> {
    let fh: FileHandle;
    try {
      fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_DIRECT);
    } catch (err) {
      if (!isErrno(err, 'EINVAL')) throw err;
      this.direct = false;
      return null;
    }
    try {
      const { size } = await fh.stat();
      const span = blockSpan(size);
      if (span > into.length || !isDirectAligned(into.subarray(0, span), 0)) return null;
      // One read: past the end of the file it stops short, which O_DIRECT allows at the end.
      const { bytesRead } = await fh.read(into, 0, span, 0);
      return bytesRead === size ? into.subarray(0, size) : null;
    } catch (err) {
      if (!isErrno(err, 'EINVAL')) throw err;
      this.direct = false;
      return null;
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<{ size: number; modifiedAt: Date } | null> {
    try {
      const st = await stat(this.pathOf(key).file);
      return { size: st.size, modifiedAt: st.mtime };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key).file).catch((err) => {
      if (!isErrno(err, 'ENOENT')) throw err;
    });
  }

  async *list(): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    for (const a of await this.entries(this.root)) {
      for (const b of await this.entries(join(this.root, a))) {
        for (const name of await this.entries(join(this.root, a, b))) {
          if (!KEY_RE.test(name)) continue;
          const st = await stat(join(this.root, a, b, name)).catch(() => null);
          if (st) yield { key: name, size: st.size, modifiedAt: st.mtime };
        }
      }
    }
  }

  private async entries(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
      throw err;
    }
  }

  /** The rename is durable only once the folder that holds it is synced. */
  private async syncDir(dir: string): Promise<void> {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
