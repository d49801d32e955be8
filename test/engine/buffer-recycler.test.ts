import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferRecycler } from '../../src/engine/buffer-recycler.js';

describe('buffer recycler', () => {
  it('hands back the memory it was given, from any view of it', () => {
    const buffers = new BufferRecycler(1024, 2);
    const a = buffers.take();
    assert.equal(a.length, 1024);
    buffers.give(a.subarray(10, 20));
    assert.equal(buffers.take().buffer, a.buffer);
  });

  it('ignores foreign, detached and surplus buffers, and never keeps one twice', () => {
    const buffers = new BufferRecycler(1024, 2);
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
});
