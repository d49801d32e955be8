import assert from 'node:assert/strict';
import { copyFile, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { blake3Hex } from '../../src/format/chunk-hash.js';
import {
  assertRestoresBitExact,
  CHUNK,
  chunkFile,
  damageChunk,
  cliUser,
  digestsOf,
  fetchManifest,
  isZeroRange,
  MiB,
  overwriteFileData,
  randomFiles,
  storedChunks,
  until,
  type CliProcess,
  type CliUser,
} from '../helpers/cli.js';
import { filesEqual, makeExt4Image, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, PASSWORD, randomEmail, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// Garbage collection with a 1 s grace period, run by an administrator while
// other accounts back up, delete and purge; then the store is checked chunk by chunk.

const GRACE_MS = 1_000;

let dir: string;
let server: TestServer;
let admin: CliUser;
let a: CliUser;
let b: CliUser;

/** Every point the tests expect to be restorable, with a copy of its disk as it was. */
const sources = new Map<string, { user: CliUser; snapshot: string; chain: string }>();

/** Shared content: account A and account B each back up the same image. */
let shared: { image: string; pointA: string; pointB: string; volA: string; volB: string };
/** Account A's chain of three points of image X. */
let xChain: { vol: string; points: string[] };
/** A point one of whose chunks the last tests damage on purpose. */
let damagedPoint = '';

before(async () => {
  dir = await makeTempDir('cairn-e2e-gc-');
  const adminEmail = randomEmail('admin');
  server = await startServer({ adminEmail, adminPassword: PASSWORD, args: ['--gc-grace-seconds', String(GRACE_MS / 1000)] });
  [admin, a, b] = await Promise.all([
    cliUser(server.url, dir, 'admin', { email: adminEmail, register: false }),
    cliUser(server.url, dir, 'a'),
    cliUser(server.url, dir, 'b'),
  ]);
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

async function volume(user: CliUser, name: string): Promise<string> {
  return (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', name, '--disk', 'root:64M'])).resource.id;
}

async function backup(user: CliUser, vol: string, image: string): Promise<Json> {
  const point = (await user.cli.ok(['backup', vol, '--disk', image])).point;
  const snapshot = join(dir, `${point.id}.img`);
  await copyFile(image, snapshot);
  sources.set(point.id, { user, snapshot, chain: point.chain_id });
  return point;
}

const chunkCount = async () => (await storedChunks(server.dataDir)).size;
const gc = async (): Promise<Json> => (await admin.cli.ok(['gc'])).report;
/** Past the grace period, so that what became garbage before now is collectable. */
const pastGrace = () => sleep(GRACE_MS + 200);

async function deleteAndPurge(user: CliUser, point: string): Promise<void> {
  const r = await user.cli.ok(['point', 'delete', point, '--yes']);
  // A full point is purged as its chain.
  await user.cli.ok(['recycle', 'purge', r.deleted.id, '--yes']);
  sources.delete(point);
  if (r.deleted.deleted === 'chain') for (const [id, s] of sources) if (s.chain === r.deleted.id) sources.delete(id);
}

/** The chunk digests named by every point that is still available or in a recycle bin, over both accounts. */
async function liveDigests(): Promise<Set<string>> {
  const live = new Set<string>();
  for (const user of [a, b]) {
    for (const status of ['available', 'deleted']) {
      const chains = expectStatus(await user.api().get('/chains', { status, limit: 100 }), 200).items;
      for (const c of chains) {
        const chain = expectStatus(await user.api().get(`/chains/${c.id}`), 200).chain;
        for (const p of chain.points) {
          assert.equal(p.status, 'available', `point ${p.id} is ${p.status}: these tests leave nothing in the recycle bin`);
          for (const d of p.disks) for (const digest of digestsOf(await fetchManifest(user, p.id, d.name))) live.add(digest);
        }
      }
    }
  }
  return live;
}

test('dedup across accounts stores a chunk once, but "missing" answers only for the asking account\'s own chunks', async () => {
  shared = { image: await makeExt4Image(dir, { sizeMiB: 64, files: randomFiles(21, 8, 2 * MiB), seed: 21, name: 'shared.img' }), pointA: '', pointB: '', volA: '', volB: '' };
  [shared.volA, shared.volB] = await Promise.all([volume(a, 'golden'), volume(b, 'golden copy')]);
  const before = await chunkCount();
  shared.pointA = (await backup(a, shared.volA, shared.image)).id;
  const afterA = await chunkCount();
  assert.ok(afterA > before);
  shared.pointB = (await backup(b, shared.volB, shared.image)).id;
  assert.equal(await chunkCount(), afterA, 'the same content from another account is stored once');

  const xImage = await makeExt4Image(dir, { sizeMiB: 64, files: randomFiles(22, 16, 2 * MiB), seed: 22, name: 'x.img' });
  xChain = { vol: await volume(a, 'x'), points: [] };
  xChain.points.push((await backup(a, xChain.vol, xImage)).id);
  const xDigests = [...digestsOf(await fetchManifest(a, xChain.points[0]!, 'root'))];
  const sharedDigests = [...digestsOf(await fetchManifest(b, shared.pointB, 'root'))];
  assert.ok(xDigests.length >= 4);

  // Raw protocol: open an upload as each account and ask about the same digests.
  const ask = async (user: CliUser, vol: string, digests: string[]): Promise<string[]> => {
    const upload = expectStatus(await user.api().post('/uploads', { resource_id: vol, type: 'incremental', disks: [{ name: 'root', size: 64 * MiB }] }), 201, 'open an upload').upload;
    try {
      return expectStatus(await user.api().post(`/uploads/${upload.id}/missing`, { digests }), 200, 'missing').missing;
    } finally {
      expectStatus(await user.api().delete(`/uploads/${upload.id}`), 204, 'cancel the upload');
    }
  };
  assert.deepEqual((await ask(b, shared.volB, xDigests)).sort(), [...xDigests].sort(), 'B must upload A\'s chunks itself: the store does not tell B what A holds');
  assert.deepEqual(await ask(a, xChain.vol, xDigests), [], 'A holds its own chunks');
  assert.deepEqual(await ask(b, shared.volB, sharedDigests), [], 'B holds the chunks it uploaded, though A stored them first');
  // Nor does a digest open another account's chunk through a point of one's own.
  const peek = await b.api().get(`/points/${shared.pointB}/chunks/${xDigests[0]}`);
  assert.equal(peek.status, 404, peek.text);
});

test(
  'storing a chunk another account already stored looks, to the uploader, like storing a new one',
  async () => {
    const x0 = xChain.points[0]!;
    const manifest = await fetchManifest(a, x0, 'root');
    const index = manifest.chunks.findIndex((d) => d !== null);
    const digest = manifest.chunks[index]!;
    const fh = await open(sources.get(x0)!.snapshot, 'r');
    const data = Buffer.alloc(Math.min(CHUNK, manifest.size - index * CHUNK));
    try {
      await fh.read(data, 0, data.length, index * CHUNK);
    } finally {
      await fh.close();
    }
    assert.equal(blake3Hex(data), digest);
    // A raw blob (docs/formats.md): "CRN", codec 0, the length, the bytes.
    const header = Buffer.alloc(8);
    header.write('CRN', 0, 'latin1');
    header.writeUInt8(0, 3);
    header.writeUInt32BE(data.length, 4);
    const upload = expectStatus(await b.api().post('/uploads', { resource_id: shared.volB, type: 'incremental', disks: [{ name: 'root', size: 64 * MiB }] }), 201).upload;
    try {
      const put = await b.api().request('PUT', `/uploads/${upload.id}/chunks/${digest}`, undefined, {
        raw: Buffer.concat([header, data]),
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.deepEqual([put.status, put.body], [201, { stored: true }], 'B\'s first upload of this chunk must not reveal that A stored it before');
    } finally {
      expectStatus(await b.api().delete(`/uploads/${upload.id}`), 204);
    }
  },
);

test('purging a point and collecting frees exactly the chunks no other point needs', async () => {
  const image = join(dir, 'x.img');
  await overwriteFileData(image, '/data/file-002.bin', { bytes: 64 * 1024, seed: 'x1' });
  xChain.points.push((await backup(a, xChain.vol, image)).id);
  await overwriteFileData(image, '/data/file-005.bin', { bytes: 64 * 1024, seed: 'x2' });
  xChain.points.push((await backup(a, xChain.vol, image)).id);
  const [, x1, x2] = xChain.points as [string, string, string];

  const others = new Set<string>();
  for (const [id, { user }] of sources) if (id !== x2) for (const d of digestsOf(await fetchManifest(user, id, 'root'))) others.add(d);
  const onlyX2 = [...digestsOf(await fetchManifest(a, x2, 'root'))].filter((d) => !others.has(d));
  assert.ok(onlyX2.length >= 1, 'the last point has chunks of its own');

  const nonAdmin = await a.cli.fails(['gc'], 3);
  assert.match(nonAdmin.stderr, /administrator/);

  // In the recycle bin its chunks are still needed: GC keeps them.
  await a.cli.ok(['point', 'delete', x2, '--yes']);
  const count0 = await chunkCount();
  await pastGrace();
  const kept = await gc();
  assert.equal(kept.chunks_removed, 0, 'nothing is collected while the deleted point can still be restored');
  assert.equal(await chunkCount(), count0);

  await a.cli.ok(['recycle', 'purge', x2, '--yes']);
  sources.delete(x2);
  const report = await gc();
  assert.equal(report.chunks_removed, onlyX2.length, `GC removed ${report.chunks_removed} chunks; ${onlyX2.length} were needed by nothing else`);
  assert.ok(report.bytes_removed > 0);
  assert.ok(report.manifests_removed >= 1);
  assert.equal(await chunkCount(), count0 - onlyX2.length, 'the chunk store shrank by the purged point\'s own chunks');
  for (const d of onlyX2) await assert.rejects(stat(chunkFile(server.dataDir, d)), `chunk ${d} is gone from disk`);

  const x1Restore = join(dir, 'x1-restore.img');
  await a.cli.ok(['restore', x1, '--to', x1Restore]);
  assert.ok(await filesEqual(x1Restore, sources.get(x1)!.snapshot), 'the purged point\'s parent still restores');
});

test('GC and purges while other backups run: every remaining point restores, verify finds nothing damaged, the store holds exactly the live chunks', async () => {
  const [, x1] = xChain.points as [string, string];
  // The disk of the soon-purged point x1, backed up again by B (who never held it) and by A into another volume.
  const x1Copy = join(dir, 'x1-copy.img');
  await copyFile(sources.get(x1)!.snapshot, x1Copy);
  const yImage = await makeExt4Image(dir, { sizeMiB: 64, files: randomFiles(23, 16, 2 * MiB), seed: 23, name: 'y.img' });
  const [volBX, volAX, volAY] = await Promise.all([volume(b, 'x from b'), volume(a, 'x again'), volume(a, 'y')]);
  await pastGrace();

  // A's whole X chain becomes garbage just before the backups start, one of which needs all of its last point's chunks again.
  await deleteAndPurge(a, xChain.points[0]!);
  const jobs: { user: CliUser; image: string; proc: CliProcess }[] = [
    { user: b, image: x1Copy, proc: b.cli.spawn(['backup', volBX, '--disk', x1Copy]) },
    { user: a, image: x1Copy, proc: a.cli.spawn(['backup', volAX, '--disk', x1Copy]) },
    { user: a, image: yImage, proc: a.cli.spawn(['backup', volAY, '--disk', yImage]) },
  ];
  let running = true;
  const finished = Promise.all(jobs.map((j) => j.proc.exited)).finally(() => (running = false));
  const reports: Json[] = [];
  let cliRuns = 0;
  let purgedDuringBackups = false;
  try {
    // `cairn gc` as the administrator runs it, again and again...
    const byCli = (async () => {
      do {
        reports.push(await gc());
        cliRuns++;
      } while (running);
    })();
    // ...and back to back over HTTP, to fall between any two requests of the backups...
    const adminApi = admin.api();
    const byApi = (async () => {
      while (running) {
        reports.push(expectStatus(await adminApi.post('/admin/gc'), 200, 'gc').report);
        await sleep(20);
      }
    })();
    // ...while A's copy of the shared image is deleted and purged (B's copy stays and keeps the chunks).
    const working = async () => {
      let n = 0;
      for (const user of [a, b]) n += expectStatus(await user.api().get('/jobs', { status: 'working' }), 200).total_count;
      return n;
    };
    await until('a backup to be under way', async () => !running || (await working()) > 0, 30_000, 20);
    purgedDuringBackups = running;
    expectStatus(await a.api().delete(`/points/${shared.pointA}`), 200, 'delete A\'s shared point');
    expectStatus(await a.api().delete(`/recycle-bin/${shared.pointA}`), 204, 'purge A\'s shared chain');
    sources.delete(shared.pointA);
    await Promise.all([byCli, byApi]);
  } finally {
    await finished;
  }
  for (const j of jobs) {
    const exit = await j.proc.exited;
    assert.equal(exit.code, 0, `a backup running during GC failed:\n${exit.stderr}`);
    const point = JSON.parse(exit.stdout).point;
    const snapshot = join(dir, `${point.id}.img`);
    await copyFile(j.image, snapshot);
    sources.set(point.id, { user: j.user, snapshot, chain: point.chain_id });
  }
  assert.ok(cliRuns >= 1 && reports.length >= 3, `GC ran ${reports.length} times during the backups`);
  assert.ok(purgedDuringBackups, 'the purge came while the backups were still running');

  await pastGrace();
  const last = await gc();
  assert.ok(reports.reduce((n, r) => n + r.chunks_removed, last.chunks_removed) > 0, 'the purged chain\'s own chunks were collected');
  const live = await liveDigests();
  const stored = await storedChunks(server.dataDir);
  const lost = [...live].filter((d) => !stored.has(d));
  const leaked = [...stored].filter((d) => !live.has(d));
  assert.deepEqual(lost, [], 'chunks that live points need are missing from the store');
  assert.deepEqual(leaked, [], 'GC left chunks that nothing needs');

  assert.deepEqual(new Set(sources.keys()).has(shared.pointB), true);
  await assertRestoresBitExact(sources, dir);

  const verify = await admin.cli.run(['verify']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal(verify.json.report.damaged.length, 0);
  assert.equal(verify.json.report.chunks_checked, stored.size);
});

test('a damaged chunk: verify names it and its point (exit 6), and a restore of that point fails naming both', async () => {
  const image = await makeExt4Image(dir, { sizeMiB: 32, files: randomFiles(24, 6, 2 * MiB), seed: 24, name: 'c.img' });
  const vol = (await a.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'c', '--disk', 'root:32M'])).resource.id;
  const point = (await backup(a, vol, image)).id;
  damagedPoint = point;
  const manifest = await fetchManifest(a, point, 'root');
  const others = new Set<string>();
  for (const [id, { user }] of sources) if (id !== point) for (const d of digestsOf(await fetchManifest(user, id, 'root'))) others.add(d);
  // A chunk of file data that no other point shares, so the damage is this point's alone.
  const index = manifest.chunks.findIndex((d, i) => i > 0 && d !== null && !others.has(d));
  assert.ok(index > 0);
  const digest = manifest.chunks[index]!;

  await damageChunk(server.dataDir, digest);

  const all = await admin.cli.run(['verify']);
  assert.equal(all.code, 6, `verify of a damaged store must exit 6:\n${all.stderr}${all.stdout}`);
  assert.deepEqual(
    all.json.report.damaged.map((d: Json) => [d.digest, d.points]),
    [[digest, [point]]],
  );
  assert.ok(all.json.report.damaged[0].problem.length > 0);
  const human = await admin.cli.run(['verify'], { json: false });
  assert.equal(human.code, 6);
  assert.match(human.stdout, /1 damaged/);
  assert.match(human.stdout, new RegExp(`${digest}: .*\\(points: ${point}\\)`));

  const mine = await a.cli.run(['verify', '--point', point]);
  assert.equal(mine.code, 6);
  assert.deepEqual(
    mine.json.report.damaged.map((d: Json) => d.digest),
    [digest],
  );
  const other = await b.cli.run(['verify', '--point', shared.pointB]);
  assert.equal(other.code, 0, 'another account\'s point does not share the damage');

  const target = join(dir, 'damaged-restore.img');
  const restore = await a.cli.run(['restore', point, '--to', target]);
  assert.notEqual(restore.code, 0, 'a restore through a damaged chunk must fail');
  assert.match(restore.stderr, new RegExp(point));
  assert.match(restore.stderr, new RegExp(digest));
  assert.equal(restore.stdout, '', 'no success answer is printed');
  // Whatever was written, the damaged chunk's range never received wrong data.
  const written = await stat(target).then(() => true, () => false);
  if (written) assert.ok(await isZeroRange(target, index * CHUNK, CHUNK), 'the damaged chunk\'s bytes were written to the target');
});

test(
  'a restore into a new file that fails leaves no file behind to be mistaken for the disk',
  async () => {
    assert.ok(damagedPoint, 'runs after the damaged-chunk test');
    const target = join(dir, 'damaged-restore-2.img');
    const r = await a.cli.run(['restore', damagedPoint, '--to', target]);
    assert.notEqual(r.code, 0);
    assert.equal(await stat(target).then(() => true, () => false), false, `${target} was left behind by the failed restore`);
  },
);
