import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { loadNativeHelper } from '../runtime/index.js';

/** The native helper in native/disk_io.c, built by `npm install` (node-gyp). */
interface DiskIoAddon {
  /** The first data offset at or after `position`, or -1 if only hole follows. */
  seekData(fd: number, position: number): number;
  /** The first hole offset at or after `position` (the file's end counts as one). */
  seekHole(fd: number, position: number): number;
  adviseSequential(fd: number, position: number): void;
  adviseDontNeed(fd: number, position: number, length: number): void;
  /** The memory address of the view's first byte, modulo `alignment`; views of shared memory too. */
  addressOffset(view: Uint8Array, alignment: number): number;
  writeNewFile(dir: string, tmp: string, path: string, data: Uint8Array, overwrite: boolean): Promise<boolean>;
  readFileInto(path: string, into: Uint8Array): Promise<number>;
}

const addon = loadNativeHelper<DiskIoAddon>('disk_io');

/** Tells the kernel `fd` will be read from start to end, so it reads ahead further; only a hint. */
export function adviseSequential(fd: number): void {
  try {
    addon?.adviseSequential(fd, 0);
  } catch {
    // A hint the kernel may decline.
  }
}

/**
 * Drops the clean cached pages of a range (dirty ones stay): a backup reads,
 * and a restore writes, each byte once, and pages freed at once are reused
 * warm by the next I/O; reading 1.3 GB of a disk image took 0.4–0.6 s this
 * way, 0.4–1.7 s through the cache. Only a hint.
 */
export function dropCached(fd: number, position: number, length: number): void {
  try {
    addon?.adviseDontNeed(fd, position, length);
  } catch {
    // A hint the kernel may decline.
  }
}

/** Whether this build has its native helper (it may fail to build where there is no C compiler). */
export const hasNativeHelper = addon !== null;

/**
 * What O_DIRECT I/O aligns memory, offsets and lengths to: the largest logical
 * block size of common devices, so it suits every device and file system.
 */
export const DIRECT_IO_ALIGNMENT = 4096;

/** `length` rounded up to whole blocks of `alignment`: what a direct read of that many bytes transfers. */
export function blockSpan(length: number, alignment = DIRECT_IO_ALIGNMENT): number {
  return Math.ceil(length / alignment) * alignment;
}

/**
 * How far into `buffer` its first address aligned to `alignment` is; 0 without
 * the native helper, whose callers then do not use direct I/O anyway.
 */
export function alignedStart(buffer: ArrayBuffer | SharedArrayBuffer, alignment = DIRECT_IO_ALIGNMENT): number {
  if (!addon) return 0;
  return (alignment - addon.addressOffset(new Uint8Array(buffer, 0, 1), alignment)) % alignment;
}

/** Whether `data` may be read or written with O_DIRECT at `position`: memory, position and length all aligned. */
export function isDirectAligned(data: Uint8Array, position: number, alignment = DIRECT_IO_ALIGNMENT): boolean {
  if (!addon || position % alignment !== 0 || data.length % alignment !== 0 || data.length === 0) return false;
  return addon.addressOffset(data, alignment) === 0;
}

/**
 * Stores `data` as the file `path`, in folder `dir` (made if missing), unless
 * a file is there already (then false; with `overwrite`, replacing it whole): written to `tmp` in that folder,
 * fsynced, renamed into place and the folder fsynced, so a crash leaves the
 * whole file or none. All of it is one job on libuv's thread pool, where the
 * same steps through node:fs are nine, each queued behind other requests'
 * writes (see native/disk_io.c). Whole blocks are written with O_DIRECT when
 * the memory is aligned and the file system allows it, the rest through the
 * page cache. Null without the native helper: callers then take those steps
 * through node:fs.
 */
export function writeNewFile(dir: string, tmp: string, path: string, data: Uint8Array, overwrite = false): Promise<boolean> | null {
  return addon ? addon.writeNewFile(dir, tmp, path, data, overwrite) : null;
}

/**
 * Reads the whole file `path` into the start of `into` as one job on the
 * thread pool, and resolves to its length, or to -1 when it is larger than
 * `into` (nothing read); around the page cache when `into` is aligned and long
 * enough for whole blocks, and the file system allows it. Null without the
 * native helper.
 */
export function readFileInto(path: string, into: Uint8Array): Promise<number> | null {
  return addon ? addon.readFileInto(path, into) : null;
}

/**
 * A second descriptor of an open file, for O_DIRECT reads or writes, used as
 * long as the file system takes them. Transfers that are not whole aligned
 * blocks, a file system that refuses O_DIRECT at open, or one that refuses it
 * only at the first transfer (EINVAL, after which it is never tried again):
 * each is left for the caller to do through the page cache.
 */
export class DirectChannel {
  private refused = false;

  private constructor(private readonly handle: FileHandle | null) {}

  static async open(file: FileHandle, access: 'read' | 'write'): Promise<DirectChannel> {
    let handle: FileHandle | null = null;
    if (addon && fsConstants.O_DIRECT !== undefined) {
      // Through /proc, the very file already open, even if its path changed since.
      const flags = (access === 'read' ? fsConstants.O_RDONLY : fsConstants.O_WRONLY) | fsConstants.O_DIRECT;
      handle = await open(`/proc/self/fd/${file.fd}`, flags).catch(() => null);
    }
    return new DirectChannel(handle);
  }

  /** Whether a transfer of `data` at `position` would go direct, as far as can be told before trying. */
  suits(data: Uint8Array, position: number): boolean {
    return this.handle !== null && !this.refused && isDirectAligned(data, position);
  }

  /** `transfer` on the direct descriptor, or undefined when it is for the cache to do. */
  async run<T>(data: Uint8Array, position: number, transfer: (handle: FileHandle) => Promise<T>): Promise<T | undefined> {
    if (!this.suits(data, position)) return undefined;
    try {
      return await transfer(this.handle!);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      this.refused = true;
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

/**
 * Which parts of a file are holes, asked of the file system (SEEK_DATA/SEEK_HOLE)
 * one extent at a time, so that a sparse disk image's holes are never read:
 * reading them costs the kernel zero-filling pages and the backup hashing zeros.
 */
export class HoleMap {
  /** [probe, data) is hole and [data, dataEnd) is data, as last asked. */
  private probe = 0;
  private data = 0;
  private dataEnd = 0;
  private failed = false;

  private constructor(
    private readonly fd: number,
    private readonly addon: DiskIoAddon,
  ) {}

  /** A map of the open regular file `fd`, or null where holes cannot be found (no helper, or a file system without SEEK_DATA). */
  static of(fd: number): HoleMap | null {
    if (!addon) return null;
    const map = new HoleMap(fd, addon);
    try {
      map.locate(0);
    } catch {
      return null;
    }
    return map;
  }

  /** Whether [offset, offset + length) holds no data at all (reads as zeros). */
  isHole(offset: number, length: number): boolean {
    if (this.failed) return false;
    try {
      if (offset < this.probe || offset >= this.dataEnd) this.locate(offset);
    } catch {
      // Asking is an optimisation: if the file system stops answering, read everything.
      this.failed = true;
      return false;
    }
    return offset + length <= this.data;
  }

  private locate(offset: number): void {
    const data = this.addon.seekData(this.fd, offset);
    this.probe = offset;
    if (data < 0) {
      this.data = this.dataEnd = Number.MAX_SAFE_INTEGER;
      return;
    }
    this.data = data;
    this.dataEnd = this.addon.seekHole(this.fd, data);
  }
}
