import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CairnClient, type Resource } from '../src/cli/http-client.js';
import { backupResource } from '../src/cli/transfer.js';
import { CHUNK_SIZE } from '../src/format/chunk-codec.js';
import { createChunkPool } from '../src/compute/native-pool.js';
import { ByteStream } from './prng.js';

// Making an image must copy no data, so it should cost the same for a 64 MiB disk
// and for a 64 GiB one: this times POST /api/v1/images from a point of each, over
// HTTP against a real `cairn serve`, and compares (issue 4: ratio under 1.5, each
// call under 50 ms).

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const SMALL_SIZE = 64 * MiB;
const BIG_SIZE = 64 * GiB;
/** 4 GiB of data in the big disk: this many chunk-sized regions, evenly spread, holes between. */
const BIG_REGIONS = 1024;
const TARGET_RATIO = 1.5;
const TARGET_MS = 50;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CAIRN_BIN = join(ROOT, 'bin', 'cairn.js');

const USAGE = `usage: node dist/bench/make-image.js [--calls N] [--work DIR] [--keep]

  --calls N   timed POST /api/v1/images per disk (default 20); the median is reported
  --work DIR  where the server's data and the disks go (default: the temp dir; needs ~9 GiB free)
  --keep      keep the work folder (the 64 GiB sparse disk is removed regardless)
`;

const say = (s: string) => process.stderr.write(`${s}\n`);

function flags() {
  const { values } = parseArgs({ options: { calls: { type: 'string' }, work: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const calls = values.calls === undefined ? 20 : Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`--calls must be a whole number of 1 or more, not "${values.calls}"`);
  return { calls, work: values.work ?? tmpdir(), keep: Boolean(values.keep) };
}

/** Writes `regions` chunk-aligned 4 MiB regions of distinct incompressible data, spread evenly over a sparse file. */
async function makeDisk(path: string, size: number, regions: number, seed: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    const stride = Math.floor(size / regions / CHUNK_SIZE) * CHUNK_SIZE;
    // AES-CTR output: distinct in every chunk, so no two regions deduplicate, at GB/s.
    const bytes = new ByteStream(seed, 'make-image');
    for (let i = 0; i < regions; i++) {
      const block = bytes.next(CHUNK_SIZE);
      block.writeUInt32BE(i, 0);
      await fh.write(block, 0, block.length, i * stride);
    }
  } finally {
    await fh.close();
  }
}

async function startServer(dataDir: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const env: NodeJS.ProcessEnv = {};
  // The operator's own CAIRN_* settings must not change what is measured.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CAIRN_')) env[k] = v;
  const child = spawn(process.execPath, [CAIRN_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      const m = /^cairn listening on (http:\/\/\S+)$/m.exec(output);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
    void exited.then(() => reject(new Error(`cairn serve exited before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`cairn serve did not listen within 60 s:\n${output}`)), 60_000).unref();
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}

async function chunkFiles(dir: string): Promise<number> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])).filter((e) => e.isFile()).length;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function main(): Promise<void> {
  const opts = flags();
  const work = await mkdtemp(join(opts.work, 'cairn-bench-image-'));
  const dataDir = join(work, 'data');
  const smallDisk = join(work, 'small.img');
  const bigDisk = join(work, 'big-sparse.img');
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  const cleanup = async () => {
    await server?.stop();
    // 64 GiB apparent size: never left behind, even with --keep.
    await rm(bigDisk, { force: true });
    if (!opts.keep) await rm(work, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      void cleanup().finally(() => process.exit(130));
    });

  try {
    say(`work folder: ${work}`);
    say(`writing a 64 MiB disk and a 64 GiB sparse disk with ${BIG_REGIONS} × 4 MiB of data…`);
    await makeDisk(smallDisk, SMALL_SIZE, SMALL_SIZE / CHUNK_SIZE, 'small');
    await makeDisk(bigDisk, BIG_SIZE, BIG_REGIONS, 'big');

    server = await startServer(dataDir);
    const anonymous = new CairnClient({ server: server.url });
    const email = `bench-${process.pid}@example.test`;
    const password = 'make-image bench password';
    await anonymous.register(email, password);
    const { session } = await anonymous.login(email, password);
    const { token } = await anonymous.with({ session }).createToken('make-image bench');
    const client = anonymous.with({ token: token.token });

    const pool = createChunkPool();
    const points: Record<'small' | 'big', string> = { small: '', big: '' };
    try {
      for (const [key, path, size] of [
        ['small', smallDisk, SMALL_SIZE],
        ['big', bigDisk, BIG_SIZE],
      ] as const) {
        const { resource } = await client.post<{ resource: Resource }>('/api/v1/resources', { kind: 'volume', name: `bench-${key}`, disks: [{ name: 'root', size }] });
        const started = performance.now();
        let lastSaid = started;
        const point = await backupResource(client, {
          resource,
          paths: { root: path },
          type: 'full',
          pool,
          onProgress: (p) => {
            const now = performance.now();
            if (now - lastSaid > 10_000) {
              lastSaid = now;
              say(`  backing up ${key}: ${(p.bytesDone / GiB).toFixed(1)} of ${(p.bytesTotal / GiB).toFixed(1)} GiB read, ${(p.bytesSent / GiB).toFixed(2)} GiB sent`);
            }
          },
        });
        points[key] = point.id;
        say(`backed up the ${key} disk as ${point.id} in ${((performance.now() - started) / 1000).toFixed(1)} s (${(point.stored_bytes / MiB).toFixed(0)} MiB stored)`);
      }
    } finally {
      await pool.close();
    }

    const createImage = async (point: string, name: string): Promise<number> => {
      const t0 = performance.now();
      const res = await fetch(`${server!.url}/api/v1/images`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ point_id: point, name }),
      });
      const body = (await res.json()) as { image?: { size: number } };
      const elapsed = performance.now() - t0;
      if (res.status !== 201) throw new Error(`POST /api/v1/images from ${point} answered ${res.status}: ${JSON.stringify(body)}`);
      return elapsed;
    };

    const chunksBefore = await chunkFiles(join(dataDir, 'chunks'));
    // Warm-up (JIT, connection, statement caches), then the two sizes interleaved so drift hits both alike.
    for (let i = 0; i < 3; i++) await Promise.all([createImage(points.small, `warm-small-${i}`), createImage(points.big, `warm-big-${i}`)]);
    const times: Record<'small' | 'big', number[]> = { small: [], big: [] };
    for (let i = 0; i < opts.calls; i++) {
      times.small.push(await createImage(points.small, `small-${i}`));
      times.big.push(await createImage(points.big, `big-${i}`));
    }
    const chunksAfter = await chunkFiles(join(dataDir, 'chunks'));

    const small = median(times.small);
    const big = median(times.big);
    const ratio = big / small;
    const pass = ratio < TARGET_RATIO && small < TARGET_MS && big < TARGET_MS;
    const line = (what: string, xs: number[]) =>
      `${what} median ${ms(median(xs))} (min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))}) over ${xs.length} calls`;
    process.stdout.write(
      [
        line('make image, 64 MiB disk:                     ', times.small),
        line('make image, 64 GiB sparse disk, 4 GiB data:  ', times.big),
        `ratio 64 GiB / 64 MiB: ${ratio.toFixed(2)} (target under ${TARGET_RATIO}); each under ${TARGET_MS} ms: ${small < TARGET_MS && big < TARGET_MS ? 'yes' : 'no'} → ${pass ? 'PASS' : 'FAIL'}`,
        `chunk files written while making ${2 * (opts.calls + 3)} images: ${chunksAfter - chunksBefore}`,
        '',
      ].join('\n'),
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'make-image',
        calls: opts.calls,
        small: { disk_bytes: SMALL_SIZE, median_ms: +small.toFixed(3), min_ms: +Math.min(...times.small).toFixed(3), max_ms: +Math.max(...times.small).toFixed(3) },
        big: { disk_bytes: BIG_SIZE, data_bytes: BIG_REGIONS * CHUNK_SIZE, median_ms: +big.toFixed(3), min_ms: +Math.min(...times.big).toFixed(3), max_ms: +Math.max(...times.big).toFixed(3) },
        ratio: +ratio.toFixed(3),
        target: { ratio: TARGET_RATIO, each_ms: TARGET_MS },
        chunk_files_written: chunksAfter - chunksBefore,
        pass,
      })}\n`,
    );
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`make-image bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
