import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeChunk } from '../src/format/chunk-codec.js';
import { MetaClient } from './meta-client.js';
import { MetaServer } from './meta-server.js';

const USAGE = `node dist/bench/dedup-timing.js [options]

Whether uploading a chunk tells an account that another account stored it (issue 30,
finding 1). Two accounts, each with an open upload on its own server-side volume; each round
makes two chunks of random data, then times three single-chunk PUTs over HTTP, in an order
that turns each round:
  fresh          account A sends chunk X, which nobody stored
  other's        account B sends chunk X, which A stored just before
  second fresh   account B sends chunk Y, which nobody stored
and prints each one's median (and quartiles) per chunk size, and whether the difference
between "other's" and "fresh" is within the noise: no larger than the difference between
the two fresh ones, or than half the fresh ones' interquartile range.

  --rounds N      rounds per chunk size (default 40)
  --sizes LIST    uncompressed chunk sizes in KiB (default 64,4096); random data, so the
                  blobs are as large
  --work DIR      where the server's database and chunk folder go (default: the temp dir;
                  put it on the disk to measure, not on tmpfs, where fsync costs nothing)
  --cairn DIR     measure the Cairn build in DIR (its bin/ and dist/src/) instead of this one's
`;

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const PASSWORD = 'dedup timing bench password';

const log = (line: string) => process.stderr.write(`${line}\n`);

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function summary(samples: number[]): { median: number; q1: number; q3: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75) };
}

async function account(base: string, tag: string): Promise<MetaClient> {
  const email = `${tag}-${randomBytes(4).toString('hex')}@dedup-bench.example`;
  const res = await fetch(`${base}/api/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
  if (res.status !== 201) throw new Error(`Registering ${email} failed: ${res.status} ${await res.text()}`);
  return MetaClient.signIn(base, email, PASSWORD);
}

/** An open upload of a fresh volume of the account's, whose chunks the rounds send. */
async function openUpload(client: MetaClient, sizeBytes: number): Promise<string> {
  const disk = { name: 'disk0', size: Math.max(sizeBytes, 1 << 20) };
  const { resource } = await client.call<{ resource: { id: string } }>('POST', '/api/v1/resources', { kind: 'volume', name: 'dedup timing', disks: [disk] });
  const { upload } = await client.call<{ upload: { id: string } }>('POST', '/api/v1/uploads', { resource_id: resource.id, type: 'full', disks: [disk] });
  return upload.id;
}

/** Milliseconds of one chunk PUT, from sending to the whole answer; checks the answer says "new to this account". */
async function timedPut(client: MetaClient, upload: string, chunk: { digest: string; blob: Buffer }): Promise<number> {
  const started = process.hrtime.bigint();
  const answer = await client.send('PUT', `/api/v1/uploads/${upload}/chunks/${chunk.digest}`, chunk.blob);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (answer.status !== 201) throw new Error(`PUT of chunk ${chunk.digest} answered ${answer.status} ${answer.text.slice(0, 300)}`);
  return ms;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '40' }, sizes: { type: 'string', default: '64,4096' }, work: { type: 'string' }, cairn: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const rounds = Number(values.rounds);
  const sizes = values.sizes!.split(',').map((s) => Number(s) * 1024);
  if (!Number.isInteger(rounds) || rounds < 3 || sizes.some((s) => !Number.isInteger(s) || s <= 0 || s > 4 << 20))
    throw new Error('--rounds must be an integer of at least 3, --sizes KiB counts up to 4096.');
  const work = await mkdtemp(join(values.work ?? tmpdir(), 'cairn-dedup-timing-'));
  const bin = join(values.cairn ? resolve(values.cairn) : ROOT, 'bin', 'cairn.js');
  const server = await MetaServer.start(bin, join(work, 'cairn.db'), join(work, 'data'));
  try {
    const [a, b] = await Promise.all([account(server.url, 'a'), account(server.url, 'b')]);
    log(`server ${server.url}, work folder ${work}, ${rounds} rounds per size`);
    const lines: string[] = [];
    for (const size of sizes) {
      const [uploadA, uploadB] = await Promise.all([openUpload(a, size), openUpload(b, size)]);
      // Warm up the connections, the routes and the fan-out folders' inodes.
      for (let i = 0; i < 3; i++) {
        await timedPut(a, uploadA, encodeChunk(randomBytes(size)));
        await timedPut(b, uploadB, encodeChunk(randomBytes(size)));
      }
      const times = { fresh: [] as number[], others: [] as number[], second: [] as number[] };
      for (let round = 0; round < rounds; round++) {
        const x = encodeChunk(randomBytes(size));
        const y = encodeChunk(randomBytes(size));
        // "other's" must follow "fresh" (it is X, once A stored it); where "second fresh" goes turns, so drift does not favour one.
        const steps: (() => Promise<void>)[] = [
          async () => void times.fresh.push(await timedPut(a, uploadA, x)),
          async () => void times.others.push(await timedPut(b, uploadB, x)),
        ];
        steps.splice(round % 3, 0, async () => void times.second.push(await timedPut(b, uploadB, y)));
        for (const step of steps) await step();
      }
      const fresh = summary(times.fresh);
      const others = summary(times.others);
      const second = summary(times.second);
      const noise = Math.max(Math.abs(second.median - fresh.median), (fresh.q3 - fresh.q1) / 2);
      const difference = others.median - fresh.median;
      const fmt = (s: { median: number; q1: number; q3: number }) => `${s.median.toFixed(2)} ms (${s.q1.toFixed(2)}–${s.q3.toFixed(2)})`;
      lines.push(
        `${size / 1024} KiB chunks, ${rounds} rounds: median (quartiles)`,
        `  fresh chunk                      ${fmt(fresh)}`,
        `  chunk stored by another account  ${fmt(others)}`,
        `  second fresh chunk               ${fmt(second)}`,
        `  other's − fresh: ${difference.toFixed(2)} ms; noise (larger of |second − fresh| and half the fresh IQR): ${noise.toFixed(2)} ms → ${Math.abs(difference) <= noise ? 'within noise' : 'OUTSIDE the noise: the time tells'}`,
      );
      for (const [client, upload] of [[a, uploadA], [b, uploadB]] as const) await client.call('DELETE', `/api/v1/uploads/${upload}`, undefined, [204]);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
