import assert from 'node:assert/strict';
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHUNK_SIZE } from '../../src/format/chunk-codec.js';
import { openDiskSource, type DiskChunk } from '../../src/pipeline/disk-source.js';
import { hasNativeHelper, HoleMap } from '../../src/io/disk-io.js';
import { cachedBytes, makeTempDir, removeTempDir, seededRandom } from '../helpers/disk-images.js';

const MiB = 1024 * 1024;

/** A sparse file of `size` bytes with `data` written at each offset; the rest is hole. */
async function sparseFile(path: string, size: number, data: Record<number, Buffer>): Promise<void> {
  await writeFile(path, '');
  await truncate(path, size);
  const handle = await open(path, 'r+');
  try {
    for (const [offset, bytes] of Object.entries(data)) await handle.write(bytes, 0, bytes.length, Number(offset));
  } finally {
    await handle.close();
  }
}

let dir: string;
before(async () => {
  dir = await makeTempDir();
});
after(async () => {
  await removeTempDir(dir);
});

describe('finding holes in sparse files', () => {
  it('has its native helper built', (t) => {
    // `npm install` builds it; without it backups still work, reading holes as zeros.
    if (!hasNativeHelper && process.env.CI !== 'true') return t.skip('native/disk_io.c was not built (node-gyp); run `npm install`');
    assert.ok(hasNativeHelper, 'the disk I/O helper (build/Release/disk_io.node) did not build: check the node-gyp output of `npm ci`');
  });

  it('tells holes from data, one extent at a time, in any order of questions', async (t) => {
    if (!hasNativeHelper) return t.skip('no native helper');
    const path = join(dir, 'sparse.img');
    const rnd = seededRandom(7);
    await sparseFile(path, 64 * MiB, { [8 * MiB]: rnd.bytes(MiB), [40 * MiB + 4096]: rnd.bytes(4096) });
    const handle = await open(path, 'r');
    try {
      const map = HoleMap.of(handle.fd);
      if (!map) return t.skip('this file system has no SEEK_DATA');
      assert.equal(map.isHole(0, 8 * MiB), true);
      assert.equal(map.isHole(4 * MiB, 4 * MiB + 1), false, 'a range reaching into data is not a hole');
      assert.equal(map.isHole(8 * MiB, MiB), false);
      assert.equal(map.isHole(12 * MiB, 4 * MiB), true);
      assert.equal(map.isHole(40 * MiB, 4 * MiB), false);
      assert.equal(map.isHole(44 * MiB, 20 * MiB), true, 'the hole running to the end of the file');
      // Backwards, as a re-read of an earlier chunk asks.
      assert.equal(map.isHole(8 * MiB, 4 * MiB), false);
      assert.equal(map.isHole(0, 4 * MiB), true);
    } finally {
      await handle.close();
    }
  });

  it('sees no hole in a file written in full, and only hole in one never written', async (t) => {
    if (!hasNativeHelper) return t.skip('no native helper');
    const full = join(dir, 'full.img');
    await writeFile(full, Buffer.alloc(3 * MiB)); // zeros, but written: data, not hole
    const empty = join(dir, 'empty.img');
    await sparseFile(empty, 16 * MiB, {});
    for (const [path, hole] of [[full, false], [empty, true]] as const) {
      const handle = await open(path, 'r');
      try {
        const map = HoleMap.of(handle.fd);
        if (!map) return t.skip('this file system has no SEEK_DATA');
        assert.equal(map.isHole(0, MiB), hole, path);
      } finally {
        await handle.close();
      }
    }
  });

  it('lets the disk reader skip chunks that are wholly hole, and only those', async (t) => {
    if (!hasNativeHelper) return t.skip('no native helper');
    const path = join(dir, 'disk.img');
    const rnd = seededRandom(8);
    const size = 6 * CHUNK_SIZE + 1000;
    // Chunk 1 fully data, chunk 3 with a little data at its end, chunk 6 (short) data; the rest hole.
    await sparseFile(path, size, { [CHUNK_SIZE]: rnd.bytes(CHUNK_SIZE), [4 * CHUNK_SIZE - 4096]: rnd.bytes(4096), [6 * CHUNK_SIZE]: rnd.bytes(1000) });
    const source = await openDiskSource(path);
    try {
      const seen: DiskChunk[] = [];
      for await (const chunk of source.chunks({ skipHoles: true, readAhead: 2 })) seen.push(chunk);
      assert.deepEqual(
        seen.map((c) => (c.data === null ? `hole ${c.index} ${c.length}` : `data ${c.index} ${c.data.length}`)),
        [`hole 0 ${CHUNK_SIZE}`, `data 1 ${CHUNK_SIZE}`, `hole 2 ${CHUNK_SIZE}`, `data 3 ${CHUNK_SIZE}`, `hole 4 ${CHUNK_SIZE}`, `hole 5 ${CHUNK_SIZE}`, 'data 6 1000'],
      );
      // Without the option every chunk is read, holes as zeros.
      const plain: number[] = [];
      for await (const chunk of source.chunks()) plain.push(chunk.data.length);
      assert.equal(plain.length, 7);
    } finally {
      await source.close();
    }
  });
});

describe('reading a disk without keeping it cached', () => {
  it('leaves none of what a backup read in the page cache', async (t) => {
    if (!hasNativeHelper) return t.skip('no native helper');
    const path = join(dir, 'cached.img');
    const data = seededRandom('cached').bytes(3 * CHUNK_SIZE + 4096);
    const handle = await open(path, 'w');
    await handle.write(data, 0, data.length, 0);
    await handle.sync(); // clean pages, which the kernel may drop
    await handle.close();
    assert.ok((await cachedBytes(path)) > CHUNK_SIZE, 'the freshly written file starts out cached');

    const source = await openDiskSource(path);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of source.chunks({ readAhead: 2 })) chunks.push(Buffer.from(chunk.data));
    } finally {
      await source.close();
    }
    assert.ok(Buffer.concat(chunks).equals(data), 'every byte read as written');
    assert.equal(await cachedBytes(path), 0);
  });
});
