import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHUNK_SIZE, ChunkIntegrityError, decodeChunk, encodeChunk, sha256Hex } from '../../src/engine/chunk-codec.js';
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

  it('encodes like encodeChunk does', async () => {
    const data = chunkOf(1);
    const expected = encodeChunk(data);
    const got = await pool.encode(Buffer.from(data));
    assert.equal(got.digest, expected.digest);
    assert.ok(got.blob.equals(expected.blob));
  });

  it('decodes and verifies', async () => {
    const data = chunkOf(2, 777_777);
    const { digest, blob } = encodeChunk(data);
    assert.ok((await pool.decode(Buffer.from(blob), digest)).equals(data));
  });

  it('hashes', async () => {
    const data = chunkOf(3);
    assert.equal(await pool.hash(Buffer.from(data)), sha256Hex(data));
  });

  it('reports integrity failures as ChunkIntegrityError with the digest', async () => {
    const { blob } = encodeChunk(chunkOf(4));
    const wrong = sha256Hex(Buffer.from('something else'));
    await assert.rejects(pool.decode(blob, wrong), (err: unknown) => {
      assert.ok(err instanceof ChunkIntegrityError);
      assert.equal(err.digest, wrong);
      assert.match(err.message, new RegExp(`chunk ${wrong} failed integrity check: content hashes to`));
      return true;
    });
  });

  it('transfers whole buffers and copies slices of shared ones', async () => {
    const whole = chunkOf(5, 100_000);
    await pool.hash(whole);
    assert.equal(whole.length, 0, 'a buffer owning its ArrayBuffer is transferred (detached)');

    const backing = chunkOf(6, 200_000);
    const slice = backing.subarray(1000, 101_000);
    const digest = await pool.hash(slice);
    assert.equal(backing.length, 200_000, 'a slice is copied, leaving its backing buffer intact');
    assert.equal(digest, sha256Hex(backing.subarray(1000, 101_000)));

    const small = Buffer.from('pooled'); // lives in Node's shared 8 KiB pool
    assert.equal(await pool.hash(small), sha256Hex(Buffer.from('pooled')));
    assert.equal(small.toString(), 'pooled');
  });

  it('runs many tasks concurrently and returns each result to its caller', async () => {
    const inputs = Array.from({ length: 24 }, (_, i) => chunkOf(100 + i, 256 * 1024));
    const digests = inputs.map((b) => sha256Hex(b));
    const encoded = await Promise.all(inputs.map((b) => pool.encode(Buffer.from(b))));
    assert.deepEqual(encoded.map((e) => e.digest), digests);
    const decoded = await Promise.all(encoded.map((e) => pool.decode(e.blob, e.digest)));
    decoded.forEach((d, i) => assert.ok(d.equals(inputs[i]!)));
  });

  it('rejects work after close, and close is idempotent', async () => {
    const p = new WorkerPool({ size: 1 });
    const pending = p.encode(chunkOf(7));
    const queued = p.encode(chunkOf(8));
    const queued2 = p.encode(chunkOf(9));
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

  it('validates its size', () => {
    assert.throws(() => new WorkerPool({ size: 0 }), RangeError);
  });

  it('defaults to one worker per available core', async () => {
    const p = new WorkerPool();
    try {
      const { availableParallelism } = await import('node:os');
      assert.equal(p.size, availableParallelism());
      const data = chunkOf(10, 1000);
      const expected = sha256Hex(data);
      assert.equal(decodeChunk((await p.encode(data)).blob, expected).length, 1000);
    } finally {
      await p.close();
    }
  });
});
