import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { BLOB_CAPACITY } from '../../src/format/chunk-codec.js';
import { BatchUploader, MAX_BATCH_BYTES, type ChunkSink, type PendingUpload, type UploadChunk } from '../../src/pipeline/batch-uploader.js';

const digest = (n: number): string => n.toString(16).padStart(64, '0');

/** A store that holds `held` and lets each `missing` answer wait until the test releases it. */
class GatedStore implements ChunkSink {
  readonly held = new Set<string>();
  readonly uploads: string[][] = [];
  asking = 0;
  mostAsking = 0;
  private readonly gates: (() => void)[] = [];
  failUploadOf: string | undefined;

  async missing(digests: string[], signal?: AbortSignal): Promise<Set<string>> {
    this.asking += 1;
    this.mostAsking = Math.max(this.mostAsking, this.asking);
    try {
      await new Promise<void>((resolve) => this.gates.push(resolve));
      signal?.throwIfAborted();
      return new Set(digests.filter((d) => !this.held.has(d)));
    } finally {
      this.asking -= 1;
    }
  }

  async upload(chunks: UploadChunk[]): Promise<void> {
    if (chunks.some((c) => c.digest === this.failUploadOf)) throw new Error('store is full');
    this.uploads.push(chunks.map((c) => c.digest));
    for (const { digest } of chunks) this.held.add(digest);
  }

  get waiting(): number {
    return this.gates.length;
  }

  release(): void {
    this.gates.shift()?.();
  }
}

function batch(from: number, count: number, blobs: boolean): PendingUpload[] {
  return Array.from({ length: count }, (_, i) => ({ digest: digest(from + i), index: from + i, blob: blobs ? Buffer.from(`blob ${from + i}`) : undefined }));
}

function uploader(store: ChunkSink, controller: AbortController, options: { encodeAgain?: (index: number, digest: string) => Promise<Buffer>; inFlight?: number } = {}): BatchUploader {
  return new BatchUploader({
    sink: store,
    blobBuffers: new BufferRecycler(BLOB_CAPACITY, { keep: 0 }),
    inFlight: options.inFlight ?? 2,
    signal: controller.signal,
    encodeAgain: options.encodeAgain ?? (async (index) => assert.fail(`chunk ${index} encoded again`)),
    onFailure: (err) => controller.abort(err),
    onSent: () => {},
  });
}

describe('BatchUploader', () => {
  it('keeps at most inFlight batches talking to the store; submit waits for a free place', async () => {
    const store = new GatedStore();
    const up = uploader(store, new AbortController(), { inFlight: 2 });
    await up.submit(batch(0, 2, true));
    await up.submit(batch(2, 2, true));
    let third = false;
    const submitting = up.submit(batch(4, 2, true)).then(() => (third = true));
    await tick();
    assert.equal(store.waiting, 2);
    assert.equal(third, false, 'a third batch waits while two are in flight');
    store.release();
    await submitting;
    assert.equal(up.running.size, 2);
    while (store.waiting < 2) await tick();
    store.release();
    store.release();
    await up.finish();
    assert.equal(store.mostAsking, 2);
    assert.deepEqual(store.uploads.flat().sort(), batch(0, 6, false).map((p) => p.digest));
    assert.equal(up.chunksUploaded, 6);
  });

  it('uploads a batch in calls of at most MAX_BATCH_BYTES of blob buffers, and only what the store lacks', async () => {
    const store = new GatedStore();
    store.held.add(digest(1));
    const perCall = Math.ceil(MAX_BATCH_BYTES / BLOB_CAPACITY);
    const up = uploader(store, new AbortController(), { inFlight: 1 });
    await up.submit(batch(0, perCall + 3, true));
    store.release();
    await up.finish();
    assert.deepEqual(
      store.uploads.map((call) => call.length),
      [perCall, 2],
    );
    assert.ok(!store.uploads.flat().includes(digest(1)), 'a chunk the store holds is not sent');
  });

  it('encodes again only the hinted chunks the store lacks', async () => {
    const store = new GatedStore();
    store.held.add(digest(0));
    const again: number[] = [];
    const up = uploader(store, new AbortController(), {
      encodeAgain: async (index, d) => {
        again.push(index);
        return Buffer.from(d);
      },
    });
    await up.submit(batch(0, 3, false));
    store.release();
    await up.finish();
    assert.deepEqual(again, [1, 2]);
    assert.deepEqual(store.uploads, [[digest(1), digest(2)]]);
  });

  it('reports its first failure, and the abort it causes stops the batches still in flight', async () => {
    const store = new GatedStore();
    store.failUploadOf = digest(0);
    const controller = new AbortController();
    const up = uploader(store, controller, { inFlight: 2 });
    await up.submit(batch(0, 1, true));
    await up.submit(batch(1, 1, true));
    while (store.waiting < 2) await tick();
    store.release();
    await assert.rejects(up.finish(), /store is full/);
    assert.match(String(controller.signal.reason), /store is full/);
    store.release();
    while (up.running.size > 0) await Promise.allSettled(up.running);
    assert.deepEqual(store.uploads, [], 'the batch still asking when the first failed sends nothing');
  });
});
