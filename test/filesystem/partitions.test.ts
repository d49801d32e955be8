import assert from 'node:assert/strict';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlockDevice } from '../../src/filesystem/block-device.js';
import { deviceWindow } from '../../src/filesystem/block-device.js';
import { ChunkCache } from '../../src/filesystem/chunk-cache.js';
import { chooseVolume, diskLayout } from '../../src/filesystem/disk-layout.js';
import { fileSystemKind } from '../../src/filesystem/file-system-kind.js';
import { filePath } from '../../src/filesystem/file-path.js';
import { readPartitions } from '../../src/filesystem/partitions.js';
import { CairnError } from '../../src/domain/errors.js';
import { makeExt4Image, makeTempDir, removeTempDir, writeGpt } from '../helpers/disk-images.js';

const MiB = 1024 * 1024;

/** A disk in memory, counting what is read of it. */
function memoryDisk(bytes: Buffer): BlockDevice & { reads: number } {
  const disk = {
    size: bytes.length,
    reads: 0,
    read: async (into: Buffer, offset: number, length: number, position: number) => {
      disk.reads++;
      into.fill(0, offset, offset + length);
      bytes.copy(into, offset, position, Math.min(position + length, bytes.length));
    },
  };
  return disk;
}

/** An MBR with the given entries (type, first sector, sectors). */
function mbr(size: number, entries: [type: number, lba: number, sectors: number][]): Buffer {
  const disk = Buffer.alloc(size);
  entries.forEach(([type, lba, sectors], i) => {
    const at = 446 + 16 * i;
    disk[at + 4] = type;
    disk.writeUInt32LE(lba, at + 8);
    disk.writeUInt32LE(sectors, at + 12);
  });
  disk.writeUInt16LE(0xaa55, 510);
  return disk;
}

let dir: string;
let ext4: Buffer;

before(async () => {
  dir = await makeTempDir('cairn-partitions-');
  ext4 = await readFile(await makeExt4Image(dir, { sizeMiB: 8, files: { 'a.txt': 'a' } }));
});

after(async () => {
  if (dir) await removeTempDir(dir);
});

describe('partition tables', () => {
  it('no table: a whole-disk ext4, and a disk of zeros', async () => {
    const whole = await diskLayout(memoryDisk(ext4));
    assert.deepEqual(whole, { table: 'none', volumes: [{ number: null, start: 0, size: ext4.length, type: '', name: '', filesystem: 'ext4' }] });
    const zeros = await diskLayout(memoryDisk(Buffer.alloc(4 * MiB)));
    assert.equal(zeros.table, 'none');
    assert.equal(zeros.volumes[0]!.filesystem, null);
  });

  it('MBR: primary partitions in slot order, extended ones and empty slots left out', async () => {
    const disk = mbr(16 * MiB, [
      [0x83, 2048, 8192],
      [0x05, 10240, 2048],
      [0x00, 0, 0],
      [0x82, 12288, 4096],
    ]);
    ext4.copy(disk, 2048 * 512, 0, 4 * MiB);
    const layout = await diskLayout(memoryDisk(disk));
    assert.equal(layout.table, 'mbr');
    assert.deepEqual(
      layout.volumes.map((v) => [v.number, v.start, v.size, v.type, v.filesystem]),
      [
        [1, MiB, 4 * MiB, '0x83', 'ext4'],
        [4, 6 * MiB, 2 * MiB, '0x82', null],
      ],
    );
  });

  it('a boot sector that is not a table (bad boot flags) is no table', async () => {
    const disk = mbr(4 * MiB, [[0x83, 2048, 4096]]);
    disk[446] = 0x13;
    assert.deepEqual(await readPartitions(memoryDisk(disk), false), { table: 'none', partitions: [] });
  });

  it('GPT, as UEFI lays it out: entries in their slots, with names and type GUIDs', async () => {
    const path = join(dir, 'gpt.img');
    await writeFile(path, '');
    await truncate(path, 24 * MiB);
    const fh = await open(path, 'r+');
    await fh.write(ext4, 0, ext4.length, 10 * MiB);
    await fh.close();
    await writeGpt(path, [
      { firstLba: 2048, lastLba: 4095, name: 'boot', type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' },
      { firstLba: 20480, lastLba: 20480 + 16383, name: 'rööt' },
    ]);
    const layout = await diskLayout(memoryDisk(await readFile(path)));
    assert.equal(layout.table, 'gpt');
    assert.deepEqual(
      layout.volumes.map((v) => [v.number, v.start, v.size, v.type, v.name, v.filesystem]),
      [
        [1, MiB, MiB, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'boot', null],
        [2, 10 * MiB, 8 * MiB, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', 'rööt', 'ext4'],
      ],
    );
    assert.equal(chooseVolume(layout, undefined, 'root').number, 2, 'the first readable partition by default');
    assert.throws(() => chooseVolume(layout, 1, 'root'), (e: CairnError) => e.status === 422 && e.code === 'no_filesystem');
    assert.throws(() => chooseVolume(layout, 3, 'root'), (e: CairnError) => e.status === 404 && /no partition 3/.test(e.message));
  });
});

describe('file system kinds', () => {
  it('tells ext4 from the others by their magic numbers, and refuses what it cannot read', async () => {
    assert.equal(await fileSystemKind(memoryDisk(ext4)), 'ext4');
    const at = (offset: number, text: string) => {
      const b = Buffer.alloc(MiB);
      b.write(text, offset, 'latin1');
      return memoryDisk(b);
    };
    assert.equal(await fileSystemKind(at(0, 'XFSB')), 'xfs');
    assert.equal(await fileSystemKind(at(3, 'NTFS    ')), 'ntfs');
    assert.equal(await fileSystemKind(at(82, 'FAT32   ')), 'vfat');
    assert.equal(await fileSystemKind(at(0x10040, '_BHRfS_M')), 'btrfs');
    assert.equal(await fileSystemKind(at(4086, 'SWAPSPACE2')), 'swap');
    assert.equal(await fileSystemKind(at(100, 'nothing here')), null);
    const layout = await diskLayout(at(0, 'XFSB'));
    assert.throws(() => chooseVolume(layout, undefined, 'root'), (e: CairnError) => e.status === 422 && e.code === 'filesystem_unsupported' && /xfs, which is not supported yet/.test(e.message));
  });

  it('a window of a device reads zeros past its end and nothing outside it', async () => {
    const disk = memoryDisk(Buffer.from('0123456789'));
    const w = deviceWindow(disk, 2, 5);
    const into = Buffer.alloc(8, 0xff);
    await w.read(into, 0, 8, 0);
    assert.deepEqual(into, Buffer.from([0x32, 0x33, 0x34, 0x35, 0x36, 0, 0, 0]));
  });
});

describe('paths and the chunk cache', () => {
  it('paths are read from the root; ".." is refused, not resolved', () => {
    assert.equal(filePath(undefined), '/');
    assert.equal(filePath('a//b/./c/'), '/a/b/c');
    for (const bad of ['..', '/a/../b', '../../etc/passwd', 'a/..', 'a\0b'])
      assert.throws(() => filePath(bad), (e: CairnError) => e.status === 400 && e.field === 'path', bad);
  });

  it('keeps at most its bound of decoded chunks, dropping the least recently used, and loads each once while it is kept', async () => {
    const cache = new ChunkCache(3 * 100);
    let loads = 0;
    const load = (tag: string) => async () => {
      loads++;
      return Buffer.alloc(100, tag);
    };
    await Promise.all([cache.get('a', load('a')), cache.get('a', load('a'))]);
    assert.equal(loads, 1, 'two readers at once share one load');
    await cache.get('b', load('b'));
    await cache.get('c', load('c'));
    await cache.get('a', load('a'));
    await cache.get('d', load('d'));
    assert.equal(cache.size, 300, 'never above the bound');
    assert.equal(loads, 4);
    await cache.get('a', load('a'));
    assert.equal(loads, 4, 'a, used recently, stayed');
    await cache.get('b', load('b'));
    assert.equal(loads, 5, 'b, the least recently used, was dropped');
    await assert.rejects(cache.get('e', () => Promise.reject(new Error('damaged'))), /damaged/);
    await cache.get('e', load('e'));
    assert.equal(loads, 6, 'a failed load is not kept');
  });
});
