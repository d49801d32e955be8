import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BATCHES_IN_FLIGHT } from '../../src/wire/chunk-batch.js';
import { backupDisk, DiskChangedError, type BackupProgress, type BackupResult, type ChunkSink, type UploadChunk } from '../../src/pipeline/backup-pipeline.js';
import { PROBE_EVERY, TRUST_AFTER } from '../../src/pipeline/ask-first.js';
import { CHUNK_SIZE, ChunkIntegrityError, decodeChunk } from '../../src/format/chunk-codec.js';
import { DiskOpenError, DiskSizeChangedError } from '../../src/pipeline/disk-source.js';
import { hasNativeHelper } from '../../src/io/disk-io.js';
import {
  decodeManifest,
  encodeManifest,
  manifestChunkDigests,
  manifestLogicalSize,
  type Manifest,
} from '../../src/format/manifest.js';
import { restoreDisk, RestoreTargetError, type ChunkSource, type RestoreMode } from '../../src/pipeline/restore-pipeline.js';
import type { ChunkPool } from '../../src/compute/chunk-pool.js';
import { createChunkPool } from '../../src/compute/native-pool.js';
import {
  allocatedBytes,
  cachedBytes,
  filesEqual,
  fsck,
  fsckReport,
  makeExt4Image,
  makeTempDir,
  removeTempDir,
  scribble,
  seededRandom,
} from '../helpers/disk-images.js';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;

/** A chunk store in a Map, checking uploads the way a server would. */
class MemoryStore implements ChunkSink, ChunkSource {
  readonly blobs = new Map<string, Buffer>();
  readonly missingCalls: string[][] = [];
  readonly uploads: string[] = [];
  readonly fetches: string[] = [];

  async missing(digests: string[]): Promise<Set<string>> {
    this.missingCalls.push([...digests]);
    return new Set(digests.filter((d) => !this.blobs.has(d)));
  }

  readonly uploadCalls: number[] = [];

  async upload(chunks: UploadChunk[]): Promise<void> {
    this.uploadCalls.push(chunks.length);
    for (const { digest, blob } of chunks) {
      decodeChunk(blob, digest);
      assert.ok(!this.blobs.has(digest), `chunk ${digest} uploaded twice`);
      this.blobs.set(digest, Buffer.from(blob));
      this.uploads.push(digest);
    }
  }

  readonly fetchCalls: number[] = [];

  async fetch(digests: string[]): Promise<Buffer[]> {
    assert.equal(new Set(digests).size, digests.length, 'a digest asked for twice in one fetch');
    this.fetchCalls.push(digests.length);
    return digests.map((digest) => {
      const blob = this.blobs.get(digest);
      if (!blob) throw new Error(`no chunk ${digest}`);
      this.fetches.push(digest);
      // A copy, as from the network: the pool takes over what it is given.
      return Buffer.from(blob);
    });
  }
}

/** The same pool, counting how many chunks it compresses. */
function poolCalls(pool: ChunkPool): { pool: ChunkPool; compresses: () => number } {
  let compresses = 0;
  const counting: ChunkPool = {
    size: pool.size,
    hash: (data) => pool.hash(data),
    compress: (data) => {
      compresses += 1;
      return pool.compress(data);
    },
    decode: (blob, digest, into) => pool.decode(blob, digest, into),
    verify: (blob, digest) => pool.verify(blob, digest),
    close: () => pool.close(),
  };
  return { pool: counting, compresses: () => compresses };
}

function manifestOf(result: BackupResult): Manifest {
  // Through the binary form, as a real point would be stored and read back.
  return decodeManifest(encodeManifest({ size: result.size, chunkSize: result.chunkSize, chunks: result.chunks }));
}

function chunkIndexes(offsets: number[]): Set<number> {
  return new Set(offsets.map((o) => Math.floor(o / CHUNK_SIZE)));
}

/** A raw disk made of whole chunks; each spec is a fill byte (0 = hole). */
async function syntheticDisk(path: string, fills: number[]): Promise<void> {
  const parts = fills.map((fill) => {
    const chunk = Buffer.alloc(CHUNK_SIZE, fill);
    // Distinct fills give distinct chunks; equal fills give equal chunks.
    if (fill !== 0) chunk.write(`chunk with fill ${fill}`, 0, 'ascii');
    return chunk;
  });
  await writeFile(path, Buffer.concat(parts));
}

describe('backup and restore pipelines', () => {
  let dir: string;
  let pool: ChunkPool;
  let image: string;
  let pristine: string;
  let store: MemoryStore;
  let pointA: Manifest;
  let backupA: BackupResult;
  const progressA: BackupProgress[] = [];

  before(async () => {
    dir = await makeTempDir();
    pool = createChunkPool({ size: 2 });
    image = await makeExt4Image(dir, { sizeMiB: 64, seed: 11, dataMiB: 12 });
    pristine = join(dir, 'pristine.img');
    await copyFile(image, pristine);
    store = new MemoryStore();
    backupA = await backupDisk({ path: image, pool, sink: store, onProgress: (p) => progressA.push(p) });
    pointA = manifestOf(backupA);
  });

  after(async () => {
    await pool.close();
    await removeTempDir(dir);
  });

  it('backs up an ext4 image: every non-zero chunk stored once, holes left out', async () => {
    const size = (await stat(image)).size;
    assert.equal(backupA.size, size);
    assert.equal(backupA.chunks.length, size / CHUNK_SIZE);
    assert.equal(backupA.bytesRead, size);
    const distinct = manifestChunkDigests(pointA);
    assert.ok(backupA.chunks.includes(null), 'a mostly empty filesystem has hole chunks');
    assert.equal(backupA.chunksUploaded, distinct.length);
    assert.deepEqual(new Set(store.uploads), new Set(distinct));
    assert.equal(backupA.bytesUploaded, [...store.blobs.values()].reduce((n, b) => n + b.length, 0));
    const last = progressA.at(-1)!;
    assert.deepEqual(last, { bytesRead: size, bytesUploaded: backupA.bytesUploaded, bytesTotal: size });
    for (let i = 1; i < progressA.length; i++) {
      assert.ok(progressA[i]!.bytesRead >= progressA[i - 1]!.bytesRead, 'progress never goes back');
    }
  });

  it('restores to a new sparse file identical to the source, passing fsck', async () => {
    const target = join(dir, 'restored.img');
    const fetchesBefore = store.fetchCalls.length;
    const result = await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'file' });
    assert.ok(await filesEqual(target, pristine), 'restored image differs from the original');
    const fetches = store.fetchCalls.slice(fetchesBefore);
    assert.ok(fetches.every((n) => n >= 1 && n <= 4), `chunks per fetch: ${fetches.join(' ')}`);
    assert.ok(fetches.length < fetches.reduce((a, b) => a + b, 0), `chunks per fetch: ${fetches.join(' ')}`);
    assert.ok(await fsck(target), (await fsckReport(target)).output);
    const holes = pointA.chunks.filter((c) => c === null).length;
    assert.equal(result.chunksSkipped, holes);
    assert.equal(result.chunksWritten, pointA.chunks.length - holes);
    assert.equal(result.bytesWritten, manifestLogicalSize(pointA));

    const allocated = await allocatedBytes(target);
    assert.ok(allocated <= manifestLogicalSize(pointA) + MiB, `holes were written: ${allocated} bytes allocated`);
  });

  it('leaves none of the restored disk in the page cache', async (t) => {
    if (!hasNativeHelper) return t.skip('the native disk I/O helper is not built');
    const path = join(dir, 'uncached.img');
    const content = seededRandom(5).bytes(3 * CHUNK_SIZE + 1000); // a short last chunk, not block-aligned
    await writeFile(path, content);
    const own = new MemoryStore();
    const manifest = manifestOf(await backupDisk({ path, pool, sink: own }));
    const target = join(dir, 'uncached-restored.img');
    const result = await restoreDisk({ manifest, target, source: own, pool, mode: 'file' });
    assert.equal(result.bytesWritten, content.length);
    assert.equal(await cachedBytes(target), 0, 'flushed, then dropped');
    assert.ok((await readFile(target)).equals(content));
  });

  it('restores a mostly empty disk as a file that allocates a small part of its size', async () => {
    const sparseDir = join(dir, 'sparse');
    await mkdir(sparseDir);
    const img = await makeExt4Image(sparseDir, { sizeMiB: 64, files: { 'hello.txt': 'hello\n' } });
    const own = new MemoryStore();
    const manifest = manifestOf(await backupDisk({ path: img, pool, sink: own }));
    const target = join(sparseDir, 'restored.img');
    await restoreDisk({ manifest, target, source: own, pool, mode: 'file' });
    const { size, blocks } = await stat(target);
    assert.equal(size, 64 * MiB);
    assert.ok(blocks * 512 < size / 2, `${blocks * 512} of ${size} bytes allocated`);
    assert.ok(await filesEqual(target, img));
  });

  it('replaces an existing file in file mode, still sparse', async () => {
    const target = join(dir, 'overwritten.img');
    await writeFile(target, seededRandom(99).bytes(80 * MiB));
    await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'file' });
    assert.equal((await stat(target)).size, pointA.size);
    assert.ok(await filesEqual(target, pristine));
    assert.ok((await allocatedBytes(target)) <= manifestLogicalSize(pointA) + MiB);
  });

  it('uploads only changed chunks on the next backup', async () => {
    const changed = join(dir, 'changed.img');
    await copyFile(pristine, changed);
    const offsets = await scribble(changed, { regions: 5, seed: 1 });
    const touched = chunkIndexes(offsets);
    const uploadsBefore = store.uploads.length;

    const backupB = await backupDisk({ path: changed, expectedSize: pointA.size, pool, sink: store });

    assert.equal(backupB.chunksUploaded, touched.size);
    assert.equal(store.uploads.length - uploadsBefore, touched.size);
    backupB.chunks.forEach((digest, i) => {
      if (touched.has(i)) assert.notEqual(digest, pointA.chunks[i], `chunk ${i} was scribbled on`);
      else assert.equal(digest, pointA.chunks[i], `chunk ${i} was not touched`);
    });
    assert.ok(backupB.bytesUploaded < backupA.bytesUploaded / 2);
  });

  it('rolls back by writing only the chunks that differ', async () => {
    const target = join(dir, 'rollback.img');
    await copyFile(pristine, target);
    const offsets = await scribble(target, { regions: 6, seed: 2 });
    const touched = chunkIndexes(offsets);
    assert.equal(await filesEqual(target, pristine), false);
    store.fetches.length = 0;

    const result = await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'rollback' });

    assert.equal(result.chunksWritten, touched.size);
    assert.equal(result.chunksSkipped, pointA.chunks.length - touched.size);
    assert.equal(result.bytesWritten, touched.size * CHUNK_SIZE);
    assert.ok(store.fetches.length <= touched.size, 'unchanged chunks are not fetched');
    assert.ok(await filesEqual(target, pristine));
    assert.ok(await fsck(target));

    const again = await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'rollback' });
    assert.equal(again.chunksWritten, 0, 'a second rollback has nothing to do');
  });

  it('overwrites in place in device mode, zeroing holes only where needed', async () => {
    const target = join(dir, 'device.img');
    await writeFile(target, seededRandom(5).bytes(pointA.size));
    const holes = pointA.chunks.filter((c) => c === null).length;

    const first = await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'device' });
    assert.equal(first.chunksWritten, pointA.chunks.length, 'garbage in holes has to be zeroed');
    assert.ok(await filesEqual(target, pristine));

    const second = await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'device' });
    assert.equal(second.chunksSkipped, holes, 'holes that already read as zero are not rewritten');
    assert.ok(await filesEqual(target, pristine));
  });

  it('rolls back a block device', async (t) => {
    const backing = join(dir, 'loop.img');
    await copyFile(pristine, backing);
    const touched = chunkIndexes(await scribble(backing, { regions: 3, seed: 3 }));
    let loop: string;
    try {
      loop = (await execFileAsync('/usr/sbin/losetup', ['-f', '--show', backing])).stdout.trim();
    } catch {
      t.skip('no loop devices on this machine');
      return;
    }
    try {
      const result = await restoreDisk({ manifest: pointA, target: loop, source: store, pool, mode: 'rollback' });
      assert.equal(result.chunksWritten, touched.size);
      await assert.rejects(
        restoreDisk({ manifest: pointA, target: loop, source: store, pool, mode: 'file' }),
        /block device/,
      );
    } finally {
      await execFileAsync('/usr/sbin/losetup', ['-d', loop]);
    }
    assert.ok(await filesEqual(backing, pristine));
  });

  it('dedups repeated chunks within one disk and skips zero chunks', async () => {
    const path = join(dir, 'synthetic.img');
    await syntheticDisk(path, [1, 1, 0, 2, 1, 0]);
    const own = new MemoryStore();
    const result = await backupDisk({ path, pool, sink: own });
    const x = result.chunks[0]!;
    const y = result.chunks[3]!;
    assert.deepEqual(result.chunks, [x, x, null, y, x, null]);
    assert.equal(result.chunksUploaded, 2);
    assert.deepEqual(own.missingCalls.flat().sort(), [x, y].sort());

    const target = join(dir, 'synthetic-restored.img');
    await restoreDisk({ manifest: manifestOf(result), target, source: own, pool, mode: 'file' });
    assert.ok(await filesEqual(path, target));
  });

  it('skips the holes of a sparse disk, and makes the manifest a full read makes', async (t) => {
    if (!hasNativeHelper) return t.skip('the native disk I/O helper is not built');
    // That holes are not even read is the disk source's to show (test/io/disk-io.test.ts).
    const sparse = join(dir, 'holes.img');
    await writeFile(sparse, '');
    await truncate(sparse, 6 * CHUNK_SIZE);
    const handle = await open(sparse, 'r+');
    for (const [index, fill] of [[1, 7], [4, 9]] as const) await handle.write(Buffer.alloc(CHUNK_SIZE, fill), 0, CHUNK_SIZE, index * CHUNK_SIZE);
    await handle.close();
    const dense = join(dir, 'dense.img');
    await writeFile(dense, await readFile(sparse)); // the same bytes, every block allocated
    const fromSparse = await backupDisk({ path: sparse, pool, sink: new MemoryStore() });
    assert.equal(fromSparse.bytesRead, 6 * CHUNK_SIZE, 'holes count as read for progress');
    const fromDense = await backupDisk({ path: dense, pool, sink: new MemoryStore() });
    assert.deepEqual(fromSparse.chunks, fromDense.chunks, 'written zeros are read and found to be zeros');
    assert.deepEqual(fromSparse.chunks.map((c) => c !== null), [false, true, false, false, true, false]);
    assert.equal(fromDense.chunksUploaded, 2);
  });

  it('hashes chunks the store is known to hold without compressing them', async () => {
    const path = join(dir, 'known.img');
    await syntheticDisk(path, [1, 2, 0, 3]);
    const own = new MemoryStore();
    const first = await backupDisk({ path, pool, sink: own });
    const [a, b, , c] = first.chunks;
    const counting = poolCalls(pool);
    const second = await backupDisk({ path, pool: counting.pool, sink: own, known: new Set([a!, b!]) });
    assert.deepEqual(second.chunks, first.chunks);
    assert.equal(counting.compresses(), 1, 'only the chunk not in `known` was compressed');
    assert.equal(second.chunksUploaded, 0);
    assert.ok(c);
  });

  it('takes the hint as a promise, reading meanwhile, and a hint that fails as none', async () => {
    const path = join(dir, 'known-later.img');
    await syntheticDisk(path, [8, 9, 10]);
    const own = new MemoryStore();
    const first = await backupDisk({ path, pool, sink: own });
    const [a, b] = first.chunks;
    const counting = poolCalls(pool);
    const later = new Promise<Set<string>>((resolve) => setTimeout(() => resolve(new Set([a!, b!])), 50));
    const second = await backupDisk({ path, pool: counting.pool, sink: own, known: later });
    assert.deepEqual(second.chunks, first.chunks);
    assert.equal(counting.compresses(), 1, 'the hint, once come, spared the two chunks it names');
    const failing = poolCalls(pool);
    const third = await backupDisk({ path, pool: failing.pool, sink: own, known: Promise.reject(new Error('no previous point')) });
    assert.deepEqual(third.chunks, first.chunks);
    assert.equal(failing.compresses(), 3, 'without a hint every chunk is compressed');
    assert.equal(third.chunksUploaded, 0, 'and the store still decides what is sent');
  });

  it('reads and compresses a known chunk again when the store lacks it after all', async () => {
    const path = join(dir, 'known-wrong.img');
    await syntheticDisk(path, [4, 5]);
    const digests = (await backupDisk({ path, pool, sink: new MemoryStore() })).chunks as string[];
    const empty = new MemoryStore();
    const result = await backupDisk({ path, pool, sink: empty, known: new Set(digests) });
    assert.equal(result.chunksUploaded, 2);
    const target = join(dir, 'known-wrong-restored.img');
    await restoreDisk({ manifest: manifestOf(result), target, source: empty, pool, mode: 'file' });
    assert.ok(await filesEqual(path, target));
  });

  it('fails rather than upload a known chunk that changed on disk before it was read again', async () => {
    const path = join(dir, 'known-changed.img');
    await syntheticDisk(path, [6, 7]);
    const digests = (await backupDisk({ path, pool, sink: new MemoryStore() })).chunks as string[];
    const sink = new MemoryStore();
    // The disk is written to while the store is being asked, as on a mounted disk.
    sink.missing = async (asked) => {
      await writeFile(path, Buffer.alloc(CHUNK_SIZE, 9), { flag: 'r+' });
      return new Set(asked);
    };
    await assert.rejects(backupDisk({ path, pool, sink, known: new Set(digests) }), (err: unknown) => err instanceof DiskChangedError && /changed while it was being backed up/.test(err.message));
    assert.ok(!sink.uploads.includes(digests[0]!), 'the changed chunk was not sent under its old digest');
  });

  it('asks about digests in batches, uploads each batch at once, and BATCHES_IN_FLIGHT at a time', async () => {
    const path = join(dir, 'batches.img');
    await syntheticDisk(path, Array.from({ length: 4 * BATCHES_IN_FLIGHT + 1 }, (_, i) => i + 1));
    const own = new MemoryStore();
    let inFlight = 0;
    let maxInFlight = 0;
    const slow: ChunkSink = {
      missing: (d) => own.missing(d),
      async upload(chunks) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // A full batch is held until as many are in flight as the pipeline allows, so that a
        // loaded machine, slow to read the next ones, cannot make the count come out lower;
        // the ceiling only ends the wait of a pipeline that allows fewer.
        const until = Date.now() + 5_000;
        while (chunks.length === 4 && inFlight < BATCHES_IN_FLIGHT && Date.now() < until) await sleep(5);
        await sleep(30); // room for one batch too many to show
        inFlight--;
        await own.upload(chunks);
      },
    };
    const result = await backupDisk({ path, pool, sink: slow, batchSize: 4 });
    assert.equal(result.chunksUploaded, 4 * BATCHES_IN_FLIGHT + 1);
    assert.ok(own.missingCalls.every((c) => c.length <= 4), JSON.stringify(own.missingCalls.map((c) => c.length)));
    // Batches ask until TRUST_AFTER answers found all their chunks missing (AskFirst).
    const batches = [...Array<number>(BATCHES_IN_FLIGHT).fill(4), 1];
    assert.deepEqual(own.missingCalls.map((c) => c.length), batches.slice(0, TRUST_AFTER));
    assert.deepEqual(own.uploadCalls, [...Array<number>(BATCHES_IN_FLIGHT).fill(4), 1]);
    assert.equal(maxInFlight, BATCHES_IN_FLIGHT);
  });

  it('sends a new disk without asking once the store has lacked every chunk it was asked about', async () => {
    const path = join(dir, 'new-disk.img');
    const batches = TRUST_AFTER + 3;
    await syntheticDisk(path, Array.from({ length: 4 * batches }, (_, i) => 100 + i));
    const own = new MemoryStore();
    // Uploads that take a while, as over a network: the answers of the batches in flight are in before the next batch decides.
    const remote: ChunkSink = { missing: (d) => own.missing(d), upload: async (chunks) => void (await sleep(10), await own.upload(chunks)) };
    const result = await backupDisk({ path, pool, sink: remote, batchSize: 4 });
    assert.equal(result.chunksUploaded, 4 * batches);
    assert.equal(own.uploads.length, 4 * batches, 'every chunk stored once');
    assert.ok(batches - TRUST_AFTER < PROBE_EVERY);
    assert.equal(own.missingCalls.length, TRUST_AFTER, 'the batches after those went without asking');

    // The same disk again, without a hint: the store holds it all, so every batch asks and none sends.
    const again = await backupDisk({ path, pool, sink: own, batchSize: 4 });
    assert.equal(again.chunksUploaded, 0);
    assert.equal(own.missingCalls.length, TRUST_AFTER + batches);
  });

  it('keeps a bounded number of chunks in memory when uploads stall', async () => {
    const path = join(dir, 'stall.img');
    const count = 32;
    await syntheticDisk(path, Array.from({ length: count }, (_, i) => i + 1));
    const own = new MemoryStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stalledNow!: () => void;
    const firstUpload = new Promise<void>((r) => (stalledNow = r));
    let bytesRead = 0;
    const stalled: ChunkSink = {
      missing: (d) => own.missing(d),
      async upload(chunks) {
        stalledNow();
        await gate;
        await own.upload(chunks);
      },
    };
    const running = backupDisk({ path, pool, sink: stalled, batchSize: 2, onProgress: (p) => (bytesRead = p.bytesRead) });
    await firstUpload;
    // Then wait for reading to stop advancing.
    let last = -1;
    while (bytesRead !== last) {
      last = bytesRead;
      await sleep(300);
    }
    const chunksRead = bytesRead / CHUNK_SIZE;
    // The batches of 2 in flight, the one waiting for a place among them, the
    // encode window of two chunks per lane of the pool, and the chunk in hand.
    const bound = (BATCHES_IN_FLIGHT + 1) * 2 + 2 * pool.size + 1;
    assert.ok(chunksRead <= bound, `${chunksRead} chunks read while uploads were stalled, more than ${bound}`);
    assert.ok(chunksRead >= 4, `reading should run ahead of the stalled batch, read ${chunksRead}`);
    release();
    const result = await running;
    assert.equal(result.chunksUploaded, count);
  });

  it('refuses a disk whose size changed since the last backup', async () => {
    const own = new MemoryStore();
    await assert.rejects(
      backupDisk({ path: image, expectedSize: pointA.size + CHUNK_SIZE, pool, sink: own }),
      (err: unknown) => {
        assert.ok(err instanceof DiskSizeChangedError);
        assert.match(err.message, /disk size changed/);
        assert.match(err.message, new RegExp(`${pointA.size + CHUNK_SIZE}.*${pointA.size}`));
        return true;
      },
    );
    assert.equal(own.missingCalls.length, 0);
  });

  it('reports unreadable paths clearly', async () => {
    const own = new MemoryStore();
    await assert.rejects(backupDisk({ path: join(dir, 'missing.img'), pool, sink: own }), (err: unknown) => {
      assert.ok(err instanceof DiskOpenError);
      assert.match(err.message, /missing\.img: no such file or device/);
      return true;
    });
    await assert.rejects(backupDisk({ path: dir, pool, sink: own }), /not a regular file or block device/);
  });

  it('fails with the sink error and stops uploading', async () => {
    const path = join(dir, 'failing.img');
    await syntheticDisk(path, Array.from({ length: 2 * (BATCHES_IN_FLIGHT + 2) }, (_, i) => i + 1));
    let uploads = 0;
    const failing: ChunkSink = {
      missing: async (d) => new Set(d),
      async upload() {
        const call = ++uploads;
        await sleep(20);
        if (call === 1) throw new Error('HTTP 507 store full');
      },
    };
    await assert.rejects(backupDisk({ path, pool, sink: failing, batchSize: 2 }), /HTTP 507/);
    const after = uploads;
    await sleep(100);
    assert.equal(uploads, after, 'no upload started after the backup failed');
    // Batches of two, two more than fit in flight; only those beside the failing one started.
    assert.ok(uploads <= BATCHES_IN_FLIGHT, `${uploads} uploads`);
  });

  it('can be aborted', async () => {
    const controller = new AbortController();
    const own = new MemoryStore();
    const sink: ChunkSink = {
      missing: (d) => own.missing(d),
      async upload(chunks) {
        controller.abort(new Error('cancelled by user'));
        await own.upload(chunks);
      },
    };
    await assert.rejects(backupDisk({ path: image, pool, sink, signal: controller.signal, batchSize: 1 }), /cancelled by user/);
    await assert.rejects(backupDisk({ path: image, pool, sink, signal: controller.signal }), /cancelled by user/);
  });

  it('lets every request in flight listen to its abort signal without a leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      // As Node's HTTP client does: one abort listener per request while it runs.
      const listening = <T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> => {
        const onAbort = (): void => {};
        signal?.addEventListener('abort', onAbort);
        return sleep(5).then(work).finally(() => signal?.removeEventListener('abort', onAbort));
      };
      const own = new MemoryStore();
      const sink: ChunkSink = {
        missing: (d, signal) => listening(signal, () => own.missing(d)),
        upload: (chunks, signal) => listening(signal, () => own.upload(chunks)),
      };
      const disk = join(dir, 'many-chunks.img');
      await syntheticDisk(disk, Array.from({ length: 24 }, (_, i) => i + 1));
      const result = await backupDisk({ path: disk, pool, sink, batchSize: 16 });
      assert.equal(own.uploads.length, 24);
      const source: ChunkSource = { fetch: (digests, signal) => listening(signal, () => own.fetch(digests)) };
      await restoreDisk({ manifest: manifestOf(result), target: join(dir, 'many-lanes.img'), source, pool, mode: 'file', fetches: 8 });
      await new Promise(setImmediate); // process.emitWarning emits on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.map((w) => w.name), []);
  });

  it('refuses a corrupted chunk, naming its digest', async () => {
    const digest = pointA.chunks.find((c) => c !== null)!;
    const corrupt: ChunkSource = {
      async fetch(digests) {
        const blobs = await store.fetch(digests);
        digests.forEach((d, i) => {
          if (d === digest) blobs[i]![blobs[i]!.length - 1]! ^= 0x55;
        });
        return blobs;
      },
    };
    const target = join(dir, 'corrupt.img');
    await assert.rejects(restoreDisk({ manifest: pointA, target, source: corrupt, pool, mode: 'file' }), (err: unknown) => {
      assert.ok(err instanceof ChunkIntegrityError);
      assert.equal(err.digest, digest);
      assert.match(err.message, new RegExp(digest));
      return true;
    });
  });

  it('refuses a chunk served under another digest', async () => {
    const [first, second] = manifestChunkDigests(pointA);
    const swapped: ChunkSource = { fetch: (digests) => Promise.all(digests.map(async (d) => (await store.fetch([d === first ? second! : d]))[0]!)) };
    await assert.rejects(
      restoreDisk({ manifest: pointA, target: join(dir, 'swapped.img'), source: swapped, pool, mode: 'file' }),
      (err: unknown) => err instanceof ChunkIntegrityError && err.digest === first,
    );
  });

  it('checks restore targets', async () => {
    const absent = join(dir, 'absent.img');
    for (const mode of ['device', 'rollback'] as RestoreMode[]) {
      await assert.rejects(
        restoreDisk({ manifest: pointA, target: absent, source: store, pool, mode }),
        (err: unknown) => err instanceof RestoreTargetError && /does not exist/.test(err.message),
      );
    }
    await assert.rejects(
      restoreDisk({ manifest: pointA, target: absent, source: store, pool, mode: 'file', createIfMissing: false }),
      /does not exist/,
    );
    await assert.rejects(
      restoreDisk({ manifest: pointA, target: dir, source: store, pool, mode: 'file' }),
      RestoreTargetError,
    );
    await assert.rejects(
      restoreDisk({ manifest: { ...pointA, chunks: pointA.chunks.slice(1) }, target: absent, source: store, pool, mode: 'file' }),
      /manifest lists/,
    );
  });

  it('rolls back into a missing file when asked to create it', async () => {
    const target = join(dir, 'created-by-rollback.img');
    const result = await restoreDisk({ manifest: pointA, target, source: store, pool, mode: 'rollback', createIfMissing: true });
    assert.equal(result.chunksSkipped, pointA.chunks.filter((c) => c === null).length);
    assert.ok(await filesEqual(target, pristine));
  });
});
