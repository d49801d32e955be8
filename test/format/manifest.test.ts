import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CHUNK_SIZE } from '../../src/format/chunk-codec.js';
import { chunkDigest } from '../../src/format/chunk-hash.js';
import {
  ManifestFormatError,
  chunkLength,
  chunkOffset,
  decodeManifest,
  encodeManifest,
  manifestChunkDigests,
  manifestDigest,
  manifestLogicalSize,
  type Manifest,
} from '../../src/format/manifest.js';

const A = chunkDigest(Buffer.from('a'));
const B = chunkDigest(Buffer.from('b'));

function sample(): Manifest {
  const size = 3 * CHUNK_SIZE + 1000;
  return { size, chunkSize: CHUNK_SIZE, chunks: [A, null, A, B] };
}

describe('manifest', () => {
  it('encodes the documented byte layout', () => {
    const m = sample();
    const buf = encodeManifest(m);
    assert.equal(buf.length, 24 + 4 * 32);
    assert.equal(buf.toString('ascii', 0, 8), 'CAIRNMF1');
    assert.equal(buf.readBigUInt64BE(8), BigInt(m.size));
    assert.equal(buf.readUInt32BE(16), CHUNK_SIZE);
    assert.equal(buf.readUInt32BE(20), 4);
    assert.equal(buf.toString('hex', 24, 56), A);
    assert.ok(buf.subarray(56, 88).equals(Buffer.alloc(32)), 'a hole is 32 zero bytes');
    assert.equal(buf.toString('hex', 88, 120), A);
    assert.equal(buf.toString('hex', 120, 152), B);
  });

  it('round-trips', () => {
    const m = sample();
    assert.deepEqual(decodeManifest(encodeManifest(m)), m);
    const empty: Manifest = { size: 0, chunkSize: CHUNK_SIZE, chunks: [] };
    assert.deepEqual(decodeManifest(encodeManifest(empty)), empty);
    const exact: Manifest = { size: 2 * CHUNK_SIZE, chunkSize: CHUNK_SIZE, chunks: [null, null] };
    assert.deepEqual(decodeManifest(encodeManifest(exact)), exact);
  });

  it('decodes from a slice of a larger buffer', () => {
    const buf = encodeManifest(sample());
    const framed = Buffer.concat([Buffer.from('xx'), buf, Buffer.from('yy')]);
    assert.deepEqual(decodeManifest(framed.subarray(2, 2 + buf.length)), sample());
  });

  it('is identified by the SHA-256 of its bytes', () => {
    const buf = encodeManifest(sample());
    assert.equal(manifestDigest(buf), createHash('sha256').update(buf).digest('hex'));
    assert.match(manifestDigest(buf), /^[0-9a-f]{64}$/);
  });

  it('lists distinct stored chunks and the logical size', () => {
    const m = sample();
    assert.deepEqual(manifestChunkDigests(m), [A, B]);
    assert.equal(manifestLogicalSize(m), 2 * CHUNK_SIZE + 1000);
    assert.equal(chunkOffset(m, 3), 3 * CHUNK_SIZE);
    assert.equal(chunkLength(m, 3), 1000);
    assert.equal(chunkLength(m, 0), CHUNK_SIZE);
  });

  describe('rejects', () => {
    const good = encodeManifest(sample());

    function rejects(buf: Buffer, pattern: RegExp): void {
      assert.throws(() => decodeManifest(buf), (err: unknown) => {
        assert.ok(err instanceof ManifestFormatError, String(err));
        assert.match(err.message, pattern);
        return true;
      });
    }

    it('a short buffer', () => rejects(good.subarray(0, 20), /shorter than/));

    it('bad magic', () => {
      const bad = Buffer.from(good);
      bad.write('CAIRNMF2', 0, 'ascii');
      rejects(bad, /magic/);
    });

    it('a count that does not match the size', () => {
      const bad = Buffer.from(good);
      bad.writeUInt32BE(5, 20);
      rejects(bad, /chunk count 5/);
      const bigger = Buffer.from(good);
      bigger.writeBigUInt64BE(BigInt(5 * CHUNK_SIZE), 8);
      rejects(bigger, /chunk count 4/);
    });

    it('a foreign chunk size', () => {
      const bad = Buffer.from(good);
      bad.writeUInt32BE(1024 * 1024, 16);
      rejects(bad, /chunk size/);
    });

    it('missing or trailing digest bytes', () => {
      rejects(good.subarray(0, good.length - 1), /expected/);
      rejects(Buffer.concat([good, Buffer.alloc(32)]), /expected/);
    });

    it('an absurd disk size', () => {
      const bad = Buffer.from(good);
      bad.writeBigUInt64BE(2n ** 63n, 8);
      rejects(bad, /disk size/);
    });

    it('bad input to encode', () => {
      assert.throws(() => encodeManifest({ ...sample(), chunks: [A, null, A] }), ManifestFormatError);
      assert.throws(() => encodeManifest({ ...sample(), chunks: [A, null, A, B.toUpperCase()] }), /lowercase hex/);
      assert.throws(() => encodeManifest({ ...sample(), chunks: [A, null, A, 'zz'] }), /lowercase hex/);
      assert.throws(() => encodeManifest({ ...sample(), chunks: [A, null, A, '0'.repeat(64)] }), /reserved/);
      assert.throws(() => encodeManifest({ ...sample(), size: -1 }), /disk size/);
      assert.throws(() => encodeManifest({ ...sample(), size: 1.5 }), /disk size/);
    });
  });
});
