import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { BLOB_CAPACITY } from '../../src/format/chunk-codec.js';
import { MAX_BATCH_BYTES } from '../../src/pipeline/batch-uploader.js';
import { ChunkBatcher } from '../../src/pipeline/chunk-batcher.js';

const digest = (n: number): string => n.toString(16).padStart(64, '0');
const BLOBS_PER_BATCH = Math.ceil(MAX_BATCH_BYTES / BLOB_CAPACITY);

describe('ChunkBatcher', () => {
  it('closes a batch at batchSize chunks when they carry no blobs', () => {
    const batcher = new ChunkBatcher(10, 3, new BufferRecycler(BLOB_CAPACITY, { keep: 0 }));
    const batches = [];
    for (let i = 0; i < 7; i++) {
      const batch = batcher.add({ index: i, digest: digest(i) });
      if (batch) batches.push(batch.map((p) => p.index));
    }
    assert.deepEqual(batches, [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    assert.deepEqual(batcher.flush()?.map((p) => p.index), [6]);
    assert.equal(batcher.flush(), undefined, 'a flushed batcher starts empty');
  });

  it('closes a batch once its blobs pin MAX_BATCH_BYTES, however many chunks it may hold', () => {
    const blobs = new BufferRecycler(BLOB_CAPACITY, { keep: 0 });
    const batcher = new ChunkBatcher(20, 64, blobs);
    const sizes = [];
    for (let i = 0; i < 2 * BLOBS_PER_BATCH + 1; i++) {
      // Blobs count by the buffer they pin, not by their length.
      const batch = batcher.add({ index: i, digest: digest(i), blob: Buffer.alloc(10) });
      if (batch) sizes.push(batch.length);
    }
    assert.deepEqual(sizes, [BLOBS_PER_BATCH, BLOBS_PER_BATCH]);
    assert.equal(batcher.flush()?.length, 1);
  });

  it('records every chunk in the manifest, and a repeated digest once in a batch, its blob given back', () => {
    const blobs = new BufferRecycler(BLOB_CAPACITY, { keep: 4 });
    const batcher = new ChunkBatcher(5, 64, blobs);
    batcher.add({ index: 0, digest: digest(7), blob: blobs.take() });
    batcher.add({ index: 1, digest: null });
    batcher.add({ index: 2, digest: digest(7), blob: blobs.take() });
    batcher.add({ index: 3, digest: digest(8) });
    assert.deepEqual(batcher.digests, [digest(7), null, digest(7), digest(8), null]);
    assert.equal(blobs.spare, 1, "the repeat's blob is back for reuse");
    assert.deepEqual(
      batcher.flush()?.map((p) => [p.index, p.blob !== undefined]),
      [
        [0, true],
        [3, false],
      ],
    );
    assert.ok(batcher.claimed.has(digest(7)) && batcher.claimed.has(digest(8)));
    // Claimed digests stay claimed across batches.
    assert.equal(batcher.add({ index: 4, digest: digest(8) }), undefined);
    assert.equal(batcher.flush(), undefined);
  });
});
