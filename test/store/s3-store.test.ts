import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { payloadSigning, S3ChunkStore } from '../../src/store/s3-store.js';
import { seededRandom } from '../helpers/disk-images.js';
import { emptyPrefix, needS3, openS3Store, S3_BUCKET, S3_ENDPOINT, s3Settings, uniquePrefix } from '../helpers/s3.js';
import { chunkStoreContract, keyOf } from './chunk-store-contract.js';

chunkStoreContract('S3 chunk store on Ceph RGW', async () => {
  if (!S3_ENDPOINT) return null;
  const prefix = uniquePrefix('contract');
  const store = await openS3Store(prefix);
  return {
    store,
    async dispose() {
      store.close();
      await emptyPrefix(prefix);
    },
  };
});

describe('S3 chunk store on Ceph RGW', () => {
  const prefix = uniquePrefix('s3');
  let store: S3ChunkStore;
  let raw: S3Client;
  before(async () => {
    if (!S3_ENDPOINT) return;
    store = await openS3Store(prefix);
    raw = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
  });
  after(async () => {
    store?.close();
    raw?.destroy();
    await emptyPrefix(prefix);
  });

  it('keeps chunks under PREFIX/ab/cd/<digest>, and lists only those', async (t) => {
    if (!needS3(t)) return;
    const data = seededRandom('layout').bytes(3000);
    const key = keyOf(data, 'layout');
    await store.putIfAbsent(key, data);
    // Something else in the bucket under the prefix that is not a chunk: never listed, so GC never deletes it.
    await raw.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}notes.txt`, Body: 'x', ContentLength: 1 }));
    await raw.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}${'a'.repeat(64)}`, Body: 'x', ContentLength: 1 }));
    const objects = await raw.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix }));
    assert.ok(objects.Contents?.some((o) => o.Key === `${prefix}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`));
    const listed = [];
    for await (const o of store.list()) listed.push(o.key);
    assert.deepEqual(listed, [key]);
    // Another prefix in the same bucket is another store.
    const other = await openS3Store(uniquePrefix('other'));
    try {
      assert.equal(await other.get(key), null);
      for await (const o of other.list()) assert.fail(`listed ${o.key} of another prefix`);
    } finally {
      other.close();
    }
  });

  it('of 8 racing puts of one new chunk, exactly one writes it', async (t) => {
    if (!needS3(t)) return;
    const data = seededRandom('race').bytes(200_000);
    const key = keyOf(data, 'race');
    const wins = await Promise.all(Array.from({ length: 8 }, () => store.putIfAbsent(key, data)));
    assert.equal(wins.filter(Boolean).length, 1, `winners: ${wins}`);
    assert.ok((await store.get(key))!.equals(data));
  });

  it('stores over loopback with an unsigned payload (no SHA-256 of the body), which RGW takes; a plain-HTTP host elsewhere keeps it signed', async (t) => {
    if (!needS3(t)) return;
    // Reaches into a fresh store's client (its middleware chain is fixed at the first request): what the signer put on the wire is the thing under test.
    const fresh = await openS3Store(prefix);
    const client = (fresh as unknown as { client: S3Client }).client;
    const sent: Record<string, string>[] = [];
    client.middlewareStack.add(
      (next) => (args) => {
        sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: 'deserialize', name: 'testRecordSigned' },
    );
    try {
      const data = seededRandom('unsigned').bytes(100_000);
      const key = keyOf(data, 'unsigned');
      assert.equal(await fresh.putIfAbsent(key, data), true);
      assert.ok((await fresh.get(key))!.equals(data));
      const put = sent[0]!;
      assert.equal(put['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
      assert.match(put['authorization'] ?? '', /SignedHeaders=[^,]*x-amz-content-sha256/);
    } finally {
      fresh.close();
    }
    assert.equal(payloadSigning(S3_ENDPOINT), 'unsigned');
    assert.equal(payloadSigning(null), 'unsigned');
    assert.equal(payloadSigning('https://s3.example.net'), 'unsigned');
    assert.equal(payloadSigning('http://[::1]:7480'), 'unsigned');
    assert.equal(payloadSigning('http://10.0.0.5:7480'), 'signed');
    assert.equal(payloadSigning('http://rgw.internal'), 'signed');
  });

  it('pages through a listing longer than one page, and deletes over 1000 keys in batches', async (t) => {
    if (!needS3(t)) return;
    const many = uniquePrefix('many');
    const big = await openS3Store(many);
    try {
      const keys = Array.from({ length: 1010 }, (_, i) => keyOf(Buffer.from([i & 255, i >> 8]), 'many'));
      const blob = Buffer.from('tiny');
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => big.putIfAbsent(k, blob)));
      const listed = new Set<string>();
      for await (const o of big.list()) listed.add(o.key);
      assert.equal(listed.size, keys.length, 'all 1010 listed (RGW pages by 1000)');
      await big.deleteMany(keys);
      for await (const o of big.list()) assert.fail(`${o.key} survived deleteMany`);
    } finally {
      big.close();
      await emptyPrefix(many);
    }
  });

  it('refuses at open a bucket that does not exist, or credentials the store does not know, saying which and what to do', async (t) => {
    if (!needS3(t)) return;
    await assert.rejects(S3ChunkStore.open(s3Settings('x/', { bucket: 'cairn-no-such-bucket' })), /bucket "cairn-no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+: create it/);
    const keys = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'nobody-knows-me';
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-key';
    try {
      await assert.rejects(S3ChunkStore.open(s3Settings('x/')), (err: Error) => {
        assert.match(err.message, /refused these credentials for bucket "cairn-test".*AWS_ACCESS_KEY_ID/);
        assert.doesNotMatch(err.message, /wrong-secret-key/, 'the secret is never shown');
        return true;
      });
    } finally {
      Object.assign(process.env, keys);
    }
    await assert.rejects(S3ChunkStore.open(s3Settings('x/', { endpoint: 'http://127.0.0.1:9' })), /checking the bucket in the S3 chunk store \(bucket "cairn-test" \(prefix "x\/"\) at http:\/\/127\.0\.0\.1:9\).*check that the store is up/);
  });

  it('a bucket removed behind the server: each request fails naming the chunk, the bucket and the endpoint', async (t) => {
    if (!needS3(t)) return;
    const bucket = `cairn-gone-${Date.now()}`;
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
    const gone = await S3ChunkStore.open(s3Settings('', { bucket }));
    try {
      await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
      const data = seededRandom('gone').bytes(100);
      const key = keyOf(data, 'gone');
      const named = (doing: string, what: string) => new RegExp(`Failed ${doing} ${what} in the S3 chunk store \\(bucket "${bucket}" at ${S3_ENDPOINT}\\): NoSuchBucket HTTP 404.*create it again`);
      await assert.rejects(gone.putIfAbsent(key, data), named('storing', `chunk ${key}`));
      await assert.rejects(gone.get(key), named('reading', `chunk ${key}`));
      await assert.rejects(gone.deleteMany([key]), named('deleting', `chunk ${key}`));
      await assert.rejects((async () => { for await (const _ of gone.list()) break; })(), named('listing', 'the bucket'));
    } finally {
      gone.close();
    }
  });
});
