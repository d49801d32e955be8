import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BLOB_CAPACITY, CHUNK_SIZE, ChunkIntegrityError, decodeChunk, encodeChunk } from '../../src/engine/chunk-codec.js';
import { chunkDigest } from '../../src/engine/chunk-hash.js';
import { PoolClosedError, WorkerPool } from '../../src/engine/worker-pool.js';
import { seededRandom } from '../helpers/disk-images.js';

function chunkOf(seed: number, length = CHUNK_SIZE): Buffer {
  // Half random, half repetitive: compresses, but not to nothing.
  const buf = Buffer.allocUnsafeSlow(length);
  buf.fill(seed & 0xff);
  seededRandom(seed).bytes(length >> 1).copy(buf);
  return buf;
}

describe('worker pool', () => {
  let pool: WorkerPool;
  before(() => {
    pool = new WorkerPool({ size: 2 });
  });
  after(async () => {
    await pool.close();
  });

  it('hashes and compresses like encodeChunk does, giving the chunk back each time', async () => {
    const data = chunkOf(1);
    const expected = encodeChunk(data);
    const hashed = await pool.hash(Buffer.from(data));
    assert.equal(hashed.digest, expected.digest);
    assert.ok(hashed.data.equals(data));
    const compressed = await pool.compress(hashed.data);
    assert.ok(compressed.blob.equals(expected.blob));
    assert.ok(compressed.data.equals(data), 'the same memory comes back, unchanged');
  });

  it('compresses into a given blob buffer and gives both buffers back', async () => {
    const data = chunkOf(11);
    const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    const { blob, data: back } = await pool.compress(Buffer.from(data), into);
    assert.equal(into.length, 0, 'the blob buffer travelled to the worker');
    assert.equal(blob.buffer.byteLength, BLOB_CAPACITY, 'and came back holding the blob');
    assert.ok(blob.equals(encodeChunk(data).blob));
    assert.ok(back.equals(data));
  });

  it('answers null for an all-zero chunk instead of hashing it', async () => {
    const { digest, data } = await pool.hash(Buffer.alloc(CHUNK_SIZE));
    assert.equal(digest, null);
    assert.equal(data.length, CHUNK_SIZE);
  });

  it('decodes and verifies, into a given buffer or a new one', async () => {
    const data = chunkOf(2, 777_777);
    const { digest, blob } = encodeChunk(data);
    const fresh = await pool.decode(Buffer.from(blob), digest);
    assert.ok(fresh.data.equals(data));
    assert.ok(fresh.blob.equals(blob), 'the blob comes back too');

    const into = Buffer.allocUnsafeSlow(CHUNK_SIZE);
    const recycled = await pool.decode(Buffer.from(blob), digest, into);
    assert.equal(into.length, 0, 'the buffer given travelled to the worker');
    assert.equal(recycled.data.buffer.byteLength, CHUNK_SIZE, 'and came back holding the chunk');
    assert.equal(recycled.data.byteOffset, 0);
    assert.ok(recycled.data.equals(data));
  });

  it('verifies a blob without keeping the chunk', async () => {
    const data = chunkOf(3, 1_000_001);
    const { digest, blob } = encodeChunk(data);
    const verified = await pool.verify(Buffer.from(blob), digest);
    assert.equal(verified.length, 1_000_001);
    assert.ok(verified.blob.equals(blob));
    const wrong = chunkDigest(Buffer.from('other'));
    await assert.rejects(pool.verify(Buffer.from(blob), wrong), ChunkIntegrityError);
  });

  it('reports integrity failures as ChunkIntegrityError with the digest', async () => {
    const { blob } = encodeChunk(chunkOf(4));
    const wrong = chunkDigest(Buffer.from('something else'));
    await assert.rejects(pool.decode(blob, wrong), (err: unknown) => {
      assert.ok(err instanceof ChunkIntegrityError);
      assert.equal(err.digest, wrong);
      assert.match(err.message, new RegExp(`chunk ${wrong} failed integrity check: content hashes to`));
      return true;
    });
  });

  it('transfers the memory behind a buffer, and copies views of Node\'s shared pool', async () => {
    const whole = chunkOf(5, 100_000);
    const expected = chunkDigest(whole);
    const back = await pool.hash(whole);
    assert.equal(whole.length, 0, 'a buffer owning its ArrayBuffer is transferred (detached)');
    assert.equal(back.digest, expected);

    const backing = chunkOf(6, 200_000);
    const sliceDigest = chunkDigest(backing.subarray(1000, 101_000));
    const slice = await pool.hash(backing.subarray(1000, 101_000));
    assert.equal(backing.length, 0, 'a view takes its whole ArrayBuffer along');
    assert.equal(slice.digest, sliceDigest);
    assert.deepEqual([slice.data.byteOffset, slice.data.length, slice.data.buffer.byteLength], [1000, 100_000, 200_000], 'and gets the same view back');

    const small = Buffer.from('pooled'); // lives in Node's shared 8 KiB pool
    assert.equal((await pool.hash(small)).digest, chunkDigest(Buffer.from('pooled')));
    assert.equal(small.toString(), 'pooled');
  });

  it('runs many tasks concurrently and returns each result to its caller', async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => chunkOf(100 + i, 256 * 1024));
    const digests = inputs.map((b) => chunkDigest(b));
    const hashed = await Promise.all(inputs.map((b) => pool.hash(Buffer.from(b))));
    assert.deepEqual(hashed.map((h) => h.digest), digests);
    const blobs = await Promise.all(inputs.map((b) => pool.compress(Buffer.from(b))));
    const decoded = await Promise.all(blobs.map((c, i) => pool.decode(c.blob, digests[i]!)));
    decoded.forEach((d, i) => assert.ok(d.data.equals(inputs[i]!)));
  });

  it('rejects work after close, and close is idempotent', async () => {
    const p = new WorkerPool({ size: 1 });
    const pending = p.compress(chunkOf(7));
    const queued = p.compress(chunkOf(8));
    const queued2 = p.hash(chunkOf(9));
    const settled = Promise.allSettled([pending, queued, queued2]);
    await p.close();
    await p.close();
    const results = await settled;
    for (const r of results) {
      // The first may have finished before close; none may hang.
      if (r.status === 'rejected') assert.ok(r.reason instanceof PoolClosedError);
    }
    await assert.rejects(p.hash(Buffer.from('x')), PoolClosedError);
  });

  it('starts one worker, and more only when tasks have to wait', async () => {
    const p = new WorkerPool({ size: 3 });
    try {
      assert.equal(p.threads, 1);
      // One task at a time, however many, never needs a second worker.
      for (let i = 0; i < 3; i++) await p.compress(chunkOf(20 + i, 1000));
      assert.equal(p.threads, 1);
      // Each worker takes two tasks at once: a fifth waiting task starts the third worker, and no more.
      const data = Array.from({ length: 8 }, (_, i) => chunkOf(30 + i, 64 * 1024));
      const hashed = await Promise.all(data.map((d) => p.hash(Buffer.from(d))));
      assert.deepEqual(hashed.map((h) => h.digest), data.map((d) => chunkDigest(d)));
      assert.equal(p.threads, 3);
    } finally {
      await p.close();
    }
  });

  it('validates its size', () => {
    assert.throws(() => new WorkerPool({ size: 0 }), RangeError);
  });

  it('defaults to one worker per available core', async () => {
    const p = new WorkerPool();
    try {
      const { availableParallelism } = await import('node:os');
      assert.equal(p.size, availableParallelism());
      const data = chunkOf(10, 1000);
      const expected = chunkDigest(data);
      assert.equal(decodeChunk((await p.compress(data)).blob, expected).length, 1000);
    } finally {
      await p.close();
    }
  });
});
