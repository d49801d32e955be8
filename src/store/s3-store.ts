import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { readInto } from '../io/read-into.js';
import { oneBufferAgent } from '../runtime/index.js';
import { StoreFullError, StoreUnavailableError, type ChunkStore } from './chunk-store.js';

/** Where the S3 chunk store is; credentials come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID…, a profile), never from here. */
export interface S3Settings {
  bucket: string;
  /** Prepended to every object key: '' or 'some/prefix/'. */
  prefix: string;
  /** e.g. http://127.0.0.1:7480; null means AWS's own endpoint for the region. */
  endpoint: string | null;
  /** Bucket in the path (`endpoint/bucket/key`) rather than the host name: Ceph RGW, MinIO and most private stores need it. */
  pathStyle: boolean;
  region: string;
}

const KEY_RE = /^[0-9a-f]{64}$/;
/** DeleteObjects takes at most this many keys a call (S3's limit). */
const DELETE_BATCH = 1000;
/**
 * Sockets kept open to the store: the server has up to 3 upload batches of 16
 * chunks and 3 read batches of 4 in flight, plus GC and verify beside them.
 */
const MAX_SOCKETS = 64;
const AGENT_OPTIONS = { keepAlive: true, maxSockets: MAX_SOCKETS };
/**
 * Tries per request, with the SDK's exponential backoff and jitter (0.1 s
 * doubling): five retries wait ~3 s in all on average, enough to ride out a
 * gateway restart. The SDK retries only 5xx, throttling, timeouts and
 * connection errors, never another 4xx.
 */
const MAX_ATTEMPTS = 6;

/**
 * Whether PUTs sign a SHA-256 of their body. A chunk's own digest is checked on
 * every read and by verify, and over TLS or loopback nothing on the way can
 * alter a body, so there hashing every stored byte again only costs the
 * server (0.9 s of its 2.7 s of CPU in a 628 MB full backup): 'unsigned'.
 * Over plain HTTP to another host the signature is what refuses a body
 * changed in transit, so it stays: 'signed'.
 */
export function payloadSigning(endpoint: string | null): 'signed' | 'unsigned' {
  if (endpoint === null) return 'unsigned'; // AWS's own endpoints are HTTPS
  const url = new URL(endpoint);
  if (url.protocol === 'https:') return 'unsigned';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host) ? 'unsigned' : 'signed';
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (err: unknown): number | undefined => (err as SdkError)?.$metadata?.httpStatusCode;

/**
 * Chunks as objects in an S3 bucket (AWS, Ceph RGW, MinIO…), under the same
 * two levels of fan-out as the folder (`PREFIX/ab/cd/abcd…`), which also
 * spreads keys over a store's index shards.
 *
 * The store must be consistent for single objects (a PUT, then a GET or a
 * conditional PUT, sees it; a DELETE, then a GET, does not), as AWS S3 and
 * single-site RGW are; only listings may lag (docs/gc.md says why that is safe).
 */
export class S3ChunkStore implements ChunkStore {
  private readonly where: string;

  private constructor(
    private readonly client: S3Client,
    private readonly settings: S3Settings,
  ) {
    this.where = `bucket "${settings.bucket}"${settings.prefix ? ` (prefix "${settings.prefix}")` : ''} at ${settings.endpoint ?? `AWS S3 (${settings.region})`}`;
  }

  /**
   * A store on the bucket, once a request has shown that the bucket exists
   * and takes these credentials: a server that starts only to fail its first
   * backup helps nobody.
   */
  static async open(settings: S3Settings): Promise<S3ChunkStore> {
    const probe = S3ChunkStore.client(settings, 2);
    try {
      await probe.send(new HeadBucketCommand({ Bucket: settings.bucket }));
    } catch (err) {
      const store = new S3ChunkStore(probe, settings);
      const status = statusOf(err);
      if (status === 404)
        throw new Error(`The S3 bucket "${settings.bucket}" does not exist at ${settings.endpoint ?? 'AWS S3'}: create it (e.g. \`aws s3 mb s3://${settings.bucket}\`) or correct --chunk-store (CAIRN_CHUNK_STORE).`, { cause: err });
      if (status === 403 || status === 401)
        throw new Error(`The S3 store at ${settings.endpoint ?? 'AWS S3'} refused these credentials for bucket "${settings.bucket}" (HTTP ${status}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and that this user may read and write the bucket.`, { cause: err });
      throw store.failure('checking', null, err);
    } finally {
      probe.destroy();
    }
    return new S3ChunkStore(S3ChunkStore.client(settings, MAX_ATTEMPTS, await oneBufferAgent(AGENT_OPTIONS)), settings);
  }

  private static client(settings: S3Settings, maxAttempts: number, httpAgent?: HttpAgent): S3Client {
    // The SDK warns on Node 20 that its releases after January 2027 need Node 22; the version is pinned (package.json) for that reason.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const client = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.pathStyle,
      maxAttempts,
      retryMode: 'standard',
      // One middleware chain per kind of command, not one built per request: what each
      // request left behind grew the server's old generation from 41 to 53 MB in an 8 GiB
      // backup on RGW, and stayed at 42 with this. The stack must not change after the first request.
      cacheMiddleware: true,
      // Ceph Pacific refuses the default streamed (aws-chunked) checksums with 411;
      // chunks carry their own digest, checked on every read.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: httpAgent ?? new HttpAgent(AGENT_OPTIONS),
        httpsAgent: new HttpsAgent(AGENT_OPTIONS),
        connectionTimeout: 5_000,
        // Idle time on a socket mid-request; a 4 MiB chunk moves in well under a second.
        requestTimeout: 30_000,
      },
    });
    if (payloadSigning(settings.endpoint) === 'unsigned') {
      // The signer takes a payload hash already in the headers as given (smithy's getPayloadHash); test/store/s3-store.test.ts checks it still does.
      client.middlewareStack.add(
        (next) => (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          return next(args);
        },
        { step: 'build', name: 'cairnUnsignedPayload' },
      );
    }
    return client;
  }

  private objectKey(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`Invalid chunk key "${key}".`);
    return `${this.settings.prefix}${key.slice(0, 2)}/${key.slice(2, 4)}/${key}`;
  }

  async putIfAbsent(key: string, blob: Buffer): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key, Body: blob, ContentLength: blob.length, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 412) return false;
      // AWS answers 409 when another conditional PUT of the key is in flight: whoever wins stores the same bytes.
      if (status === 409 && (await this.head(key))) return false;
      throw this.failure('storing', key, err);
    }
  }

  async replace(key: string, blob: Buffer): Promise<void> {
    try {
      // A PUT replaces an object atomically: readers get the old one or the new one.
      await this.client.send(new PutObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key), Body: blob, ContentLength: blob.length }));
    } catch (err) {
      throw this.failure('storing', key, err);
    }
  }

  /** A PUT (one request, never multipart here) stores the whole object or none: nothing is left to remove. */
  async removeTemporaries(): Promise<{ files: number; bytes: number }> {
    return { files: 0, bytes: 0 };
  }

  async get(key: string, slot?: Buffer): Promise<Buffer | null> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key }));
      const body = res.Body as Readable | undefined;
      if (!body) return Buffer.alloc(0);
      const length = res.ContentLength;
      // Read once, straight into the slot when the blob fits; short if the body ended early, which the reader's digest check catches.
      const into = length !== undefined && !(slot && length <= slot.length) ? Buffer.allocUnsafe(length) : (slot ?? Buffer.allocUnsafe(1 << 20));
      return await readInto(body as AsyncIterable<Uint8Array>, into, (target, filled, needed) => {
        if (length === undefined) return Buffer.concat([target.subarray(0, filled)], Math.max(needed, 2 * target.length));
        body.destroy();
        throw new Error(`the object is longer than its Content-Length (${length} bytes)`);
      });
    } catch (err) {
      // A 404 for the bucket itself must not read as an absent chunk.
      if (statusOf(err) === 404 && (err as SdkError)?.name !== 'NoSuchBucket') return null;
      throw this.failure('reading', key, err);
    }
  }

  async head(key: string): Promise<{ size: number; modifiedAt: Date } | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.objectKey(key) }));
      return { size: res.ContentLength ?? 0, modifiedAt: res.LastModified ?? new Date(0) };
    } catch (err) {
      // HEAD has no body to tell a missing bucket from a missing key; the PUT that follows says which.
      if (statusOf(err) === 404) return null;
      throw this.failure('checking', key, err);
    }
  }

  delete(key: string): Promise<void> {
    return this.deleteMany([key]);
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let res;
      try {
        res = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.settings.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.objectKey(k) })), Quiet: true },
          }),
        );
      } catch (err) {
        throw this.failure('deleting', batch.length === 1 ? batch[0]! : `${batch[0]} and ${batch.length - 1} more`, err);
      }
      // A missing key is not an error (S3 reports it deleted); anything else is.
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) {
        const first = failed[0]!;
        throw new Error(
          `The S3 chunk store (${this.where}) did not delete ${failed.length} chunk(s), the first ${first.Key?.split('/').pop()}: ${first.Code} ${first.Message ?? ''}. Check that the credentials may delete objects in the bucket (s3:DeleteObject).`,
        );
      }
    }
  }

  async *list(): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: this.settings.prefix || undefined, ContinuationToken: token }));
      } catch (err) {
        throw this.failure('listing', null, err);
      }
      for (const o of res.Contents ?? []) {
        const key = o.Key?.slice(this.settings.prefix.length) ?? '';
        // Only objects at a chunk's own place: anything else in the bucket is not ours to judge.
        const name = key.slice(6);
        if (!KEY_RE.test(name) || key !== `${name.slice(0, 2)}/${name.slice(2, 4)}/${name}`) continue;
        yield { key: name, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date() };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  /** An error that names the chunk, the bucket and the endpoint, and says what to do. */
  private failure(doing: string, key: string | null, err: unknown): Error {
    const e = err as SdkError;
    const status = statusOf(err);
    const what = `${doing} ${key ? `chunk ${key}` : 'the bucket'} in the S3 chunk store (${this.where})`;
    const detail = `${e?.name ?? 'Error'}${status ? ` HTTP ${status}` : ''}${e?.code && e.code !== e.name ? ` ${e.code}` : ''}: ${e?.message ?? String(err)}`;
    if (e?.name === 'QuotaExceeded' || e?.name === 'EntityTooLarge') return new StoreFullError(err);
    if (status === undefined || status >= 500 || status === 429)
      return new StoreUnavailableError(`Failed ${what}: ${detail}; check that the store is up and reachable at --s3-endpoint (requests were retried with backoff), then try again.`, err);
    let todo: string;
    if (status === 403 || status === 401) todo = 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that the user may read, write, list and delete objects in the bucket';
    else if (e?.name === 'NoSuchBucket') todo = 'the bucket is gone: create it again or correct --chunk-store';
    else todo = 'check the store and the settings, then try again';
    return new Error(`Failed ${what}: ${detail}; ${todo}.`, { cause: err });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.client.destroy();
  }
}
