import { readBytes, type BlockDevice } from './block-device.js';

/** What a partition holds, as far as its first bytes tell; only the ext family is readable. */
export type FileSystemKind = 'ext2' | 'ext3' | 'ext4' | 'xfs' | 'btrfs' | 'ntfs' | 'vfat' | 'exfat' | 'iso9660' | 'swap' | 'lvm' | 'luks' | null;

export const READABLE_KINDS: readonly FileSystemKind[] = ['ext2', 'ext3', 'ext4'];

const EXT_MAGIC = 0xef53;
const HAS_JOURNAL = 0x4;
// Incompatible features ext2 and ext3 do not have: extents, 64bit, flex_bg, inline data…
const EXT4_INCOMPAT = 0x40 | 0x80 | 0x200 | 0x8000;

/** The file system at the start of `device`, by the magic numbers blkid also reads; null for none it knows. */
export async function fileSystemKind(device: BlockDevice): Promise<FileSystemKind> {
  const head = await readBytes(device, 0, 4096);
  const ext = await readBytes(device, 1024, 1024);
  if (ext.readUInt16LE(56) === EXT_MAGIC) {
    if ((ext.readUInt32LE(96) & EXT4_INCOMPAT) !== 0) return 'ext4';
    return (ext.readUInt32LE(92) & HAS_JOURNAL) !== 0 ? 'ext3' : 'ext2';
  }
  if (head.toString('latin1', 0, 4) === 'XFSB') return 'xfs';
  if (head.toString('latin1', 0, 6) === 'LUKS\xba\xbe') return 'luks';
  if (head.toString('latin1', 3, 11) === 'NTFS    ') return 'ntfs';
  if (head.toString('latin1', 3, 11) === 'EXFAT   ') return 'exfat';
  if (head.toString('latin1', 82, 87) === 'FAT32' || head.toString('latin1', 54, 57) === 'FAT') return 'vfat';
  if (head.toString('latin1', 512, 520) === 'LABELONE') return 'lvm';
  if (head.toString('latin1', 4086, 4096) === 'SWAPSPACE2') return 'swap';
  if ((await readBytes(device, 0x10040, 8)).toString('latin1') === '_BHRfS_M') return 'btrfs';
  if ((await readBytes(device, 32769, 5)).toString('latin1') === 'CD001') return 'iso9660';
  return null;
}
