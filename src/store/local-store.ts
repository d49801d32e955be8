import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileInto, writeNewFile } from '../io/disk-io.js';
import { readFull, writeFull } from '../io/file-io.js';
import { StoreFullError, type ChunkStore } from './chunk-store.js';

const KEY_RE = /^[0-9a-f]{64}$/;
/** Names of files being written, beside the blobs; a crash can leave one (removeTemporaries). */
const TEMPORARY_PREFIX = '.tmp-';

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/**
 * Chunks as files under two levels of fan-out (`ab/cd/abcd…`), so no folder
 * grows past a few thousand entries. A blob is written to a temporary file,
 * fsynced, then renamed into place: a crash leaves either the whole blob or
 * none, never a torn one under its real name (and perhaps the temporary file,
 * which garbage collection removes once old: removeTemporaries).
 *
 * With the native helper, each write and each read is one job on the thread
 * pool (writeNewFile, readFileInto), and blobs in memory aligned for direct
 * I/O (the server's blob slots) go around the page cache: a chunk store is
 * written once and read rarely, so caching it only costs the kernel
 * allocating pages, and evicts what the machine does use. Without it,
 * the same steps go through node:fs and the page cache.
 */
export class LocalChunkStore implements ChunkStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): { dir: string; file: string } {
    if (!KEY_RE.test(key)) throw new Error(`Invalid chunk key "${key}".`);
    const dir = join(this.root, key.slice(0, 2), key.slice(2, 4));
    return { dir, file: join(dir, key) };
  }

  async putIfAbsent(key: string, blob: Buffer): Promise<boolean> {
    const { dir, file } = this.pathOf(key);
    return this.write(dir, file, blob);
  }

  /**
   * Writes `blob` as the file `path` in `dir` unless one is there (false), or with `overwrite` whether
   * or not one is: via a temporary file, fsynced, renamed, folder fsynced. A full disk or quota is a
   * StoreFullError, which the API answers as such.
   */
  private async write(dir: string, path: string, blob: Buffer, overwrite = false): Promise<boolean> {
    const tmp = join(dir, `${TEMPORARY_PREFIX}${randomBytes(6).toString('hex')}`);
    try {
      const native = writeNewFile(dir, tmp, path, blob, overwrite);
      if (native) return await native;
      if (!overwrite && (await stat(path).then(() => true, (err) => (isErrno(err, 'ENOENT') ? false : Promise.reject(err))))) return false;
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'wx', 0o640);
      try {
        await writeFull(fh, blob, 0);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      await this.syncDir(dir);
      return true;
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (isErrno(err, 'ENOSPC') || isErrno(err, 'EDQUOT')) throw new StoreFullError(err);
      throw err;
    }
  }

  async replace(key: string, blob: Buffer): Promise<void> {
    // The same steps whether or not the key exists (an upload's time must not tell), and the same
    // as a new blob's: durable under a temporary name, renamed over the key, the folder synced.
    const { file, dir } = this.pathOf(key);
    await this.write(dir, file, blob, true);
  }

  async removeTemporaries(before: Date): Promise<{ files: number; bytes: number }> {
    let files = 0;
    let bytes = 0;
    for await (const { path, st } of this.files((name) => name.startsWith(TEMPORARY_PREFIX))) {
      // A writer renames or removes its temporary file within seconds; one this old has no writer left.
      if (!st.isFile() || st.mtime >= before) continue;
      try {
        await unlink(path);
        files++;
        bytes += st.size;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return { files, bytes };
  }

  async get(key: string, slot?: Buffer): Promise<Buffer | null> {
    const { file } = this.pathOf(key);
    try {
      if (!slot) return await readFile(file);
      const native = readFileInto(file, slot);
      if (native) {
        const length = await native;
        return length >= 0 ? slot.subarray(0, length) : await readFile(file);
      }
      const fh = await open(file, 'r');
      try {
        const { size } = await fh.stat();
        if (size > slot.length) return await fh.readFile();
        // Short if truncated meanwhile: the reader's digest check catches it.
        return slot.subarray(0, await readFull(fh, slot.subarray(0, size), 0));
      } finally {
        await fh.close();
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
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

  async deleteMany(keys: string[]): Promise<void> {
    for (const key of keys) await this.delete(key);
  }

  async *list(): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    for await (const { name, st } of this.files((name) => KEY_RE.test(name))) yield { key: name, size: st.size, modifiedAt: st.mtime };
  }

  /** The files under the two levels of fan-out whose names `wanted` picks, with their stat (gone meanwhile: left out). */
  private async *files(wanted: (name: string) => boolean): AsyncIterable<{ name: string; path: string; st: Stats }> {
    for (const a of await this.entries(this.root)) {
      for (const b of await this.entries(join(this.root, a))) {
        for (const name of await this.entries(join(this.root, a, b))) {
          if (!wanted(name)) continue;
          const path = join(this.root, a, b, name);
          const st = await stat(path).catch(() => null);
          if (st) yield { name, path, st };
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
