import assert from 'node:assert/strict';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import type { ChunkPool } from '../../src/compute/chunk-pool.js';
import { createChunkPool } from '../../src/compute/native-pool.js';
import { BLOB_CAPACITY, CHUNK_SIZE, decodeChunk } from '../../src/format/chunk-codec.js';
import { chunkDigest } from '../../src/format/chunk-hash.js';
import { ChunkEncoder, DiskChangedError, type PreparedChunk } from '../../src/pipeline/chunk-encoder.js';
import { openDiskSource, type DiskSource } from '../../src/pipeline/disk-source.js';
import { makeTempDir, removeTempDir } from '../helpers/disk-images.js';

/** Chunk `fill` of a synthetic disk: distinct fills give distinct chunks, 0 an all-zero one. */
function chunkOf(fill: number): Buffer {
  const chunk = Buffer.alloc(CHUNK_SIZE, fill);
  if (fill !== 0) chunk.write(`chunk with fill ${fill}`, 0, 'ascii');
  return chunk;
}

describe('ChunkEncoder', () => {
  const fills = [1, 2, 0, 3, 4, 5];
  let dir: string;
  let path: string;
  let pool: ChunkPool;
  let source: DiskSource;

  before(async () => {
    dir = await makeTempDir();
    path = join(dir, 'disk.img');
    await writeFile(path, Buffer.concat(fills.map(chunkOf)));
    pool = createChunkPool({ size: 2 });
    source = await openDiskSource(path);
  });

  after(async () => {
    await source.close();
    await pool.close();
    await removeTempDir(dir);
  });

  function encoder(window: number, known: ReadonlySet<string>, claimed: ReadonlySet<string>): ChunkEncoder {
    const buffers = new BufferRecycler(CHUNK_SIZE, { keep: 8, shared: true });
    const blobBuffers = new BufferRecycler(BLOB_CAPACITY, { keep: 8, shared: true });
    return new ChunkEncoder({ pool, source, buffers, blobBuffers, window, known: Promise.resolve(known), claimed });
  }

  it('hands chunks on in disk order, within its window, compressing only those neither known nor claimed', async () => {
    const known = new Set([chunkDigest(chunkOf(2))]);
    const claimed = new Set([chunkDigest(chunkOf(4))]);
    const enc = encoder(2, known, claimed);
    const out: PreparedChunk[] = [];
    for await (const chunk of source.chunks({ readAhead: 1 })) {
      enc.push(chunk);
      assert.ok(enc.running.length <= 2);
      while (enc.full) out.push(await enc.next());
    }
    while (!enc.empty) out.push(await enc.next());
    assert.deepEqual(
      out.map((p) => [p.index, p.blob !== undefined]),
      [
        [0, true],
        [1, false],
        [2, false],
        [3, true],
        [4, false],
        [5, true],
      ],
    );
    assert.equal(out[2]!.digest, null, 'an all-zero chunk has no digest');
    for (const p of out) {
      if (p.blob) assert.deepEqual(decodeChunk(p.blob, p.digest!), chunkOf(fills[p.index]!));
    }
  });

  it('waits for the hint before deciding what to compress', async () => {
    let give: (known: ReadonlySet<string>) => void = () => {};
    const buffers = new BufferRecycler(CHUNK_SIZE, { keep: 2, shared: true });
    const enc = new ChunkEncoder({
      pool,
      source,
      buffers,
      blobBuffers: new BufferRecycler(BLOB_CAPACITY, { keep: 2, shared: true }),
      window: 2,
      known: new Promise((resolve) => (give = resolve)),
      claimed: new Set(),
    });
    enc.push(await source.readChunk(0, buffers));
    give(new Set([chunkDigest(chunkOf(1))]));
    const prepared = await enc.next();
    assert.equal(prepared.blob, undefined);
  });

  it('encodes a chunk again from the disk, and refuses one that changed since it was read', async () => {
    const enc = encoder(2, new Set(), new Set());
    const digest = chunkDigest(chunkOf(3));
    assert.deepEqual(decodeChunk(await enc.encodeAgain(3, digest), digest), chunkOf(3));
    const file = await open(path, 'r+');
    try {
      await file.write(Buffer.from('changed'), 0, 7, 3 * CHUNK_SIZE + 100);
    } finally {
      await file.close();
    }
    await assert.rejects(enc.encodeAgain(3, digest), DiskChangedError);
  });
});
