import { readBytes, type BlockDevice } from './block-device.js';

/** A run of a file's blocks: `length` blocks from `logical` in the file are at `physical` on the device. */
export interface Extent {
  logical: number;
  physical: number;
  length: number;
  /** Allocated but never written (fallocate): reads as zeros. */
  unwritten: boolean;
}

export interface ExtentMap {
  blockSize: number;
  size: number;
  extents: Extent[];
}

const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const EXTENT_MAGIC = 0xf30a;
const INCOMPAT_64BIT = 0x80;
const MAX_DEPTH = 5;

/**
 * Where a regular file's data lies, read from its inode's extent tree: the
 * superblock, the inode's group descriptor, the inode, then the tree's index
 * blocks. libext2fs reads a file one block per call, and each call crosses from
 * WebAssembly to JavaScript and back (about 7 µs, twice a block); with the map a
 * file is read a run of blocks at a time. Null where the map does not apply
 * (files with block maps, as ext2 and ext3 write them, inline data, anything
 * unexpected): libext2fs reads those.
 */
export async function extentMap(device: BlockDevice, inode: number): Promise<ExtentMap | null> {
  const sb = await readBytes(device, 1024, 1024);
  const blockSize = 1024 << sb.readUInt32LE(24);
  const firstDataBlock = sb.readUInt32LE(20);
  const inodesPerGroup = sb.readUInt32LE(40);
  const inodeSize = sb.readUInt32LE(76) >= 1 ? sb.readUInt16LE(88) : 128;
  const descSize = (sb.readUInt32LE(96) & INCOMPAT_64BIT) !== 0 ? Math.max(32, sb.readUInt16LE(254)) : 32;
  if (blockSize > 65536 || inodesPerGroup === 0 || inode < 1) return null;
  const group = Math.floor((inode - 1) / inodesPerGroup);
  const desc = await readBytes(device, (firstDataBlock + 1) * blockSize + group * descSize, descSize);
  const inodeTable = desc.readUInt32LE(8) + (descSize >= 64 ? desc.readUInt32LE(0x28) * 2 ** 32 : 0);
  const raw = await readBytes(device, inodeTable * blockSize + ((inode - 1) % inodesPerGroup) * inodeSize, Math.min(inodeSize, 256));
  const flags = raw.readUInt32LE(32);
  if ((flags & EXTENTS_FL) === 0 || (flags & INLINE_DATA_FL) !== 0) return null;
  const size = raw.readUInt32LE(4) + raw.readUInt32LE(108) * 2 ** 32;
  const extents: Extent[] = [];
  const walk = async (node: Buffer, depth: number): Promise<boolean> => {
    if (node.readUInt16LE(0) !== EXTENT_MAGIC || node.readUInt16LE(6) !== depth || depth > MAX_DEPTH) return false;
    const entries = node.readUInt16LE(2);
    if (12 + entries * 12 > node.length) return false;
    for (let i = 0; i < entries; i++) {
      const e = node.subarray(12 + i * 12, 24 + i * 12);
      if (depth === 0) {
        const len = e.readUInt16LE(4);
        extents.push({ logical: e.readUInt32LE(0), physical: e.readUInt16LE(6) * 2 ** 32 + e.readUInt32LE(8), length: len > 32768 ? len - 32768 : len, unwritten: len > 32768 });
      } else {
        const child = e.readUInt32LE(4) + e.readUInt16LE(8) * 2 ** 32;
        if (!(await walk(await readBytes(device, child * blockSize, blockSize), depth - 1))) return false;
      }
    }
    return true;
  };
  const root = raw.subarray(40, 100);
  if (!(await walk(root, root.readUInt16LE(6)))) return null;
  extents.sort((a, b) => a.logical - b.logical);
  return { blockSize, size, extents };
}

/** Fills `into` with the file's bytes from `position`: extents read from the device, holes and unwritten runs as zeros. */
export async function readByExtents(device: BlockDevice, map: ExtentMap, into: Buffer, position: number): Promise<void> {
  into.fill(0);
  const end = position + into.length;
  const bs = map.blockSize;
  for (const e of map.extents) {
    const from = Math.max(position, e.logical * bs);
    const to = Math.min(end, (e.logical + e.length) * bs, map.size);
    if (from >= to || e.unwritten) continue;
    await device.read(into, from - position, to - from, e.physical * bs + (from - e.logical * bs));
  }
}

/**
 * The file's bytes from `position`, at most `length`, as a view the device
 * already holds (see BlockDevice.view): from one extent and one piece of device
 * memory, so maybe fewer bytes; null where there is no such view (a hole, an
 * unwritten run, a device without views), for the caller to read() instead.
 */
export async function viewByExtents(device: BlockDevice, map: ExtentMap, position: number, length: number): Promise<Buffer | null> {
  if (!device.view) return null;
  const bs = map.blockSize;
  const e = map.extents.find((x) => x.logical * bs <= position && position < (x.logical + x.length) * bs);
  if (!e || e.unwritten) return null;
  const n = Math.min(length, (e.logical + e.length) * bs - position, map.size - position);
  return n > 0 ? device.view(e.physical * bs + (position - e.logical * bs), n) : null;
}
