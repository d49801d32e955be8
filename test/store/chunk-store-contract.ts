import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { DIRECT_IO_ALIGNMENT } from '../../src/io/disk-io.js';
import type { ChunkStore } from '../../src/store/chunk-store.js';
import { seededRandom } from '../helpers/disk-images.js';

const MiB = 1024 * 1024;
// Across the block boundaries a direct write and read split at.
const LENGTHS = [1, 4095, 4096, 4097, 64 * 1024 + 13, 4 * MiB + 8];
export const keyOf = (data: Uint8Array, salt: string) => createHash('sha256').update(salt).update(data).digest('hex');

/** A store for one describe block, and how to throw it away. */
export interface ContractStore {
  store: ChunkStore;
  dispose(): Promise<void>;
}

/**
 * What every chunk store must do, whatever holds the blobs (folder, bucket): the
 * same tests run on each (local-store.test.ts, s3-store.test.ts).
 */
/** `overhead`: bytes a store adds to each blob it holds (the encrypting store's header and tag). */
export function chunkStoreContract(name: string, open: () => Promise<ContractStore | null>, overhead = 0): void {
  describe(`${name}: the chunk store contract`, () => {
    let opened: ContractStore | null = null;
    let store: ChunkStore;
    // As the server's request and reply buffers are: aligned, and the reply side rounded up to whole blocks.
    const aligned = new BufferRecycler(4 * MiB + 4096, { align: DIRECT_IO_ALIGNMENT, shared: true });
    before(async () => {
      opened = await open();
      if (opened) store = opened.store;
    });
    after(async () => {
      await opened?.dispose();
    });

    it('stores and returns blobs of any length, from and into aligned or unaligned memory', async (t) => {
      if (!opened) return t.skip('store not available');
      for (const length of LENGTHS) {
        const data = seededRandom(`blob-${length}`).bytes(length);
        const fromAligned = aligned.take().subarray(0, length);
        data.copy(fromAligned);
        for (const [blob, salt] of [
          [fromAligned, 'aligned'],
          [Buffer.from(data), 'plain'],
          [Buffer.concat([Buffer.alloc(1), data]).subarray(1), 'odd'],
        ] as const) {
          const key = keyOf(data, salt);
          assert.equal(await store.putIfAbsent(key, blob), true);
          assert.equal(await store.putIfAbsent(key, blob), false, 'a second put of the same key writes nothing');
          assert.ok((await store.get(key))!.equals(data), `${salt} ${length}: read without a buffer`);
          const into = aligned.take();
          assert.ok((await store.get(key, into))!.equals(data), `${salt} ${length}: read into an aligned buffer`);
          aligned.give(into);
          const odd = Buffer.alloc(4 * MiB + 4097).subarray(1);
          assert.ok((await store.get(key, odd))!.equals(data), `${salt} ${length}: read into an unaligned buffer`);
          const tight = aligned.take().subarray(0, length);
          assert.ok((await store.get(key, tight))!.equals(data), `${salt} ${length}: into an aligned buffer too short for whole blocks`);
          aligned.give(tight);
          const short = Buffer.alloc(Math.max(0, length - 1));
          assert.ok((await store.get(key, short))!.equals(data), `${salt} ${length}: a slot too small is not used`);
        }
        aligned.give(fromAligned);
      }
      assert.equal(await store.get('0'.repeat(64), aligned.take()), null, 'an absent key is null');
    });

    it('heads, lists, deletes one and many, and refuses keys that are not digests', async (t) => {
      if (!opened) return t.skip('store not available');
      const blobs = [0, 1, 2, 3, 4].map((i) => seededRandom(`list-${i}`).bytes(1000 + i));
      const keys = blobs.map((b, i) => keyOf(b, `list-${i}`));
      const before = Date.now();
      for (const [i, b] of blobs.entries()) assert.equal(await store.putIfAbsent(keys[i]!, b), true);
      const head = await store.head(keys[2]!);
      assert.equal(head?.size, 1002 + overhead);
      // Object stores keep whole seconds; clocks of store and test may differ a little.
      assert.ok(Math.abs(head!.modifiedAt.getTime() - before) < 60_000, `modified ${head!.modifiedAt.toISOString()}`);
      assert.equal(await store.head('f'.repeat(64)), null);
      const listed = new Map<string, number>();
      for await (const o of store.list()) listed.set(o.key, o.size);
      for (const [i, k] of keys.entries()) assert.equal(listed.get(k), 1000 + i + overhead, `listed ${k}`);

      await store.delete(keys[0]!);
      await store.delete(keys[0]!);
      assert.equal(await store.get(keys[0]!), null, 'deleted, and a second delete is no error');
      await store.deleteMany([keys[1]!, keys[2]!, 'e'.repeat(64)]);
      assert.equal(await store.head(keys[1]!), null);
      assert.equal(await store.head(keys[2]!), null);
      assert.ok((await store.get(keys[3]!))!.equals(blobs[3]!), 'the others stay');
      const other = seededRandom('replaced').bytes(777);
      await store.replace(keys[3]!, other);
      assert.ok((await store.get(keys[3]!))!.equals(other), 'replace writes over a blob');
      await store.replace(keys[0]!, other);
      assert.ok((await store.get(keys[0]!))!.equals(other), 'and writes one that was absent');
      await store.deleteMany([]);

      await assert.rejects(store.putIfAbsent('../escape', Buffer.from('x')), /Invalid chunk key/);
      await assert.rejects(store.get('ABC'), /Invalid chunk key/);
      await assert.rejects(store.replace('../escape', Buffer.from('x')), /Invalid chunk key/);
    });

    it('replace stores a blob whether or not its key exists, the new copy replacing the old whole', async (t) => {
      if (!opened) return t.skip('store not available');
      for (const length of [1, 4097, 64 * 1024 + 13]) {
        const first = seededRandom(`put-a-${length}`).bytes(length);
        const second = seededRandom(`put-b-${length}`).bytes(length + 1);
        const key = keyOf(first, 'put');
        await store.replace(key, first);
        assert.ok((await store.get(key))!.equals(first), `${length}: stored where absent`);
        assert.equal(await store.putIfAbsent(key, second), false);
        await store.replace(key, second);
        assert.ok((await store.get(key))!.equals(second), `${length}: replaced where present`);
        assert.equal((await store.head(key))?.size, length + 1 + overhead);
      }
      assert.deepEqual(await store.removeTemporaries(new Date()), { files: 0, bytes: 0 }, 'replaces leave nothing behind');
    });
  });
}
