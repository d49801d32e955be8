import { readBytes, type BlockDevice } from './block-device.js';

export type PartitionTable = 'none' | 'mbr' | 'gpt';

export interface Partition {
  /** 1-based, as Linux numbers them (sda1, …): the slot in the table. */
  number: number;
  start: number;
  size: number;
  /** The MBR type byte (`0x83`) or the GPT type GUID, as text. */
  type: string;
  /** The GPT partition name; empty on MBR. */
  name: string;
}

export interface PartitionLayout {
  table: PartitionTable;
  partitions: Partition[];
}

const SECTOR = 512;
const GPT_PROTECTIVE = 0xee;
const EXTENDED = new Set([0x05, 0x0f, 0x85]);

/**
 * The partition table of a disk: GPT (behind its protective MBR), MBR, or none.
 * A disk whose first sector is a file system's (a whole-disk ext4 or FAT) has
 * none, even though a FAT boot sector ends with the same 0x55AA signature an
 * MBR does: `wholeDiskFileSystem` is asked first.
 */
export async function readPartitions(device: BlockDevice, wholeDiskFileSystem: boolean): Promise<PartitionLayout> {
  if (wholeDiskFileSystem || device.size < 2 * SECTOR) return { table: 'none', partitions: [] };
  const mbr = await readBytes(device, 0, SECTOR);
  if (mbr.readUInt16LE(510) !== 0xaa55) return { table: 'none', partitions: [] };
  const entries = [0, 1, 2, 3].map((i) => {
    const at = 446 + 16 * i;
    return { number: i + 1, status: mbr[at]!, type: mbr[at + 4]!, lba: mbr.readUInt32LE(at + 8), sectors: mbr.readUInt32LE(at + 12) };
  });
  // Boot flags other than 0x00 and 0x80 mean these 64 bytes are not a partition table (a boot loader's code, say).
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80)) return { table: 'none', partitions: [] };
  if (entries.some((e) => e.type === GPT_PROTECTIVE)) {
    const gpt = await readGpt(device);
    if (gpt) return { table: 'gpt', partitions: gpt };
  }
  const partitions = entries
    .filter((e) => e.type !== 0 && e.sectors > 0 && !EXTENDED.has(e.type))
    .map((e) => ({ number: e.number, start: e.lba * SECTOR, size: e.sectors * SECTOR, type: `0x${e.type.toString(16).padStart(2, '0')}`, name: '' }))
    .filter((p) => p.start > 0 && p.start < device.size);
  return partitions.length ? { table: 'mbr', partitions } : { table: 'none', partitions: [] };
}

async function readGpt(device: BlockDevice): Promise<Partition[] | null> {
  const header = await readBytes(device, SECTOR, 92);
  if (header.toString('latin1', 0, 8) !== 'EFI PART') return null;
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (entrySize < 128 || count > 1024) return null;
  const table = await readBytes(device, entriesLba * SECTOR, count * entrySize);
  const out: Partition[] = [];
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * entrySize, (i + 1) * entrySize);
    const typeGuid = e.subarray(0, 16);
    if (typeGuid.every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first) continue;
    out.push({ number: i + 1, start: first * SECTOR, size: (last - first + 1) * SECTOR, type: guidText(typeGuid), name: e.toString('utf16le', 56, 128).replace(/\0.*$/s, '') });
  }
  return out;
}

/** A GUID as it is written (the first three fields are stored little-endian). */
function guidText(b: Buffer): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(b.subarray(from, to));
    return (reverse ? part.reverse() : part).toString('hex');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`.toUpperCase();
}
