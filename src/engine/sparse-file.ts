import { createRequire } from 'node:module';

/** The native helper in native/sparse_file.c, built by `npm install` (node-gyp). */
interface SparseFileAddon {
  /** The first data offset at or after `position`, or -1 if only hole follows. */
  seekData(fd: number, position: number): number;
  /** The first hole offset at or after `position` (the file's end counts as one). */
  seekHole(fd: number, position: number): number;
  adviseSequential(fd: number, position: number): void;
}

function loadAddon(): SparseFileAddon | null {
  try {
    // From dist/src/engine/ (and src/engine/ under a TS loader) up to the package root.
    return createRequire(import.meta.url)('../../../build/Release/sparse_file.node') as SparseFileAddon;
  } catch {
    return null;
  }
}

const addon = loadAddon();

/** Whether this build can find holes without reading them (false only if the native helper did not build). */
export const canFindHoles = addon !== null;

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

  private constructor(
    private readonly fd: number,
    private readonly addon: SparseFileAddon,
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
    if (offset < this.probe || offset >= this.dataEnd) this.locate(offset);
    return offset + length <= this.data;
  }

  /** Asks the kernel to read ahead more eagerly; a hint, so failing it changes nothing. */
  adviseSequential(): void {
    try {
      this.addon.adviseSequential(this.fd, 0);
    } catch {
      // Only a hint.
    }
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
