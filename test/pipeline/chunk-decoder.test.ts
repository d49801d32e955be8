import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import type { ChunkPool } from '../../src/compute/chunk-pool.js';
import { createChunkPool } from '../../src/compute/native-pool.js';
import { CHUNK_SIZE, ChunkIntegrityError, compressChunk } from '../../src/format/chunk-codec.js';
import { chunkDigest } from '../../src/format/chunk-hash.js';
import { ChunkDecoder } from '../../src/pipeline/chunk-decoder.js';
import type { WantedChunk } from '../../src/pipeline/restore-planner.js';
import { RestoreTarget } from '../../src/pipeline/restore-target.js';
import { makeTempDir, removeTempDir } from '../helpers/disk-images.js';

function chunkOf(fill: number): Buffer {
  const chunk = Buffer.alloc(CHUNK_SIZE, fill);
  chunk.write(`chunk with fill ${fill}`, 0, 'ascii');
  return chunk;
}

/** The same pool, counting the decodes and verifies running at once. */
function countingPool(pool: ChunkPool): { pool: ChunkPool; running: () => number; most: () => number } {
  let running = 0;
  let most = 0;
  const counted = async <T>(work: Promise<T>): Promise<T> => {
    running += 1;
    most = Math.max(most, running);
    try {
      return await work;
    } finally {
      running -= 1;
    }
  };
  return {
    pool: {
      size: pool.size,
      hash: (data) => pool.hash(data),
      compress: (data, into) => pool.compress(data, into),
      decode: (blob, digest, into) => counted(pool.decode(blob, digest, into)),
      verify: (blob, digest) => counted(pool.verify(blob, digest)),
      close: () => pool.close(),
    },
    running: () => running,
    most: () => most,
  };
}

describe('ChunkDecoder', () => {
  let dir: string;
  let pool: ChunkPool;

  before(async () => {
    dir = await makeTempDir();
    pool = createChunkPool({ size: 2 });
  });

  after(async () => {
    await pool.close();
    await removeTempDir(dir);
  });

  async function withDecoder(name: string, chunks: number, atOnce: number, use: (decoder: ChunkDecoder, counts: ReturnType<typeof countingPool>) => Promise<void>): Promise<Buffer> {
    const path = join(dir, name);
    const target = await RestoreTarget.open(path, 'file', chunks * CHUNK_SIZE, true);
    const counts = countingPool(pool);
    const chunkBuffers = new BufferRecycler(CHUNK_SIZE, { keep: atOnce, shared: true });
    try {
      await use(new ChunkDecoder({ pool: counts.pool, chunkBuffers, atOnce, target, signal: new AbortController().signal }), counts);
      await target.finish();
    } finally {
      await target.close();
    }
    return readFile(path);
  }

  it('decodes at most atOnce chunks at a time, writing each wherever the disk wants it', async () => {
    const fills = [1, 2, 3, 4, 5];
    const digests = fills.map((f) => chunkDigest(chunkOf(f)));
    const blobs = fills.map((f) => compressChunk(chunkOf(f)));
    // Chunk 5 of the disk repeats the first.
    const wanted: WantedChunk[] = [...digests, digests[0]!].map((digest, index) => ({ digest, index, offset: index * CHUNK_SIZE, length: CHUNK_SIZE }));
    let fetched = 0;
    let most = 0;
    const written = await withDecoder('five.img', 6, 2, async (decoder, counts) => {
      await decoder.writeAll(digests, blobs, wanted);
      fetched = decoder.bytesFetched;
      most = counts.most();
    });
    assert.equal(most, 2);
    assert.equal(fetched, blobs.reduce((sum, b) => sum + b.length, 0));
    assert.deepEqual(written, Buffer.concat([...fills, 1].map(chunkOf)));
  });

  it('rejects with the first bad chunk only once every other has settled', async () => {
    const fills = [1, 2, 3];
    const digests = fills.map((f) => chunkDigest(chunkOf(f)));
    const blobs = fills.map((f) => compressChunk(chunkOf(f)));
    blobs[0] = compressChunk(chunkOf(9)); // served under another digest
    const wanted = digests.map((digest, index) => ({ digest, index, offset: index * CHUNK_SIZE, length: CHUNK_SIZE }));
    await withDecoder('bad.img', 3, 3, async (decoder, counts) => {
      await assert.rejects(decoder.writeAll(digests, blobs, wanted), (err) => {
        assert.ok(err instanceof ChunkIntegrityError);
        assert.equal(counts.running(), 0, 'no decode still running');
        return true;
      });
    });
  });
});
