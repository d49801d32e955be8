import { createHash, randomBytes } from 'node:crypto';
import { S3ChunkStore, type S3Settings } from '../src/store/s3-store.js';
import { loadConfig } from '../src/config.js';
import { readdirSync } from 'node:fs';
import { procStat } from './measure.js';

/**
 * `--store s3`: Cairn's chunks in an S3 bucket (Ceph RGW from scripts/ceph-rgw.sh),
 * and the store's own PUT and GET throughput, measured with the same client
 * (S3ChunkStore: same SDK, agent and retries), for comparison.
 */
export interface BenchS3 {
  settings: S3Settings;
  /** `cairn serve` flags that put a server's chunks under `prefix` of the bucket. */
  serveArgs(prefix: string): string[];
}

/** The bucket and endpoint from CAIRN_CHUNK_STORE / CAIRN_S3_ENDPOINT, as `eval "$(scripts/ceph-rgw.sh start)"` sets them. */
export function benchS3FromEnv(): BenchS3 {
  const { s3 } = loadConfig({}, process.env);
  if (!s3)
    throw new Error('--store s3 needs CAIRN_CHUNK_STORE=s3://BUCKET (and CAIRN_S3_ENDPOINT, AWS_*): run `eval "$(scripts/ceph-rgw.sh start)"` first, with CAIRN_CEPH_MEMSTORE_MB above twice the disk\'s data (memstore writes hang when full).');
  return {
    settings: s3,
    serveArgs: (prefix) => ['--chunk-store', `s3://${s3.bucket}/${s3.prefix}${prefix}`, ...(s3.endpoint ? ['--s3-endpoint', s3.endpoint] : []), ...(s3.pathStyle ? ['--s3-path-style'] : [])],
  };
}

/** Objects and bytes under a prefix (what Cairn stored), and a way to delete them all. */
export async function prefixContents(s3: BenchS3, prefix: string): Promise<{ objects: number; bytes: number }> {
  const store = await S3ChunkStore.open({ ...s3.settings, prefix: `${s3.settings.prefix}${prefix}` });
  try {
    let objects = 0;
    let bytes = 0;
    for await (const o of store.list()) {
      objects++;
      bytes += o.size;
    }
    return { objects, bytes };
  } finally {
    store.close();
  }
}

export async function emptyPrefix(s3: BenchS3, prefix: string): Promise<void> {
  const store = await S3ChunkStore.open({ ...s3.settings, prefix: `${s3.settings.prefix}${prefix}` });
  try {
    const keys: string[] = [];
    for await (const o of store.list()) keys.push(o.key);
    await store.deleteMany(keys);
  } finally {
    store.close();
  }
}

async function inParallel(count: number, concurrency: number, job: (i: number, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async (_, worker) => {
      while (next < count) await job(next++, worker);
    }),
  );
}

/** One phase of raw requests: MB/s (10^6 bytes), and the CPU seconds of the client (this process) and of the store's daemons meanwhile. */
export interface RawPhase {
  rate: number;
  wall: number;
  clientCpu: number;
  storeCpu: number;
}

/** The daemons of scripts/ceph-rgw.sh, whose CPU a step on the store costs beside Cairn's own. */
const STORE_DAEMONS = new Set(['radosgw', 'ceph-osd', 'ceph-mon']);

/** CPU seconds (user + system) the store's daemons on this machine have used so far; 0 for a store elsewhere. */
export function storeDaemonsCpu(): number {
  let seconds = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const { name, user, sys } = procStat(`/proc/${pid}/stat`);
      if (STORE_DAEMONS.has(name)) seconds += user + sys;
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return seconds;
}

/** PUTs, then GETs, of `objects` objects of `size` bytes, `concurrency` at a time. */
export async function rawThroughput(s3: BenchS3, objects: number, size: number, concurrency: number): Promise<{ put: RawPhase; get: RawPhase }> {
  const prefix = `bench-raw-${randomBytes(4).toString('hex')}/`;
  const store = await S3ChunkStore.open({ ...s3.settings, prefix: `${s3.settings.prefix}${prefix}` });
  const keys = Array.from({ length: objects }, (_, i) => createHash('sha256').update(`${prefix}${i}`).digest('hex'));
  // Incompressible, like Cairn's compressed chunks; one buffer serves every PUT (the store does not deduplicate).
  const blob = randomBytes(size);
  const slots = Array.from({ length: concurrency }, () => Buffer.allocUnsafe(size));
  const phase = async (job: (i: number, worker: number) => Promise<void>): Promise<RawPhase> => {
    const store0 = storeDaemonsCpu();
    const client0 = process.cpuUsage();
    const t = performance.now();
    await inParallel(objects, concurrency, job);
    const wall = (performance.now() - t) / 1000;
    const client = process.cpuUsage(client0);
    return { rate: (objects * size) / 1e6 / wall, wall, clientCpu: (client.user + client.system) / 1e6, storeCpu: storeDaemonsCpu() - store0 };
  };
  try {
    const put = await phase(async (i) => {
      await store.putIfAbsent(keys[i]!, blob);
    });
    const get = await phase(async (i, worker) => {
      const got = await store.get(keys[i]!, slots[worker]);
      if (got?.length !== size) throw new Error(`raw GET of ${keys[i]} returned ${got?.length} bytes, not ${size}`);
    });
    return { put, get };
  } finally {
    await store.deleteMany(keys);
    store.close();
  }
}
