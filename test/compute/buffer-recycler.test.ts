import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferRecycler } from '../../src/compute/buffer-recycler.js';
import { existsSync, readFileSync } from 'node:fs';
import { hasNativeHelper, isDirectAligned } from '../../src/io/disk-io.js';
import { adviseHugePages, canAdviseHugePages, HUGE_PAGE_SIZE } from '../../src/runtime/index.js';

describe('buffer recycler', () => {
  it('hands back the memory it was given, from any view of it', () => {
    const buffers = new BufferRecycler(1024, { keep: 2 });
    const a = buffers.take();
    assert.equal(a.length, 1024);
    buffers.give(a.subarray(10, 20));
    assert.equal(buffers.take().buffer, a.buffer);
  });

  it('ignores foreign, detached and surplus buffers, and never keeps one twice', () => {
    const buffers = new BufferRecycler(1024, { keep: 2 });
    buffers.give(Buffer.alloc(512));
    buffers.give(undefined);
    const detached = buffers.take();
    structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] });
    buffers.give(detached);
    const [a, b, c] = [buffers.take(), buffers.take(), buffers.take()];
    buffers.give(a);
    buffers.give(a);
    buffers.give(b);
    buffers.give(c);
    const again = [buffers.take(), buffers.take(), buffers.take()].map((x) => x.buffer);
    assert.ok(again.includes(a.buffer) && again.includes(b.buffer), 'the two kept are reused');
    assert.ok(!again.includes(c.buffer), 'the third was over the limit');
  });

  it('prefills up to the buffers it keeps, with their memory faulted in', () => {
    const size = 16 * 1024 * 1024;
    const buffers = new BufferRecycler(size, { keep: 4, shared: true });
    const held = buffers.take();
    buffers.give(held);
    const before = process.memoryUsage().rss;
    buffers.prefill(10);
    const grown = process.memoryUsage().rss - before;
    assert.equal(buffers.spare, 4, 'no more than it keeps');
    // Three new buffers, written page by page: resident now, not at their first use.
    assert.ok(grown >= 3 * size - 4 * 1024 * 1024, `the process grew by ${grown} bytes for three ${size}-byte buffers`);
    const taken = [buffers.take(), buffers.take(), buffers.take(), buffers.take()];
    assert.equal(buffers.spare, 0);
    assert.ok(taken.some((b) => b.buffer === held.buffer), 'the one it had is among them');
    assert.equal(new Set(taken.map((b) => b.buffer)).size, 4);
    buffers.prefill(2);
    assert.equal(buffers.spare, 2, 'a count below keep is a count');
  });

  it('hands out buffers aligned for direct I/O when asked, and takes them back', (t) => {
    if (!hasNativeHelper) return t.skip('the native disk I/O helper is not built');
    const buffers = new BufferRecycler(64 * 1024, { keep: 4, align: 4096 });
    const taken = [buffers.take(), buffers.take(), buffers.take()];
    for (const b of taken) {
      assert.equal(b.length, 64 * 1024);
      assert.ok(isDirectAligned(b, 0), 'starts on a 4096-byte boundary');
      assert.ok(!isDirectAligned(b.subarray(1), 0), 'one byte in is not aligned');
    }
    buffers.give(taken[1]);
    const again = buffers.take();
    assert.equal(again.buffer, taken[1]!.buffer);
    assert.ok(isDirectAligned(again, 0));
    // Moved to another thread and back, the memory (and so its alignment) stays.
    const offset = again.byteOffset;
    const moved = structuredClone(again.buffer, { transfer: [again.buffer as ArrayBuffer] }) as ArrayBuffer;
    assert.equal(again.length, 0, 'moved away');
    assert.ok(isDirectAligned(Buffer.from(moved, offset, 64 * 1024), 0));
  });

  it('aligns shared memory too, which workers use in place', (t) => {
    if (!hasNativeHelper) return t.skip('the native disk I/O helper is not built');
    const buffers = new BufferRecycler(64 * 1024, { keep: 2, shared: true, align: 4096 });
    const [a, b] = [buffers.take(), buffers.take()];
    for (const x of [a, b]) {
      assert.ok(x.buffer instanceof SharedArrayBuffer);
      assert.equal(x.length, 64 * 1024);
      assert.ok(isDirectAligned(x, 0), 'starts on a 4096-byte boundary');
      assert.ok(!isDirectAligned(x.subarray(512), 0), '512 bytes in is not aligned to 4096');
    }
    buffers.give(a.subarray(0, 4096));
    const again = buffers.take();
    assert.equal(again.buffer, a.buffer);
    assert.equal(again.byteOffset, a.byteOffset);
  });

  it('puts buffers of a huge page or more on huge page boundaries, advised for huge pages', (t) => {
    if (!canAdviseHugePages) return t.skip('native/malloc_tuning.c was not built (node-gyp); run `npm install`');
    for (const shared of [false, true]) {
      const size = 2 * HUGE_PAGE_SIZE + 4096;
      const buffers = new BufferRecycler(size, { keep: 2, shared, align: 4096 });
      const a = buffers.take();
      assert.equal(a.length, size);
      assert.ok(isDirectAligned(a.subarray(0, HUGE_PAGE_SIZE), 0, HUGE_PAGE_SIZE), 'starts on a huge page boundary');
      buffers.give(a);
      assert.equal(buffers.take().byteOffset, a.byteOffset, 'the same memory comes back, at the same place');
    }
    // Small buffers are left to malloc as they were.
    const small = new BufferRecycler(64 * 1024, { align: 4096 }).take();
    assert.equal(small.buffer.byteLength, 64 * 1024 + 4096);
    // So are large ones told not to ask for huge pages: no huge page boundary, so no slack for one.
    const unadvised = new BufferRecycler(2 * HUGE_PAGE_SIZE, { shared: true, hugePages: false }).take();
    assert.equal(unadvised.buffer.byteLength, 2 * HUGE_PAGE_SIZE);
  });

  it('asks for huge pages only over whole huge pages inside a view', (t) => {
    if (!canAdviseHugePages) return t.skip('native/malloc_tuning.c was not built (node-gyp); run `npm install`');
    const memory = new SharedArrayBuffer(3 * HUGE_PAGE_SIZE);
    const inside = Buffer.from(memory);
    // A view shorter than a huge page can hold no whole one, wherever it lies.
    assert.equal(adviseHugePages(inside.subarray(0, HUGE_PAGE_SIZE - 1)), false);
    // Three huge pages' worth always holds at least one whole huge page; the kernel takes the advice where it has them.
    const thp = '/sys/kernel/mm/transparent_hugepage/enabled';
    if (process.platform !== 'linux' || !existsSync(thp)) return t.skip('no transparent huge pages in this kernel');
    if (/\[never\]/.test(readFileSync(thp, 'utf8'))) return t.skip('transparent huge pages are switched off on this machine');
    assert.equal(adviseHugePages(inside), true);
  });
});
