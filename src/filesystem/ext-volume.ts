import type { Ext2Fs, Ext2Stats } from 'ext2fs';
import { CairnError, badRequest } from '../domain/errors.js';
import type { BlockDevice } from './block-device.js';
import { extentMap, readByExtents, viewByExtents, type ExtentMap } from './ext-extents.js';
import { joinPath } from './file-path.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

/** One name in a folder, with what `ls -l` shows of it. */
export interface Entry {
  name: string;
  path: string;
  type: EntryType;
  size: number;
  /** Permission bits (with setuid, setgid, sticky), without the type. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** The inode number: names with the same one are hard links to one file. */
  inode: number;
  mtime: string;
  /** What a symlink points to, as stored; null for anything else. */
  target: string | null;
}

const S_IFMT = 0o170000;
const TYPES: Record<number, EntryType> = { 0o040000: 'directory', 0o100000: 'file', 0o120000: 'symlink' };

type Ext2fsModule = typeof import('ext2fs');
let ext2fsModule: Promise<Ext2fsModule> | undefined;
// Loaded on first use: the module compiles its WebAssembly and installs process handlers when it loads.
const ext2fs = () => (ext2fsModule ??= import('ext2fs').then((m) => ((m as { default?: Ext2fsModule }).default ?? m) as Ext2fsModule));

/**
 * An ext2/3/4 file system read in place through libext2fs (the `ext2fs`
 * package), over any BlockDevice. libext2fs opens read-write and writes back
 * what it touches (an inode's access time when a file is read, the superblock
 * on close); those writes land in a small in-memory overlay that later reads
 * see, and never reach the device, which is read-only.
 */
export class ExtVolume {
  private constructor(
    private readonly fs: Ext2Fs,
    private readonly disk: OverlayDisk,
    private readonly device: BlockDevice,
  ) {}

  static async open(device: BlockDevice, label: string): Promise<ExtVolume> {
    const disk = new OverlayDisk(device);
    const lib = await ext2fs();
    try {
      return new ExtVolume(await oneAtATime(() => lib.mount(disk, 0)), disk, device);
    } catch (err) {
      throw disk.explain(err, `The ext file system of ${label} could not be opened`, label);
    }
  }

  /** The entry at `path`, symlinks not followed. */
  async entry(path: string): Promise<Entry> {
    const stats = await this.call(path, () => this.fs.promises.lstat(path));
    return this.toEntry(path, stats);
  }

  /** The entries of the folder at `path`, by name. */
  async list(path: string): Promise<Entry[]> {
    const self = await this.entry(path);
    if (self.type !== 'directory') throw badRequest(`${path} is a ${self.type}, not a folder; download it instead of listing it.`, 'path');
    const names = await this.call(path, () => this.fs.promises.readdir(path));
    const out: Entry[] = [];
    for (const name of names.sort()) out.push(await this.entry(joinPath(path, name)));
    return out;
  }

  /**
   * The bytes [start, end] of the file at `path`, in pieces of up to `piece`
   * bytes, each read when the last is taken: by its extent map where it has
   * one, else through libext2fs.
   */
  async *pieces(path: string, start: number, end: number, piece = 1 << 20): AsyncGenerator<Buffer> {
    const entry = await this.entry(path);
    const map = entry.type === 'file' ? await extentMap(this.device, entry.inode).catch(() => null) : null;
    if (map && map.size === entry.size) {
      for (let at = start; at <= end; ) {
        const want = Math.min(piece, end - at + 1);
        let buf: Buffer;
        try {
          // Straight out of the decoded chunk where the piece lies in one (no copy, no allocation), else copied together.
          buf = (await viewByExtents(this.device, map, at, want)) ?? (await this.copied(map, at, want));
        } catch (err) {
          throw this.disk.explain(err, `Reading ${path} failed`, path, err);
        }
        yield buf;
        at += buf.length;
      }
      return;
    }
    yield* this.piecesThroughLibrary(path, start, end, piece);
  }

  private async copied(map: ExtentMap, at: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    await readByExtents(this.device, map, buf, at);
    return buf;
  }

  private async *piecesThroughLibrary(path: string, start: number, end: number, piece: number): AsyncGenerator<Buffer> {
    const handle = await this.call(path, () => this.fs.promises.open(path, 'r'));
    try {
      for (let at = start; at <= end; ) {
        const buf = Buffer.allocUnsafe(Math.min(piece, end - at + 1));
        const { bytesRead } = await this.call(path, () => handle.read(buf, 0, buf.length, at));
        if (bytesRead === 0) throw new CairnError(500, 'file_short', `${path} ended at byte ${at}, before its size of ${end + 1} bytes; the file system is inconsistent.`);
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        at += bytesRead;
      }
    } finally {
      // Its close() may return nothing rather than a promise.
      await Promise.resolve()
        .then(() => oneAtATime(async () => handle.close()))
        .catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const lib = await ext2fs();
    await Promise.resolve()
      .then(() => oneAtATime(() => lib.umount(this.fs)))
      .catch(() => undefined);
  }

  private async toEntry(path: string, s: Ext2Stats): Promise<Entry> {
    const type = TYPES[s.mode & S_IFMT] ?? 'other';
    const target = type === 'symlink' ? await this.call(path, () => this.fs.promises.readlink(path)) : null;
    return {
      name: path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1),
      path,
      type,
      size: type === 'directory' ? 0 : s.size,
      mode: s.mode & 0o7777,
      uid: s.uid,
      gid: s.gid,
      nlink: s.nlink,
      inode: s.ino,
      mtime: s.mtime.toISOString(),
      target,
    };
  }

  /** Runs one libext2fs call, turning its errno into an error that names the path. */
  private async call<T>(path: string, op: () => Promise<T>): Promise<T> {
    try {
      return await oneAtATime(op);
    } catch (err) {
      throw this.disk.explain(err, `Reading ${path} failed`, path);
    }
  }
}

/**
 * The ext2fs package's calls must not overlap, whatever file system they are on: each keeps
 * its allocations under one process-wide "current call" that the next call replaces, so an
 * earlier call ending meanwhile pulls it from under the later one ("Cannot read properties
 * of undefined (reading 'push')", seen with a listing beside downloads). Calls take turns here,
 * each whole, its device reads included; file contents mostly bypass the library (ext-extents.ts).
 */
let lastCall: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(op: () => Promise<T>): Promise<T> {
  const mine = lastCall.then(op, op);
  lastCall = mine.catch(() => undefined);
  return mine;
}

/** The device as libext2fs's disk: reads from it, writes into an overlay of whole write requests. */
class OverlayDisk {
  private readonly written = new Map<number, Buffer>();
  /** The device's last failure: libext2fs reports it only as EIO. */
  private failure: unknown;

  constructor(private readonly device: BlockDevice) {}

  async read(buffer: Buffer, bufferOffset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Buffer }> {
    try {
      await this.device.read(buffer, bufferOffset, length, position);
    } catch (err) {
      this.failure = err;
      throw err;
    }
    for (const [at, bytes] of this.written) {
      const from = Math.max(at, position);
      const to = Math.min(at + bytes.length, position + length);
      if (from < to) bytes.copy(buffer, bufferOffset + from - position, from - at, to - at);
    }
    return { bytesRead: length, buffer };
  }

  async write(buffer: Buffer, bufferOffset: number, length: number, position: number): Promise<{ bytesWritten: number; buffer: Buffer }> {
    this.written.set(position, Buffer.from(buffer.subarray(bufferOffset, bufferOffset + length)));
    return { bytesWritten: length, buffer };
  }

  async flush(): Promise<void> {}

  async discard(): Promise<void> {}

  /** A clear error for a failed call: the device's own failure if it had one, else the errno in words. */
  explain(err: unknown, doing: string, path: string, deviceFailure?: unknown): Error {
    const failure = deviceFailure ?? this.failure;
    this.failure = undefined;
    // Its message is a sentence of its own after ours: "Reading /x failed. Chunk … is damaged…".
    if (failure instanceof CairnError) return new CairnError(failure.status, failure.code, `${doing}. ${failure.message}`);
    if (failure) return new CairnError(500, 'disk_read_failed', `${doing}: ${failure instanceof Error ? failure.message : String(failure)}`);
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') return new CairnError(404, 'not_found', `There is no file or folder ${path} in this file system.`);
    if (code === 'ENOTDIR') return new CairnError(404, 'not_found', `There is no file or folder ${path} in this file system: a part of the path is not a folder.`);
    if (code === 'ELOOP') return badRequest(`${path} goes through too many symlinks.`, 'path');
    return new CairnError(422, 'filesystem_unreadable', `${doing}: libext2fs answered ${code ?? String(err)}; the file system may be damaged.`);
  }
}
