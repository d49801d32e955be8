import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { copyBytes } from '../../src/io/copy-bytes.js';
import { readInto, readIntoParts } from '../../src/io/read-into.js';

describe('reading a stream into a buffer', () => {
  it('copies into shared memory exactly the bytes given, and nothing around them', () => {
    const target = Buffer.from(new SharedArrayBuffer(16)).fill(0xee);
    copyBytes(target, 3, Buffer.from('abc'));
    copyBytes(target, 6, new Uint8Array(0));
    assert.deepEqual([...target.subarray(2, 7)], [0xee, 0x61, 0x62, 0x63, 0xee]);
  });

  it('fills the start of the target from any number of pieces', async () => {
    const target = Buffer.alloc(16);
    const got = await readInto(Readable.from([Buffer.from('hello '), Buffer.alloc(0), Buffer.from('world')]), target, () => assert.fail('fits'));
    assert.equal(got.toString(), 'hello world');
    assert.equal(got.buffer, target.buffer, 'no copy of its own');
  });

  it('asks for a bigger buffer, or an error, when the stream runs past the target', async () => {
    const grown = await readInto(Readable.from([Buffer.from('abcd'), Buffer.from('efgh')]), Buffer.alloc(6), (small, filled, needed) => {
      assert.deepEqual([filled, needed], [4, 8]);
      const bigger = Buffer.alloc(needed);
      copyBytes(bigger, 0, small.subarray(0, filled));
      return bigger;
    });
    assert.equal(grown.toString(), 'abcdefgh');
    await assert.rejects(
      readInto(Readable.from([Buffer.from('abcdefgh')]), Buffer.alloc(4), () => {
        throw new Error('too long');
      }),
      /too long/,
    );
  });

  it('fills parts one after another, across pieces, and says whether the stream fitted them exactly', async () => {
    const parts = [Buffer.alloc(3), Buffer.alloc(0), Buffer.alloc(5), Buffer.alloc(2)];
    assert.equal(await readIntoParts(Readable.from([Buffer.from('ab'), Buffer.from('cdefg'), Buffer.from('hij')]), parts), true);
    assert.deepEqual(parts.map(String), ['abc', '', 'defgh', 'ij']);
    assert.equal(await readIntoParts(Readable.from([Buffer.from('abcdefghijk')]), parts), false, 'a byte too many');
    assert.equal(await readIntoParts(Readable.from([Buffer.from('abcdefghi')]), parts), false, 'a byte short');
    assert.equal(await readIntoParts(Readable.from([]), []), true);
  });
});
