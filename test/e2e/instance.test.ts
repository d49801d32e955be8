import assert from 'node:assert/strict';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliUser, differingChunks, fetchManifest, MiB, overwriteFileData, randomFiles, writeFileIntoImage, type CliUser } from '../helpers/cli.js';
import { filesEqual, fsckReport, makeExt4Image, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// An instance: a system disk and a data disk, backed up together as one point.

let dir: string;
let server: TestServer;
let user: CliUser;

before(async () => {
  dir = await makeTempDir('cairn-e2e-instance-');
  server = await startServer();
  user = await cliUser(server.url, dir, 'ops');
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

async function restoreDisk(point: string, disk: string | null, expected: string, label: string): Promise<Json> {
  const target = join(dir, `${point}-${disk ?? 'default'}.img`);
  const r = (await user.cli.ok(['restore', point, '--to', target, ...(disk ? ['--disk', disk] : [])])).restored;
  assert.ok(await filesEqual(target, expected), `${label}: the restore of ${point} disk ${r.disk} differs from its source`);
  const fsck = await fsckReport(target);
  assert.ok(fsck.ok, `${label}: e2fsck -fn of the restored ${r.disk} disk failed:\n${fsck.output}`);
  return r;
}

/** The instance, its disks, its first point and copies of the disks at that time. */
let web: { inst: string; systemDisk: string; dataDisk: string; point: Json; snapRoot: string; snapData: string };

test('an instance with a system and a data disk backs up as one point with one snapshot time', async () => {
  const systemDisk = await makeExt4Image(dir, { sizeMiB: 64, seed: 11, dataMiB: 16, name: 'system.img' });
  const dataDisk = await makeExt4Image(dir, { sizeMiB: 32, files: randomFiles(12, 6, 2 * MiB), seed: 12, name: 'data.img' });

  const created = await user.cli.ok(['resource', 'create', '--kind', 'instance', '--name', 'web-1', '--disk', 'root:64M', '--disk', 'data:32M']);
  const inst = created.resource.id as string;
  assert.match(inst, /^i-[a-z0-9]{8}$/);
  assert.deepEqual(
    created.resource.disks.map((d: Json) => [d.name, d.size, d.role]),
    [
      ['root', 64 * MiB, 'system'],
      ['data', 32 * MiB, 'data'],
    ],
  );

  // Every disk must be named, and every disk given: a partial instance backup is refused before anything is sent.
  const [bare, partial, unknown] = await Promise.all([
    user.cli.fails(['backup', inst, '--disk', systemDisk], 2),
    user.cli.fails(['backup', inst, '--disk', `root=${systemDisk}`], 2),
    user.cli.fails(['backup', inst, '--disk', `root=${systemDisk}`, '--disk', `data=${dataDisk}`, '--disk', `logs=${dataDisk}`], 2),
  ]);
  assert.match(bare.stderr, /has 2 disks; name each/);
  assert.match(partial.stderr, /No path given for disk "data"/);
  assert.match(unknown.stderr, /no disk named logs/);
  assert.equal(expectStatus(await user.api().get('/chains', { resource_id: inst }), 200).total_count, 0);

  const point = (await user.cli.ok(['backup', inst, '--disk', `root=${systemDisk}`, '--disk', `data=${dataDisk}`, '--name', 'first'])).point;
  assert.equal(point.type, 'full');
  assert.equal(point.logical_size, 96 * MiB, 'one point covering both disks');
  const shown = (await user.cli.ok(['point', 'show', point.id])).point;
  assert.deepEqual(
    shown.disks.map((d: Json) => [d.name, d.size, d.role]),
    [
      ['root', 64 * MiB, 'system'],
      ['data', 32 * MiB, 'data'],
    ],
  );
  assert.equal(shown.snapshot_at, point.snapshot_at, 'the point has one snapshot time for all its disks');
  const chain = expectStatus(await user.api().get(`/chains/${point.chain_id}`), 200).chain;
  assert.equal(chain.point_count, 1);
  assert.equal(chain.resource_kind, 'instance');
  // One backup of the instance is one job, not one per disk.
  const jobs = expectStatus(await user.api().get('/jobs', { resource_id: inst }), 200);
  assert.equal(jobs.total_count, 1);
  assert.equal(jobs.items[0].status, 'successful');
  assert.equal(jobs.items[0].result.point_id, point.id);
  assert.equal(jobs.items[0].bytes_total, 96 * MiB);

  // Each disk has its own manifest, of its own size.
  const [rootManifest, dataManifest] = await Promise.all([fetchManifest(user, point.id, 'root'), fetchManifest(user, point.id, 'data')]);
  assert.equal(rootManifest.size, 64 * MiB);
  assert.equal(dataManifest.size, 32 * MiB);
  assert.equal(rootManifest.chunks.length, 16);
  assert.equal(dataManifest.chunks.length, 8);

  const snapRoot = join(dir, 'system-0.img');
  const snapData = join(dir, 'data-0.img');
  await Promise.all([copyFile(systemDisk, snapRoot), copyFile(dataDisk, snapData)]);
  web = { inst, systemDisk, dataDisk, point, snapRoot, snapData };
});

test('each disk of the instance point restores alone with --disk; the system disk by default', async () => {
  const { point, snapRoot, snapData } = web;
  const byDefault = await restoreDisk(point.id, null, snapRoot, 'no --disk');
  assert.equal(byDefault.disk, 'root', 'without --disk the system disk is restored');
  await restoreDisk(point.id, 'root', snapRoot, '--disk root');
  const data = await restoreDisk(point.id, 'data', snapData, '--disk data');
  assert.equal(data.size, 32 * MiB);
  const none = await user.cli.fails(['restore', point.id, '--to', join(dir, 'x.img'), '--disk', 'swap'], 2);
  assert.match(none.stderr, /has no disk "swap".*root, data/);
});

test('when only the data disk changes, the next point keeps the system disk\'s manifest and both points restore', async () => {
  const { inst, systemDisk, dataDisk, point, snapRoot, snapData } = web;

  // Only the data disk changes: the next point shares the system disk's manifest and stores only the change.
  await overwriteFileData(dataDisk, '/data/file-002.bin', { bytes: 64 * 1024, seed: 'inst' });
  await writeFile(join(dir, 'log.txt'), 'request served\n'.repeat(2000));
  await writeFileIntoImage(dataDisk, join(dir, 'log.txt'), 'log.txt');
  assert.equal(await differingChunks(systemDisk, snapRoot), 0);
  const next = (await user.cli.ok(['backup', inst, '--disk', `root=${systemDisk}`, '--disk', `data=${dataDisk}`])).point;
  assert.equal(next.type, 'incremental');
  assert.equal(next.parent_id, point.id);
  assert.ok(next.stored_bytes > 0 && next.stored_bytes <= (await differingChunks(dataDisk, snapData)) * (4 * MiB + 8), `stored ${next.stored_bytes} bytes`);
  const before = expectStatus(await user.api().get(`/points/${point.id}`), 200).point.disks;
  const after = expectStatus(await user.api().get(`/points/${next.id}`), 200).point.disks;
  assert.equal(after[0].manifest_digest, before[0].manifest_digest, 'the unchanged system disk has the same manifest');
  assert.notEqual(after[1].manifest_digest, before[1].manifest_digest);

  await restoreDisk(next.id, 'data', dataDisk, 'the changed data disk');
  await restoreDisk(next.id, 'root', snapRoot, 'the unchanged system disk');
  // The earlier point still restores the data disk as it was.
  await restoreDisk(point.id, 'data', snapData, 'the data disk of the first point');
});
