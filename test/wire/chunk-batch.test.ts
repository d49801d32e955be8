import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BATCH_ALIGNMENT,
  BATCH_QUERY_PATTERN,
  batchBodyLength,
  batchReplyLengths,
  BLOB_SLOT,
  ChunkBatchError,
  DIGEST_LIST_PATTERN,
  formatBatchQuery,
  MAX_BATCH_BODY,
  MAX_BATCH_CHUNKS,
  MAX_READ_CHUNKS,
  parseBatchQuery,
  parseDigestList,
  replySlots,
  splitBatchBody,
} from '../../src/wire/chunk-batch.js';
import { BLOB_HEADER_SIZE, CHUNK_SIZE, MAX_BLOB_SIZE } from '../../src/format/chunk-codec.js';

const digest = (n: number) => n.toString(16).padStart(64, '0');

describe('batches of chunks in one request', () => {
  it('round-trips the list of chunks, and its pattern admits what parses', () => {
    const entries = [{ digest: digest(1), length: 1 }, { digest: digest(2), length: MAX_BLOB_SIZE }];
    const query = formatBatchQuery(entries);
    assert.match(query, new RegExp(BATCH_QUERY_PATTERN));
    assert.deepEqual(parseBatchQuery(query), entries);
    const most = Array.from({ length: MAX_BATCH_CHUNKS }, (_, i) => ({ digest: digest(i), length: 10 }));
    assert.match(formatBatchQuery(most), new RegExp(BATCH_QUERY_PATTERN));
    assert.doesNotMatch(formatBatchQuery([...most, { digest: digest(99), length: 10 }]), new RegExp(BATCH_QUERY_PATTERN));
  });

  it('refuses lists a server must not act on', () => {
    for (const bad of [`${digest(1)}:0`, `${digest(1)}:${MAX_BLOB_SIZE + 1}`, `${digest(1)}:1,${digest(1)}:2`, `${digest(0xab).toUpperCase()}:1`, `${digest(1)}:1e3`]) {
      assert.throws(() => parseBatchQuery(bad), ChunkBatchError, bad);
    }
  });

  it('finds each blob at its aligned slot, and refuses a body of any other length', () => {
    const entries = [{ digest: digest(1), length: 3 }, { digest: digest(2), length: BATCH_ALIGNMENT }, { digest: digest(3), length: BATCH_ALIGNMENT + 1 }];
    const length = batchBodyLength(entries.map((e) => e.length));
    assert.equal(length, 4 * BATCH_ALIGNMENT);
    const body = Buffer.alloc(length);
    body.fill(1, 0, 3);
    body.fill(2, BATCH_ALIGNMENT, 2 * BATCH_ALIGNMENT);
    body.fill(3, 2 * BATCH_ALIGNMENT, 3 * BATCH_ALIGNMENT + 1);
    const blobs = splitBatchBody(entries, body);
    assert.deepEqual(blobs.map((b) => [b.digest, b.blob.length, b.blob.every((x) => x === Number(b.digest.at(-1)))]), entries.map((e) => [e.digest, e.length, true]));
    assert.ok(blobs.every((b) => b.blob.byteOffset % BATCH_ALIGNMENT === 0), 'every blob starts a slot');
    assert.throws(() => splitBatchBody(entries, body.subarray(1)), /padded with zeros/);
    assert.throws(() => splitBatchBody(entries, Buffer.concat([body, Buffer.alloc(1)])), ChunkBatchError);
  });

  it('reads back several chunks: distinct digests asked for, blobs split by the lengths the answer gives', () => {
    const digests = [digest(1), digest(2), digest(3)];
    assert.match(digests.join(','), new RegExp(DIGEST_LIST_PATTERN));
    assert.deepEqual(parseDigestList(digests.join(',')), digests);
    assert.throws(() => parseDigestList(`${digest(1)},${digest(1)}`), /twice/);
    assert.throws(() => parseDigestList(Array.from({ length: MAX_BATCH_CHUNKS + 1 }, (_, i) => digest(i)).join(',')), ChunkBatchError);
    assert.deepEqual(batchReplyLengths(digests, '3,5,1'), [3, 5, 1]);
    assert.throws(() => batchReplyLengths(digests, '3,5'), /does not list 3 blob lengths/);
    assert.throws(() => batchReplyLengths(digests, null), ChunkBatchError);
  });

  it('places each blob of a read in its own slot, a raw chunk aligned after its header', () => {
    const into = Buffer.alloc(MAX_BATCH_BODY);
    const rawBlob = BLOB_HEADER_SIZE + CHUNK_SIZE;
    const slots = replySlots([rawBlob, 100, MAX_BLOB_SIZE, 0], into)!;
    assert.deepEqual(
      slots.map((s) => s.length),
      [rawBlob, 100, MAX_BLOB_SIZE, 0],
    );
    slots.forEach((slot, i) => {
      assert.equal(slot.buffer, into.buffer, 'views of the buffer given');
      const start = slot.byteOffset - into.byteOffset;
      assert.ok(start >= i * BLOB_SLOT && start + slot.length <= (i + 1) * BLOB_SLOT, `blob ${i} stays in its slot`);
    });
    for (const i of [0, 1, 3]) assert.equal((slots[i]!.byteOffset - into.byteOffset + BLOB_HEADER_SIZE) % BATCH_ALIGNMENT, 0, `blob ${i}'s chunk starts aligned`);
    assert.equal(replySlots(Array(MAX_READ_CHUNKS + 1).fill(1), into), null, 'more blobs than slots');
    assert.equal(replySlots([BLOB_SLOT + 1], into), null, 'a blob longer than a slot');
  });
});
