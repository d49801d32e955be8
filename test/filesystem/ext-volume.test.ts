import assert from 'node:assert/strict';
import { mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlockDevice } from '../../src/filesystem/block-device.js';
import { extentMap } from '../../src/filesystem/ext-extents.js';
import { ExtVolume } from '../../src/filesystem/ext-volume.js';
import { makeExt4FromTree, makeTempDir, removeTempDir, seededRandom } from '../helpers/disk-images.js';

const MiB = 1024 * 1024;

function fileDisk(bytes: Buffer): BlockDevice {
  return {
    size: bytes.length,
    read: async (into, offset, length, position) => {
      into.fill(0, offset, offset + length);
      bytes.copy(into, offset, position, Math.min(position + length, bytes.length));
    },
  };
}

async function readAll(volume: ExtVolume, path: string, start: number, end: number, piece?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of volume.pieces(path, start, end, piece)) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

let dir: string;
let tree: string;

before(async () => {
  dir = await makeTempDir('cairn-ext-volume-');
  tree = join(dir, 'tree');
  await mkdir(tree);
  const rng = seededRandom('ext-volume');
  // 40 MiB on 1 KiB blocks: longer than one extent (32768 blocks) and than a block group, so its tree has index blocks.
  await writeFile(join(tree, 'large.bin'), rng.bytes(40 * MiB));
  await writeFile(join(tree, 'small.txt'), 'small\n');
  await writeFile(join(tree, 'holes.bin'), '');
  await truncate(join(tree, 'holes.bin'), 9 * MiB);
  const fh = await open(join(tree, 'holes.bin'), 'r+');
  await fh.write(rng.bytes(5000), 0, 5000, 3 * MiB + 17);
  await fh.write(rng.bytes(100), 0, 100, 9 * MiB - 100);
  await fh.close();
});

after(async () => {
  if (dir) await removeTempDir(dir);
});

describe('reading ext files in place', () => {
  it('ext4: files by their extent maps (index blocks, holes, ranges and pieces of any size) are the files', async () => {
    const disk = await readFile(await makeExt4FromTree(join(dir, 'ext4.img'), tree, 64));
    const volume = await ExtVolume.open(fileDisk(disk), 'a test image');
    try {
      const large = await volume.entry('/large.bin');
      const map = await extentMap(fileDisk(disk), large.inode);
      assert.ok(map && map.extents.length > 4, 'a map with more extents than the inode holds, so with an index block');
      for (const name of ['large.bin', 'small.txt', 'holes.bin']) {
        const want = await readFile(join(tree, name));
        assert.ok((await readAll(volume, `/${name}`, 0, want.length - 1)).equals(want), `${name}: whole`);
        const from = Math.floor(want.length / 3);
        const to = want.length - 2;
        assert.ok((await readAll(volume, `/${name}`, from, to, 4093)).equals(want.subarray(from, to + 1)), `${name}: a range in odd pieces`);
      }
    } finally {
      await volume.close();
    }
  });

  it('ext2: files with block maps have no extent map, and are read through libext2fs the same', async () => {
    const disk = await readFile(await makeExt4FromTree(join(dir, 'ext2.img'), tree, 64, 'ext2'));
    const volume = await ExtVolume.open(fileDisk(disk), 'a test image');
    try {
      const entry = await volume.entry('/holes.bin');
      assert.equal(await extentMap(fileDisk(disk), entry.inode), null);
      for (const name of ['small.txt', 'holes.bin']) {
        const want = await readFile(join(tree, name));
        assert.ok((await readAll(volume, `/${name}`, 0, want.length - 1)).equals(want), `${name}`);
      }
    } finally {
      await volume.close();
    }
  });
});
