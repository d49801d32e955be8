import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { CHUNK_SIZE } from '../../src/format/chunk-codec.js';
import { chunkDigest, readAndHash } from '../../src/format/chunk-hash.js';
import { DiskOpenError, DiskSizeChangedError, openDiskSource, splitDevNumber } from '../../src/pipeline/disk-source.js';
import { DIRECT_IO_ALIGNMENT } from '../../src/io/disk-io.js';
import { makeTempDir, removeTempDir, seededRandom } from '../helpers/disk-images.js';

const execFileAsync = promisify(execFile);

/** Attaches a loop device, or returns null where this machine cannot. */
async function attachLoop(image: string, readOnly: boolean): Promise<string | null> {
  try {
    const args = ['-f', '--show', ...(readOnly ? ['-r'] : []), image];
    const { stdout } = await execFileAsync('/usr/sbin/losetup', args);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

describe('disk source', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir();
  });
  after(async () => {
    await removeTempDir(dir);
  });

  it('reads a regular file in chunks with offsets and a short last chunk', async () => {
    const size = 2 * CHUNK_SIZE + 12345;
    const content = seededRandom(1).bytes(size);
    const path = join(dir, 'plain.img');
    await writeFile(path, content);
    const source = await openDiskSource(path);
    try {
      assert.equal(source.kind, 'file');
      assert.equal(source.size, size);
      const seen: Array<{ index: number; offset: number; length: number }> = [];
      for await (const chunk of source.chunks({ readAhead: 2 })) {
        seen.push({ index: chunk.index, offset: chunk.offset, length: chunk.data.length });
        assert.ok(chunk.data.equals(content.subarray(chunk.offset, chunk.offset + chunk.data.length)));
        assert.equal(chunk.data.buffer.byteLength, chunk.data.length, 'each chunk owns its buffer');
      }
      assert.deepEqual(seen, [
        { index: 0, offset: 0, length: CHUNK_SIZE },
        { index: 1, offset: CHUNK_SIZE, length: CHUNK_SIZE },
        { index: 2, offset: 2 * CHUNK_SIZE, length: 12345 },
      ]);
    } finally {
      await source.close();
    }
  });

  it('hashes chunks as it reads them, where the native helper is built', async (t) => {
    if (!readAndHash) {
      if (process.env.CI === 'true') assert.fail('build/Release/chunk.node has no readAndHash: check the node-gyp output of `npm ci`');
      return t.skip('native/blake3 was not built (node-gyp); run `npm install`');
    }
    // Data, zeros that are written (not a hole), data that starts with zeros, and a short last chunk.
    const random = seededRandom(3);
    const lateData = Buffer.alloc(CHUNK_SIZE);
    random.bytes(1000).copy(lateData, CHUNK_SIZE - 1000);
    const content = Buffer.concat([random.bytes(CHUNK_SIZE), Buffer.alloc(CHUNK_SIZE), lateData, random.bytes(777)]);
    const path = join(dir, 'hashed.img');
    // Into buffers of its own (through the page cache), and into aligned ones
    // (around it, with O_DIRECT, but for the odd-sized last chunk).
    for (const buffers of [undefined, new BufferRecycler(CHUNK_SIZE, { align: DIRECT_IO_ALIGNMENT })]) {
      await writeFile(path, content);
      const source = await openDiskSource(path);
      try {
        const digests: (string | null | undefined)[] = [];
        for await (const chunk of source.chunks({ readAhead: 2, hash: true, ...(buffers ? { buffers } : {}) })) {
          assert.ok(chunk.data.equals(content.subarray(chunk.offset, chunk.offset + chunk.data.length)));
          digests.push(chunk.digest);
          buffers?.give(chunk.data);
        }
        const expected = [0, 1, 2, 3].map((i) => content.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE));
        assert.deepEqual(digests, [chunkDigest(expected[0]!), null, chunkDigest(expected[2]!), chunkDigest(expected[3]!)]);
        // Read again, alone, the same; without `hash` nothing is hashed.
        assert.equal((await source.readChunk(2, buffers, { hash: true })).digest, digests[2]);
        assert.equal((await source.readChunk(2, buffers)).digest, undefined);
        // A file that ends early is a short read, as without hashing.
        await truncate(path, 2 * CHUNK_SIZE + 5);
        await assert.rejects(source.readChunk(2, buffers, { hash: true }), DiskSizeChangedError);
      } finally {
        await source.close();
      }
    }
    // A read the kernel refuses fails as node:fs reads do.
    const folder = await open(dir, 'r');
    try {
      await assert.rejects(readAndHash(folder.fd, 0, Buffer.alloc(16)), { code: 'EISDIR', syscall: 'read', message: /^EISDIR: .*, read$/ });
    } finally {
      await folder.close();
    }
  });

  it('yields nothing for an empty file', async () => {
    const path = join(dir, 'empty.img');
    await writeFile(path, '');
    const source = await openDiskSource(path);
    const chunks = [];
    for await (const c of source.chunks()) chunks.push(c);
    await source.close();
    assert.equal(chunks.length, 0);
  });

  it('refuses paths that are not readable disks', async () => {
    await assert.rejects(openDiskSource(join(dir, 'nope.img')), (err: unknown) => {
      assert.ok(err instanceof DiskOpenError);
      assert.match(err.message, /cannot read disk .*nope\.img: no such file or device/);
      return true;
    });
    await assert.rejects(openDiskSource(dir), /not a regular file or block device/);
    await assert.rejects(openDiskSource('/dev/null'), /not a regular file or block device/);
  });

  it('checks the expected size', async () => {
    const path = join(dir, 'sized.img');
    await writeFile(path, Buffer.alloc(1000, 1));
    await assert.rejects(openDiskSource(path, { expectedSize: 2000 }), (err: unknown) => {
      assert.ok(err instanceof DiskSizeChangedError);
      assert.equal(err.expectedSize, 2000);
      assert.equal(err.actualSize, 1000);
      assert.match(err.message, /disk size changed/);
      return true;
    });
    await (await openDiskSource(path, { expectedSize: 1000 })).close();
  });

  it('notices a disk that shrinks while being read', async () => {
    const path = join(dir, 'shrinking.img');
    await writeFile(path, seededRandom(2).bytes(3 * CHUNK_SIZE));
    const source = await openDiskSource(path);
    try {
      await assert.rejects(async () => {
        for await (const chunk of source.chunks({ readAhead: 0 })) {
          if (chunk.index === 0) await truncate(path, CHUNK_SIZE + 10);
        }
      }, DiskSizeChangedError);
    } finally {
      await source.close();
    }
  });

  it('stops on abort', async () => {
    const path = join(dir, 'abort.img');
    await writeFile(path, Buffer.alloc(3 * CHUNK_SIZE, 1));
    const source = await openDiskSource(path);
    const controller = new AbortController();
    try {
      await assert.rejects(async () => {
        for await (const chunk of source.chunks({ signal: controller.signal })) {
          if (chunk.index === 0) controller.abort(new Error('user gave up'));
        }
      }, /user gave up/);
    } finally {
      await source.close();
    }
  });

  it('splits device numbers like glibc', () => {
    assert.deepEqual(splitDevNumber(0x0801n), { major: 8, minor: 1 });
    assert.deepEqual(splitDevNumber(0x10300n), { major: 259, minor: 0 });
    // makedev(259, 300): minor bits above 0xff live at bit 12 and up.
    assert.deepEqual(splitDevNumber(((300n & ~0xffn) << 12n) | (259n << 8n) | (300n & 0xffn)), { major: 259, minor: 300 });
  });

  it('reads a block device and its size from sysfs', async (t) => {
    const path = join(dir, 'loop-backing.img');
    const content = seededRandom(3).bytes(CHUNK_SIZE + 512 * 7);
    await writeFile(path, content);
    const loop = await attachLoop(path, true);
    if (!loop) {
      t.skip('no loop devices on this machine');
      return;
    }
    try {
      const source = await openDiskSource(loop);
      try {
        assert.equal(source.kind, 'block');
        assert.equal(source.size, content.length);
        const parts: Buffer[] = [];
        for await (const chunk of source.chunks()) parts.push(chunk.data);
        assert.ok(Buffer.concat(parts).equals(content));
      } finally {
        await source.close();
      }
    } finally {
      await execFileAsync('/usr/sbin/losetup', ['-d', loop]);
    }
  });
});
