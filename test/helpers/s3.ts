import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ChunkStore, type S3Settings } from '../../src/store/s3-store.js';
import { CI } from './ci.js';
import { freePort } from './ports.js';

/**
 * The Ceph RGW that scripts/test.mjs starts for a run (scripts/ceph-rgw.sh), as
 * it passes it on: CAIRN_TEST_S3_ENDPOINT and CAIRN_TEST_S3_BUCKET, credentials in AWS_*.
 * A test file that imports this helper makes the test command start RGW.
 */
export const S3_ENDPOINT = process.env.CAIRN_TEST_S3_ENDPOINT || null;
export const S3_BUCKET = process.env.CAIRN_TEST_S3_BUCKET || 'cairn-test';

/** Which chunk store the servers of this run use: `npm test -- --store s3` puts every server's chunks in RGW. */
export const TEST_STORE: 'folder' | 's3' = process.env.CAIRN_TEST_STORE === 's3' ? 's3' : 'folder';

/** Skips the test when no RGW runs (a failure under CI=true, as for PostgreSQL). */
export function needS3(t: TestContext): boolean {
  if (S3_ENDPOINT) return true;
  if (CI) throw new Error('No S3 store for this run (CAIRN_TEST_S3_ENDPOINT unset): scripts/test.mjs starts Ceph RGW with scripts/ceph-rgw.sh; see its output.');
  t.skip('no Ceph RGW (run through `npm test`, which starts scripts/ceph-rgw.sh)');
  return false;
}

export function s3Settings(prefix: string, overrides: Partial<S3Settings> = {}): S3Settings {
  if (!S3_ENDPOINT) throw new Error('No S3 store for this run (CAIRN_TEST_S3_ENDPOINT unset).');
  return { bucket: S3_BUCKET, prefix, endpoint: S3_ENDPOINT, pathStyle: true, region: process.env.AWS_REGION || 'us-east-1', ...overrides };
}

/** A prefix no other test uses, so tests share the bucket without seeing each other's objects. */
export const uniquePrefix = (tag: string) => `t-${tag}-${randomBytes(4).toString('hex')}/`;

/** The prefix a server started on `dataDir` keeps its chunks under when the run's store is S3. */
export const serverPrefix = (dataDir: string) => `srv-${basename(dataDir)}/`;

/** `cairn serve` settings that put the chunks of a server on `dataDir` in the run's bucket. */
export function serverStoreEnv(dataDir: string, endpoint = S3_ENDPOINT): NodeJS.ProcessEnv {
  return { CAIRN_CHUNK_STORE: `s3://${S3_BUCKET}/${serverPrefix(dataDir)}`, CAIRN_S3_ENDPOINT: endpoint ?? '', CAIRN_S3_PATH_STYLE: 'true' };
}

export function openS3Store(prefix: string): Promise<S3ChunkStore> {
  return S3ChunkStore.open(s3Settings(prefix));
}

function rawClient(): S3Client {
  return new S3Client({ endpoint: S3_ENDPOINT!, region: process.env.AWS_REGION || 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

/** Deletes everything under the prefix: memstore keeps objects in RAM, and its writes hang once it is full. */
export async function emptyPrefix(prefix: string): Promise<void> {
  if (!S3_ENDPOINT) return;
  const s3 = rawClient();
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: S3_BUCKET, Delete: { Objects: keys, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    s3.destroy();
  }
}

/** Every object under the prefix of a server on `dataDir`, by its key below that prefix, with its size and time. */
export async function serverObjects(dataDir: string): Promise<Map<string, string>> {
  const prefix = serverPrefix(dataDir);
  const s3 = rawClient();
  const out = new Map<string, string>();
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.set(o.Key!.slice(prefix.length), `${o.Size} bytes, modified ${o.LastModified?.getTime()}, etag ${o.ETag}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    s3.destroy();
  }
  return out;
}

/** Rewrites a chunk's object in the bucket of a server on `dataDir` (damage done behind the server's back); null deletes it. */
export async function rewriteServerChunk(dataDir: string, digest: string, change: (blob: Buffer) => Buffer | null): Promise<void> {
  const Key = `${serverPrefix(dataDir)}${digest.slice(0, 2)}/${digest.slice(2, 4)}/${digest}`;
  const s3 = rawClient();
  try {
    const blob = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key }))).Body!.transformToByteArray());
    const changed = change(blob);
    if (changed) await s3.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key, Body: changed, ContentLength: changed.length }));
    else await s3.send(new DeleteObjectCommand({ Bucket: S3_BUCKET, Key }));
  } finally {
    s3.destroy();
  }
}

const CEPH_DIR = process.env.CAIRN_CEPH_DIR || '/tmp/cairn-ceph';

export interface SpareGateway {
  endpoint: string;
  /** An outage: kills this radosgw, waits `downMs`, starts it again, and resolves once it answers. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A second radosgw on the run's cluster, on a port of its own, serving the same
 * users and buckets: a test can take it down without failing the tests that
 * run beside it on the first one.
 */
export async function startSpareGateway(): Promise<SpareGateway> {
  const port = await freePort();
  const name = `client.rgw.spare${port}`;
  const endpoint = `http://127.0.0.1:${port}`;
  const pidFile = join(CEPH_DIR, 'run', `${name}.pid`);
  const start = async () => {
    // It forks into the background; the parent's exit says whether it started.
    const args = ['-n', name, '--rgw-frontends', `beast endpoint=127.0.0.1:${port} tcp_nodelay=1`, '--rgw-data', join(CEPH_DIR, `rgw-spare${port}`), '--rgw-zone', 'default', '--rgw-enable-apis', 's3'];
    const child = spawn('radosgw', args, { env: { ...process.env, CEPH_CONF: join(CEPH_DIR, 'ceph.conf') }, stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`radosgw ${name} did not start (exit ${code}); see ${CEPH_DIR}/log/${name}.log`);
    for (let i = 0; i < 600; i++) {
      if (await fetch(endpoint).then(() => true, () => false)) return;
      await sleep(100);
    }
    throw new Error(`radosgw ${name} did not answer at ${endpoint} within 60 s; see ${CEPH_DIR}/log/${name}.log`);
  };
  const kill = async () => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (!pid) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
        await sleep(25);
      } catch {
        return;
      }
    }
  };
  await start();
  return {
    endpoint,
    async restart(downMs) {
      await kill();
      await sleep(downMs);
      await start();
    },
    stop: kill,
  };
}
