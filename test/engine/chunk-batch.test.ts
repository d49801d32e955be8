import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BATCH_ALIGNMENT,
  BATCH_QUERY_PATTERN,
  batchBodyLength,
  ChunkBatchError,
  DIGEST_LIST_PATTERN,
  formatBatchQuery,
  MAX_BATCH_CHUNKS,
  parseBatchQuery,
  parseDigestList,
  splitBatchBody,
  splitBatchReply,
} from '../../src/engine/chunk-batch.js';
import { MAX_BLOB_SIZE } from '../../src/engine/chunk-codec.js';

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
    const body = Buffer.from('aaabbbbbc');
    assert.deepEqual(splitBatchReply(digests, '3,5,1', body).map(String), ['aaa', 'bbbbb', 'c']);
    assert.throws(() => splitBatchReply(digests, '3,5', body), /does not list 3 blob lengths/);
    assert.throws(() => splitBatchReply(digests, '3,5,2', body), /add up to 10/);
    assert.throws(() => splitBatchReply(digests, null, body), ChunkBatchError);
  });
});
