import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import zstd from 'zstd-napi/binding.js';
import { BLOB_CAPACITY, CHUNK_SIZE, ChunkIntegrityError, decodeChunk, encodeChunk, ZSTD_PARAMETERS } from '../../src/format/chunk-codec.js';
import { chunkDigest } from '../../src/format/chunk-hash.js';
import { createNativeChunkPool, nativeChunkJobs } from '../../src/compute/native-pool.js';
import { PoolClosedError, type ChunkPool } from '../../src/compute/chunk-pool.js';
import { WorkerPool } from '../../src/compute/worker-pool.js';
import { loadNativeHelper } from '../../src/runtime/index.js';
import { CI } from '../helpers/ci.js';
import { seededRandom } from '../helpers/disk-images.js';

function chunkOf(seed: number, length = CHUNK_SIZE): Buffer {
  // Half random, half repetitive: compresses, but not to nothing.
  const buf = Buffer.allocUnsafeSlow(length);
  buf.fill(seed & 0xff);
  seededRandom(seed).bytes(length >> 1).copy(buf);
  return buf;
}

// What every chunk pool does, whether its work runs in worker threads or as
// native jobs (src/compute/native-pool.ts); callers cannot tell them apart.
const pools: [string, (size?: number) => ChunkPool | null][] = [
  ['worker pool', (size) => new WorkerPool(size === undefined ? {} : { size })],
  ['native pool', (size) => createNativeChunkPool(size === undefined ? {} : { size })],
];

for (const [name, make] of pools) {
  const built = name !== 'native pool' || nativeChunkJobs;
  const skip = built || CI ? false : 'native/chunk_jobs.c was not built with zstd (node-gyp); run `npm install`';
  describe(name, { skip }, () => {
    let pool: ChunkPool;
    before(() => {
      if (!built) assert.fail('build/Release/chunk.node has no chunk jobs: check the node-gyp output of `npm ci` (native/zstd/locate.mjs)');
      pool = make(2)!;
    });
    after(async () => {
      await pool?.close();
    });

    it('hashes and compresses like encodeChunk does, giving the chunk back each time', async () => {
      const data = chunkOf(1);
      const expected = encodeChunk(data);
      const hashed = await pool.hash(Buffer.from(data));
      assert.equal(hashed.digest, expected.digest);
      assert.ok(hashed.data.equals(data));
      const compressed = await pool.compress(hashed.data);
      assert.ok(compressed.blob.equals(expected.blob));
      assert.equal(compressed.blob.buffer.byteLength, compressed.blob.length, 'a blob of its own is exactly its size');
      assert.ok(compressed.data.equals(data), 'the same memory comes back, unchanged');
    });

    it('compresses into a given blob buffer, compressible or not, as encodeChunk does', async () => {
      for (const data of [chunkOf(11), seededRandom(12).bytes(CHUNK_SIZE), chunkOf(13, 5000)]) {
        const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
        const { blob, data: back } = await pool.compress(Buffer.from(data), into);
        assert.equal(blob.buffer.byteLength, BLOB_CAPACITY, 'the blob is written into the buffer given');
        assert.equal(blob.byteOffset, 0);
        assert.ok(blob.equals(encodeChunk(data).blob));
        assert.ok(back.equals(data));
      }
      // The worker pool revives errors by name only.
      await assert.rejects(pool.compress(chunkOf(14, 1000), Buffer.alloc(100)), { name: 'RangeError', message: /a blob buffer needs/ });
    });

    it('answers null for an all-zero chunk instead of hashing it', async () => {
      const { digest, data } = await pool.hash(Buffer.alloc(CHUNK_SIZE));
      assert.equal(digest, null);
      assert.equal(data.length, CHUNK_SIZE);
    });

    it('decodes and verifies, into a given buffer or a new one', async () => {
      for (const data of [chunkOf(2, 777_777), seededRandom(15).bytes(300_000)]) {
        const { digest, blob } = encodeChunk(data);
        const fresh = await pool.decode(Buffer.from(blob), digest);
        assert.ok(fresh.data.equals(data));
        assert.ok(fresh.blob.equals(blob), 'the blob comes back too');

        const into = Buffer.allocUnsafeSlow(CHUNK_SIZE);
        const recycled = await pool.decode(Buffer.from(blob), digest, into);
        assert.equal(recycled.data.buffer.byteLength, CHUNK_SIZE, 'the chunk is written into the buffer given');
        assert.equal(recycled.data.byteOffset, 0);
        assert.ok(recycled.data.equals(data));
      }
    });

    it('verifies a blob without keeping the chunk', async () => {
      for (const data of [chunkOf(3, 1_000_001), seededRandom(16).bytes(100_000)]) {
        const { digest, blob } = encodeChunk(data);
        const verified = await pool.verify(Buffer.from(blob), digest);
        assert.equal(verified.length, data.length);
        assert.ok(verified.blob.equals(blob));
        const wrong = chunkDigest(Buffer.from('other'));
        await assert.rejects(pool.verify(Buffer.from(blob), wrong), ChunkIntegrityError);
      }
    });

    it('accepts chunks named by SHA-256, as stored before BLAKE3', async () => {
      const data = chunkOf(17, 200_000);
      const legacy = createHash('sha256').update(data).digest('hex');
      const { blob } = encodeChunk(data);
      assert.ok((await pool.decode(Buffer.from(blob), legacy)).data.equals(data));
      assert.equal((await pool.verify(Buffer.from(blob), legacy)).length, data.length);
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

    it('runs many tasks concurrently and returns each result to its caller', async () => {
      const inputs = Array.from({ length: 24 }, (_, i) => chunkOf(100 + i, 256 * 1024));
      const digests = inputs.map((b) => chunkDigest(b));
      const hashed = await Promise.all(inputs.map((b) => pool.hash(Buffer.from(b))));
      assert.deepEqual(hashed.map((h) => h.digest), digests);
      const blobs = await Promise.all(inputs.map((b) => pool.compress(Buffer.from(b))));
      const decoded = await Promise.all(blobs.map((c, i) => pool.decode(c.blob, digests[i]!)));
      decoded.forEach((d, i) => assert.ok(d.data.equals(inputs[i]!)));
      const verified = await Promise.all(blobs.map((c, i) => pool.verify(Buffer.from(encodeChunk(inputs[i]!).blob), digests[i]!)));
      assert.deepEqual(verified.map((v) => v.length), inputs.map((b) => b.length));
    });

    it('rejects work after close, and close is idempotent', async () => {
      const p = make(1)!;
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

    it('validates its size, and defaults to one lane per available core', async () => {
      assert.throws(() => make(0), RangeError);
      const p = make()!;
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
}

describe('native compression job', { skip: nativeChunkJobs || CI ? false : 'native/chunk_jobs.c was not built with zstd' }, () => {
  type CompressJob = (data: Uint8Array, into: Uint8Array, parameters: Int32Array) => Promise<number>;
  const compressJob = loadNativeHelper<{ compressJob: CompressJob }>('chunk')?.compressJob;

  it('applies the parameters it is given, as the JavaScript codec does with the same list', async () => {
    assert.ok(compressJob, 'build/Release/chunk.node has no compressJob');
    const data = chunkOf(21);
    const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    const length = await compressJob(data, into, ZSTD_PARAMETERS);
    assert.ok(into.subarray(0, length).equals(encodeChunk(data).blob.subarray(8)));
    // Another setting on the same threads gives another frame, and the list back gives the first one again.
    const other = await compressJob(data, into, Int32Array.from([zstd.CParameter.compressionLevel, 1]));
    assert.notEqual(other, length);
    assert.equal(await compressJob(data, into, ZSTD_PARAMETERS), length);
  });

  it('rejects a parameter zstd refuses instead of storing the chunk raw', async () => {
    assert.ok(compressJob);
    const data = chunkOf(22, 1000);
    const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    await assert.rejects(compressJob(data, into, Int32Array.from([zstd.CParameter.windowLog, 99])), { message: /zstd refused a compression parameter/ });
    // The thread's context is usable afterwards.
    assert.ok((await compressJob(data, into, ZSTD_PARAMETERS)) > 0);
  });

  it('refuses parameters that are not (parameter, value) pairs of int32', () => {
    assert.ok(compressJob);
    const data = chunkOf(23, 1000);
    const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    for (const bad of [new Int32Array(0), Int32Array.from([100]), new Int32Array(34), new Uint32Array(ZSTD_PARAMETERS), [100, 2]]) {
      assert.throws(() => compressJob(data, into, bad as Int32Array), { name: 'TypeError', message: /pairs/ });
    }
  });
});

describe('worker pool threads', () => {
  let pool: WorkerPool;
  before(() => {
    pool = new WorkerPool({ size: 2 });
  });
  after(async () => {
    await pool.close();
  });

  it('moves the buffers it is given to the worker and back', async () => {
    const data = chunkOf(11);
    const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    const { blob, data: back } = await pool.compress(Buffer.from(data), into);
    assert.equal(into.length, 0, 'the blob buffer travelled to the worker');
    assert.equal(blob.buffer.byteLength, BLOB_CAPACITY, 'and came back holding the blob');
    assert.ok(back.equals(data));
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
});
