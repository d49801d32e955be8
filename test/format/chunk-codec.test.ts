import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import zstd from 'zstd-napi/binding.js';
import {
  BLOB_CAPACITY,
  BLOB_HEADER_SIZE,
  CHUNK_SIZE,
  ChunkIntegrityError,
  CODEC_RAW,
  CODEC_ZSTD,
  MAX_BLOB_SIZE,
  compressChunk,
  decodeChunk,
  verifyChunk,
  encodeChunk,
  isZeroChunk,
} from '../../src/format/chunk-codec.js';
import { blake3Hex, blake3Implementation, chunkDigest, contentMatches, sha256Hex, wasmBlake3 } from '../../src/format/chunk-hash.js';
import { createNativeChunkPool } from '../../src/compute/native-pool.js';
import { WorkerPool } from '../../src/compute/worker-pool.js';
import { CI } from '../helpers/ci.js';
import { seededRandom } from '../helpers/disk-images.js';

function compressible(length: number): Buffer {
  return Buffer.alloc(length, 'cairn backs up disks. ');
}

function header(codec: number, length: number): Buffer {
  const h = Buffer.alloc(BLOB_HEADER_SIZE);
  h.write('CRN', 0, 'ascii');
  h[3] = codec;
  h.writeUInt32BE(length, 4);
  return h;
}

async function assertIntegrityError(fn: () => Promise<unknown>, digest: string, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof ChunkIntegrityError, `expected ChunkIntegrityError, got ${String(err)}`);
    assert.equal(err.digest, digest);
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(digest), 'message names the digest');
    return true;
  });
}

describe('chunk codec', () => {
  it('names chunks by the lowercase hex BLAKE3 of their content', async () => {
    // The published test vectors, then the WebAssembly BLAKE3 (an implementation
    // of its own) on sizes around BLAKE3's 1 KiB chunks and a whole disk chunk.
    assert.equal(blake3Hex(Buffer.alloc(0)), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    assert.equal(blake3Hex(Buffer.from('abc')), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    const wasm = await wasmBlake3();
    for (const length of [0, 1, 1023, 1024, 1025, 64 * 1024 + 7, CHUNK_SIZE]) {
      const data = seededRandom(length + 1).bytes(length);
      assert.equal(blake3Hex(data), wasm(data), `${length} bytes`);
    }
    // The WebAssembly hasher is reused: one digest does not leak into the next.
    assert.equal(wasm(Buffer.from('abc')), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    const data = seededRandom(1).bytes(1000);
    assert.equal(encodeChunk(data).digest, blake3Hex(data));
    assert.equal(chunkDigest, blake3Hex);
  });

  it('hashes with BLAKE3\'s own native code where the helper is built', (t) => {
    // CI installs BLAKE3's C sources (Debian's librust-blake3-dev); elsewhere the
    // WebAssembly fallback is a supported build, ten times slower, and said so here.
    if (blake3Implementation !== 'native' && !CI) return t.skip('built without BLAKE3\'s sources (librust-blake3-dev): chunks are hashed in WebAssembly');
    assert.equal(blake3Implementation, 'native', 'the native helper was built without BLAKE3: is librust-blake3-dev installed?');
  });

  it('still accepts chunks named by SHA-256, as stored before BLAKE3', async () => {
    const data = seededRandom(5).bytes(CHUNK_SIZE);
    const legacy = createHash('sha256').update(data).digest('hex');
    assert.equal(sha256Hex(data), legacy);
    assert.ok(contentMatches(data, legacy) && contentMatches(data, blake3Hex(data)));
    assert.ok(!contentMatches(data, sha256Hex(Buffer.from('other'))));
    const { blob } = encodeChunk(data);
    assert.ok(decodeChunk(blob, legacy).equals(data), 'a blob stored under its SHA-256 decodes');
    await assertIntegrityError(async () => decodeChunk(blob, sha256Hex(Buffer.from('other'))), sha256Hex(Buffer.from('other')), new RegExp(`content hashes to ${blake3Hex(data)}`));
  });

  it('stores incompressible data raw and round-trips it', () => {
    const data = seededRandom(2).bytes(CHUNK_SIZE);
    const { digest, blob } = encodeChunk(data);
    assert.equal(blob.toString('ascii', 0, 3), 'CRN');
    assert.equal(blob[3], CODEC_RAW);
    assert.equal(blob.readUInt32BE(4), CHUNK_SIZE);
    assert.equal(blob.length, BLOB_HEADER_SIZE + CHUNK_SIZE);
    assert.ok(blob.subarray(BLOB_HEADER_SIZE).equals(data));
    assert.ok(decodeChunk(blob, digest).equals(data));
  });

  it('stores compressible data as one zstd frame and round-trips it', () => {
    const data = compressible(CHUNK_SIZE);
    const { digest, blob } = encodeChunk(data);
    assert.equal(blob[3], CODEC_ZSTD);
    assert.equal(blob.readUInt32BE(4), CHUNK_SIZE);
    assert.ok(blob.length < 64 * 1024, `blob of ${blob.length} bytes should be tiny`);
    const payload = blob.subarray(BLOB_HEADER_SIZE);
    assert.equal(zstd.findFrameCompressedSize(payload), payload.length);
    assert.ok(decodeChunk(blob, digest).equals(data));
  });

  it('handles a short last chunk', () => {
    const data = compressible(12345);
    const { digest, blob } = encodeChunk(data);
    assert.equal(blob.readUInt32BE(4), 12345);
    assert.ok(decodeChunk(blob, digest).equals(data));
  });

  it('gives blobs their own ArrayBuffer so they can be transferred', () => {
    for (const data of [compressible(5000), seededRandom(3).bytes(5000)]) {
      const { blob } = encodeChunk(data);
      assert.equal(blob.byteOffset, 0);
      assert.equal(blob.buffer.byteLength, blob.length);
    }
  });

  it('writes blobs into a given buffer, compressed or raw, as encodeChunk would', () => {
    const into = Buffer.allocUnsafeSlow(BLOB_CAPACITY);
    for (const data of [compressible(CHUNK_SIZE), seededRandom(5).bytes(CHUNK_SIZE)]) {
      const blob = compressChunk(data, into);
      assert.equal(blob.buffer, into.buffer);
      assert.equal(blob.byteOffset, 0);
      assert.ok(blob.equals(encodeChunk(data).blob));
    }
    assert.throws(() => compressChunk(compressible(100), Buffer.alloc(MAX_BLOB_SIZE)), RangeError, 'a buffer too small for the worst case is refused');
  });

  it('rejects empty and oversized chunks', () => {
    assert.throws(() => encodeChunk(Buffer.alloc(0)), RangeError);
    assert.throws(() => encodeChunk(Buffer.alloc(CHUNK_SIZE + 1, 1)), RangeError);
  });

  it('detects zero chunks of any length', () => {
    assert.equal(isZeroChunk(Buffer.alloc(CHUNK_SIZE)), true);
    assert.equal(isZeroChunk(Buffer.alloc(17)), true);
    const last = Buffer.alloc(CHUNK_SIZE);
    last[CHUNK_SIZE - 1] = 1;
    assert.equal(isZeroChunk(last), false);
    const first = Buffer.alloc(100);
    first[0] = 0x80;
    assert.equal(isZeroChunk(first), false);
    assert.equal(isZeroChunk(new Uint8Array(4096)), true);
  });

  // Verifying (the server, on upload) and decoding (a restore) must refuse the same blobs.
  // So must both chunk pools, which do that work off the main thread: the
  // worker threads by calling these, the native jobs (native-pool.ts) on their own.
  const workers = new WorkerPool({ size: 1 });
  const native = createNativeChunkPool({ size: 2 });
  after(() => Promise.all([workers.close(), native?.close()]));
  const readers: [string, (blob: Uint8Array, digest: string) => Promise<unknown>][] = [
    ['decodeChunk', async (blob, digest) => decodeChunk(blob, digest)],
    ['verifyChunk', async (blob, digest) => verifyChunk(blob, digest)],
    // Copies: the worker pool moves what it is given.
    ['the worker pool\'s decode', (blob, digest) => workers.decode(Buffer.from(blob), digest)],
    ['the worker pool\'s verify', (blob, digest) => workers.verify(Buffer.from(blob), digest)],
  ];
  if (native) {
    readers.push(
      ['the native pool\'s decode', (blob, digest) => native.decode(Buffer.from(blob), digest)],
      ['the native pool\'s decode into a buffer', (blob, digest) => native.decode(Buffer.from(blob), digest, Buffer.allocUnsafeSlow(CHUNK_SIZE))],
      ['the native pool\'s verify', (blob, digest) => native.verify(Buffer.from(blob), digest)],
    );
  } else if (CI) {
    it('runs chunk jobs natively where the helper is built', () => assert.fail('build/Release/chunk.node has no chunk jobs: check the node-gyp output of `npm ci`'));
  }
  for (const [name, read] of readers) {
    describe(`${name} rejects`, () => {
      const data = compressible(100_000);
      const { digest, blob: zblob } = encodeChunk(data);
      const raw = seededRandom(4).bytes(50_000);
      const { digest: rawDigest, blob: rblob } = encodeChunk(raw);

      it('a flipped payload byte (zstd)', async () => {
        const bad = Buffer.from(zblob);
        bad[bad.length - 5]! ^= 0xff;
        await assertIntegrityError(() => read(bad, digest), digest, /integrity/);
      });

      it('a flipped payload byte (raw)', async () => {
        const bad = Buffer.from(rblob);
        bad[1000]! ^= 0x01;
        await assertIntegrityError(() => read(bad, rawDigest), rawDigest, /hashes to/);
      });

      it('the right blob under the wrong digest', async () => {
        await assertIntegrityError(() => read(zblob, rawDigest), rawDigest, /hashes to|header says|declares/);
      });

      it('a truncated blob', async () => {
        await assertIntegrityError(() => read(zblob.subarray(0, zblob.length - 1), digest), digest, /zstd/);
        await assertIntegrityError(() => read(rblob.subarray(0, rblob.length - 1), rawDigest), rawDigest, /raw payload/);
        await assertIntegrityError(() => read(zblob.subarray(0, 5), digest), digest, /shorter than/);
      });

      it('bad magic and unknown codecs', async () => {
        const badMagic = Buffer.from(zblob);
        badMagic[0] = 0x58;
        await assertIntegrityError(() => read(badMagic, digest), digest, /magic/);
        const badCodec = Buffer.from(zblob);
        badCodec[3] = 7;
        await assertIntegrityError(() => read(badCodec, digest), digest, /codec 7/);
      });

      it('lengths outside the limits', async () => {
        await assertIntegrityError(() => read(header(CODEC_RAW, 0), digest), digest, /uncompressed length 0/);
        const tooLong = Buffer.concat([header(CODEC_ZSTD, CHUNK_SIZE + 1), zblob.subarray(BLOB_HEADER_SIZE)]);
        await assertIntegrityError(() => read(tooLong, digest), digest, /uncompressed length/);
        const huge = Buffer.concat([header(CODEC_RAW, CHUNK_SIZE), Buffer.alloc(MAX_BLOB_SIZE)]);
        await assertIntegrityError(() => read(huge, digest), digest, /limit/);
      });

      it('a length header that disagrees with the zstd frame', async () => {
        const lying = Buffer.from(zblob);
        lying.writeUInt32BE(data.length - 1, 4);
        await assertIntegrityError(() => read(lying, digest), digest, /zstd/);
      });

      it('a frame that expands beyond the declared length', async () => {
        // A frame written without its content size cannot be checked up front;
        // the bounded output buffer must stop it.
        const cctx = new zstd.CCtx();
        cctx.setParameter(zstd.CParameter.contentSizeFlag, 0);
        const src = compressible(CHUNK_SIZE);
        const dst = Buffer.alloc(zstd.compressBound(src.length));
        const n = cctx.compress2(dst, src);
        const bomb = Buffer.concat([header(CODEC_ZSTD, 1000), dst.subarray(0, n)]);
        await assertIntegrityError(() => read(bomb, digest), digest, /zstd/);
      });

      it('bytes after the zstd frame', async () => {
        const trailing = Buffer.concat([zblob, Buffer.from([0, 0, 0, 0])]);
        await assertIntegrityError(() => read(trailing, digest), digest, /zstd/);
      });

      it('and still reads good blobs after a failure', async () => {
        await read(zblob, digest);
        await read(rblob, rawDigest);
        assert.ok(decodeChunk(zblob, digest).equals(data));
        assert.equal(verifyChunk(zblob, digest), data.length);
        assert.equal(verifyChunk(rblob, rawDigest), raw.length);
      });

      it('a malformed expected digest with a TypeError', async () => {
        await assert.rejects(read(zblob, 'abc'), { name: 'TypeError' });
      });
    });
  }
});
