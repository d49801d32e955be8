import assert from 'node:assert/strict';
import { access, copyFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliUser, differingChunks, MiB, overwriteFileData, randomFiles, writeFileIntoImage, type CliProcess, type CliUser } from '../helpers/cli.js';
import { allocatedBytes, filesEqual, fsckReport, makeExt4Image, makeTempDir, removeTempDir, scribble } from '../helpers/disk-images.js';
import { expectStatus, unknownId, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// End to end: a real `cairn serve`, the real CLI in child processes, real ext4 images.

let dir: string;
let server: TestServer;
let alice: CliUser;
let bob: CliUser;

before(async () => {
  dir = await makeTempDir('cairn-e2e-backups-');
  server = await startServer();
  [alice, bob] = await Promise.all([cliUser(server.url, dir, 'alice'), cliUser(server.url, dir, 'bob')]);
});

after(async () => {
  try {
    await short.server?.stop();
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

let imageCount = 0;
const path = (name: string) => join(dir, name);

async function newVolume(user: CliUser, name: string, sizeMiB: number): Promise<string> {
  const r = await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', name, '--disk', `root:${sizeMiB}M`]);
  return r.resource.id;
}

async function backup(user: CliUser, resource: string, disk: string, ...extra: string[]): Promise<Json> {
  return (await user.cli.ok(['backup', resource, '--disk', disk, ...extra])).point;
}

/** Restores a point to a new file and checks it against the disk as it was when backed up. */
async function restoresTo(user: CliUser, point: string, expected: string, what: string): Promise<string> {
  const target = path(`restore-${++imageCount}.img`);
  const r = await user.cli.ok(['restore', point, '--to', target]);
  assert.equal(r.restored.point_id, point);
  assert.ok(await filesEqual(target, expected), `${what}: the restore of ${point} differs from the disk it was taken from`);
  return target;
}

async function snapshot(image: string, name: string): Promise<string> {
  const copy = path(name);
  await copyFile(image, copy);
  return copy;
}

// Read-backs go over HTTP: each CLI process costs about a second, and the CLI's own views are checked where they matter.
const chainOf = async (user: CliUser, id: string): Promise<Json> => expectStatus(await user.api().get(`/chains/${id}`), 200, `chain ${id}`).chain;
const pointOf = async (user: CliUser, id: string): Promise<Json> => expectStatus(await user.api().get(`/points/${id}`), 200, `point ${id}`).point;
const chainsOf = async (user: CliUser, resource: string, status = 'available'): Promise<Json> =>
  expectStatus(await user.api().get('/chains', { resource_id: resource, status }), 200, `chains of ${resource}`);
const recycleBin = async (user: CliUser): Promise<Json[]> => expectStatus(await user.api().get('/recycle-bin', { limit: 100 }), 200, 'recycle bin').items;
/** Alice's recycle-bin entries of one volume, as sorted [kind, id] pairs. */
const inBin = async (vol: string): Promise<string[][]> =>
  (await recycleBin(alice))
    .filter((e: Json) => e.resource_id === vol)
    .map((e: Json) => [e.kind, e.id])
    .sort();
const exists = (p: string) => access(p).then(() => true, () => false);

async function stopAgent(agent: CliProcess): Promise<void> {
  const force = setTimeout(() => agent.child.kill('SIGKILL'), 5_000);
  try {
    await agent.kill('SIGTERM');
  } finally {
    clearTimeout(force);
  }
}

/** The volume of the first tests: a full point and an incremental one, with copies of the disk at each. */
let main: { vol: string; full: Json; inc: Json; snap0: string; snap1: string };

test('full then incremental backup of an ext4 disk: the increment stores only what changed', async () => {
  // 50 MiB of incompressible files in a 64 MiB filesystem, so stored bytes follow the chunks that changed.
  const disk = await makeExt4Image(dir, { sizeMiB: 64, files: randomFiles(1, 25, 2 * MiB), seed: 1, name: 'main.img' });
  const vol = await newVolume(alice, 'main', 64);

  const full = await backup(alice, vol, disk, '--full', '--name', 'base');
  assert.equal(full.type, 'full');
  assert.equal(full.chain_id, full.id, 'a chain is named after its full point');
  assert.equal(full.parent_id, null);
  assert.equal(full.logical_size, 64 * MiB);
  assert.ok(full.stored_bytes > 48 * MiB, `the full point stored ${full.stored_bytes} bytes of 50 MiB incompressible data`);
  const snap0 = await snapshot(disk, 'main-0.img');

  // The disk is used: data rewritten in place inside a file, and a new file written through the filesystem.
  await overwriteFileData(disk, '/data/file-003.bin', { bytes: 64 * 1024, seed: 'main-a', skipBytes: MiB });
  const notes = path('notes.txt');
  await writeFile(notes, 'written between the two backups\n'.repeat(4000));
  await writeFileIntoImage(disk, notes, 'notes.txt');
  const changed = await fsckReport(disk);
  assert.ok(changed.ok, `the changed source image must itself be clean:\n${changed.output}`);
  const snap1 = await snapshot(disk, 'main-1.img');
  assert.ok(!(await filesEqual(snap0, snap1)));

  const inc = await backup(alice, vol, disk, '--name', 'after-notes');
  assert.equal(inc.type, 'incremental');
  assert.equal(inc.chain_id, full.id);
  assert.equal(inc.parent_id, full.id);
  assert.ok(inc.stored_bytes > 0, 'the changed chunks were stored');
  const changedChunks = await differingChunks(snap0, snap1);
  assert.ok(inc.stored_bytes <= changedChunks * (4 * MiB + 8), `${inc.stored_bytes} bytes stored for ${changedChunks} changed chunks`);
  assert.ok(
    inc.stored_bytes < 0.25 * full.stored_bytes,
    `the incremental point stored ${inc.stored_bytes} bytes, not far less than the full point's ${full.stored_bytes}`,
  );
  main = { vol, full, inc, snap0, snap1 };
});

test('both points restore byte for byte, and e2fsck finds the restored filesystems clean', async () => {
  const { full, inc, snap0, snap1 } = main;
  for (const [point, snap, what] of [
    [full.id, snap0, 'full'],
    [inc.id, snap1, 'incremental'],
  ] as const) {
    const restored = await restoresTo(alice, point, snap, what);
    const fsck = await fsckReport(restored);
    assert.ok(fsck.ok, `e2fsck -fn of the restored ${what} point failed (exit ${fsck.code}):\n${fsck.output}`);
  }
});

test('chain show and chain list present the chain: its points as a tree, the head marked', async () => {
  const { vol, full, inc } = main;
  const chain = await chainOf(alice, full.id);
  assert.equal(chain.head_point_id, inc.id);
  assert.equal(chain.point_count, 2);
  assert.equal(chain.total_size, full.stored_bytes + inc.stored_bytes);
  assert.deepEqual(
    chain.points.map((p: Json) => [p.id, p.type, p.parent_id, p.is_head, p.name]),
    [
      [full.id, 'full', null, false, 'base'],
      [inc.id, 'incremental', full.id, true, 'after-notes'],
    ],
  );
  // People read the tree: the increment under its parent, the head starred.
  const shown = await alice.cli.run(['chain', 'show', full.id], { json: false });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^Head:\\s+${inc.id}$`, 'm'));
  assert.match(shown.stdout, new RegExp(`^${full.id}\\s+full\\s+available\\s+base`, 'm'));
  assert.match(shown.stdout, new RegExp(`^  \\* ${inc.id}\\s+incremental\\s+available\\s+after-notes`, 'm'));
  const list = await alice.cli.ok(['chain', 'list', '--resource', vol]);
  assert.equal(list.total_count, 1);
  assert.deepEqual(
    list.items.map((c: Json) => [c.id, c.point_count, c.head_point_id]),
    [[full.id, 2, inc.id]],
  );
});

test('a mostly empty disk restores as a sparse file', async () => {
  const disk = await makeExt4Image(dir, { sizeMiB: 64, files: { 'hello.txt': 'hello\n', 'small.bin': randomFiles(2, 1, 512 * 1024)['data/file-000.bin']! }, seed: 2 });
  const vol = await newVolume(alice, 'sparse', 64);
  const point = await backup(alice, vol, disk);
  const target = path('sparse-restore.img');
  const r = (await alice.cli.ok(['restore', point.id, '--to', target])).restored;
  assert.ok(await filesEqual(target, disk));
  assert.equal((await stat(target)).size, 64 * MiB);
  assert.ok(r.chunksSkipped > 0, 'holes were skipped');
  const allocated = await allocatedBytes(target);
  // A block or two of slack for the filesystem's own bookkeeping of the file.
  assert.ok(allocated <= r.chunksWritten * 4 * MiB + 64 * 1024, `${allocated} bytes allocated for ${r.chunksWritten} chunks written: the holes were filled`);
  assert.ok(allocated < 32 * MiB, `the restored 64 MiB image takes ${allocated} bytes on disk; it should be sparse`);
  assert.ok((await fsckReport(target)).ok);
});

/** A second server whose chains hold at most 3 points. */
let short: { server?: TestServer; carol?: CliUser; vol?: string; disk?: string; chains?: string[] } = {};

test('--chain-max-length 3: the 4th backup of a resource starts a new chain', async () => {
  const small = await startServer({ args: ['--chain-max-length', '3'] });
  short.server = small;
  const carol = await cliUser(small.url, dir, 'carol');
  const disk = await makeExt4Image(dir, { sizeMiB: 16, seed: 3, dataMiB: 4 });
  const vol = (await carol.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'short', '--disk', 'root:16M'])).resource.id;
  const points: Json[] = [];
  const snaps: string[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await scribble(disk, { regions: 2, seed: 300 + i });
    snaps.push(await snapshot(disk, `short-${i}.img`));
    points.push(await backup(carol, vol, disk));
  }
  const [p0, p1, p2, p3, p4] = points;
  assert.deepEqual(
    points.map((p) => p.type),
    ['full', 'incremental', 'incremental', 'full', 'incremental'],
    'an incremental request on a full chain (3 points) starts a new one',
  );
  assert.deepEqual([p1.chain_id, p2.chain_id], [p0.id, p0.id]);
  assert.equal(p3.chain_id, p3.id);
  assert.equal(p4.chain_id, p3.id);
  assert.equal(p4.parent_id, p3.id);
  const first = await chainOf(carol, p0.id);
  assert.equal(first.point_count, 3);
  assert.equal(first.head_point_id, p2.id);
  // The last point of a full chain and the first of the next one.
  for (const i of [2, 3]) await restoresTo(carol, points[i].id, snaps[i]!, `point ${i}`);
  short = { ...short, carol, vol, disk, chains: [p0.id, p3.id] };
});

test('--full starts a new chain; a later incremental backup extends the newest chain', async () => {
  const { server, carol, vol, disk, chains } = short;
  assert.ok(server && carol && vol && disk && chains, 'needs the previous test');
  try {
    await scribble(disk, { regions: 2, seed: 399 });
    const forced = await backup(carol, vol, disk, '--full');
    assert.equal(forced.type, 'full');
    assert.equal(forced.chain_id, forced.id);
    const next = await backup(carol, vol, disk);
    assert.equal(next.type, 'incremental');
    assert.equal(next.parent_id, forced.id);
    assert.equal(next.stored_bytes, 0, 'nothing changed since the forced full point');

    const list = await carol.cli.ok(['chain', 'list', '--resource', vol]);
    assert.equal(list.total_count, 3);
    assert.deepEqual(new Set(list.items.map((c: Json) => c.id)), new Set([...chains, forced.id]));
    await restoresTo(carol, next.id, disk, 'the increment of the forced chain');
  } finally {
    await server.stop();
  }
});

test('edit the name and description of a chain and of a point', async () => {
  const disk = await makeExt4Image(dir, { sizeMiB: 16, seed: 4, dataMiB: 2 });
  const vol = await newVolume(alice, 'edits', 16);
  const full = await backup(alice, vol, disk);
  await scribble(disk, { regions: 1, seed: 41 });
  const inc = await backup(alice, vol, disk);

  const edited = await alice.cli.ok(['chain', 'edit', full.id, '--name', 'nightly', '--description', 'database disk, every night']);
  assert.equal(edited.chain.name, 'nightly');
  const chain = await chainOf(alice, full.id);
  assert.equal(chain.name, 'nightly');
  assert.equal(chain.description, 'database disk, every night');
  const found = await alice.cli.ok(['chain', 'list', '--search', 'nightly']);
  assert.deepEqual(
    found.items.map((c: Json) => c.id),
    [full.id],
  );

  await alice.cli.ok(['point', 'edit', inc.id, '--name', 'before upgrade']);
  await alice.cli.ok(['point', 'edit', inc.id, '--description', 'taken before the 2.0 upgrade']);
  const p = (await alice.cli.ok(['point', 'show', inc.id])).point;
  assert.equal(p.name, 'before upgrade', 'a later edit of the description keeps the name');
  assert.equal(p.description, 'taken before the 2.0 upgrade');
  assert.equal((await pointOf(alice, full.id)).name, '', 'the chain\'s name is not its full point\'s');

  const [nothing, tooLong, notYours] = await Promise.all([
    alice.cli.fails(['point', 'edit', inc.id], 2),
    alice.cli.fails(['point', 'edit', inc.id, '--name', 'x'.repeat(200)], 2),
    bob.cli.fails(['chain', 'edit', full.id, '--name', 'mine now'], 4),
  ]);
  assert.match(nothing.stderr, /name or a description/);
  assert.match(tooLong.stderr, /name/i);
  assert.match(notYours.stderr, /not found/);
  assert.equal((await chainOf(alice, full.id)).name, 'nightly');
  assert.equal((await pointOf(alice, inc.id)).name, 'before upgrade');
});

/** The volume of the deletion tests: three points of one chain, and the disk at each. */
let deletions: { vol: string; p0: string; p1: string; p2: string; snaps: string[] };

test('deleting an incremental point: the head moves back to its parent, the other points still restore', async () => {
  const disk = await makeExt4Image(dir, { sizeMiB: 32, seed: 5, dataMiB: 8 });
  const vol = await newVolume(alice, 'deletions', 32);
  const snaps: string[] = [];
  const points: Json[] = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await scribble(disk, { regions: 3, seed: 500 + i });
    snaps.push(await snapshot(disk, `del-${i}.img`));
    points.push(await backup(alice, vol, disk));
  }
  const [p0, p1, p2] = points.map((p) => p.id as string) as [string, string, string];
  assert.equal((await chainOf(alice, p0)).head_point_id, p2);

  // A middle point: incremental manifests are complete, so its child is untouched.
  const d1 = await alice.cli.ok(['point', 'delete', p1, '--yes']);
  assert.equal(d1.deleted.id, p1);
  assert.equal(d1.deleted.deleted, 'point');
  assert.ok(Date.parse(d1.deleted.purge_after) > Date.now() + 3600_000, 'restorable for the recycle period (2 h by default)');
  let chain = await chainOf(alice, p0);
  assert.equal(chain.head_point_id, p2, 'deleting a point that is not the head leaves the head');
  assert.equal(chain.point_count, 2);
  await restoresTo(alice, p2, snaps[2]!, 'child of a deleted point');

  // The head: it moves back to the nearest live ancestor.
  await alice.cli.ok(['point', 'delete', p2, '--yes']);
  chain = await chainOf(alice, p0);
  assert.equal(chain.head_point_id, p0);
  assert.equal(chain.point_count, 1);
  assert.deepEqual(
    chain.points.map((p: Json) => [p.id, p.status, p.is_head]),
    [
      [p0, 'available', true],
      [p1, 'deleted', false],
      [p2, 'deleted', false],
    ],
  );

  // A point in the recycle bin cannot be restored from: a clear 409 and no file made.
  const target = path('from-the-bin.img');
  const [refused, again, unconfirmed] = await Promise.all([
    alice.cli.fails(['restore', p2, '--to', target], 5),
    alice.cli.fails(['point', 'delete', p2, '--yes'], 5),
    alice.cli.fails(['point', 'delete', p0], 2),
  ]);
  assert.match(refused.stderr, new RegExp(`${p2} is deleted.*recycle bin`));
  assert.ok(!(await exists(target)), 'a refused restore creates no target file');
  assert.match(again.stderr, /already deleted/);
  assert.match(unconfirmed.stderr, /--yes/);
  deletions = { vol, p0, p1, p2, snaps };
});

test('the recycle bin lists deleted points, restores them, and purges them for good', async () => {
  const { vol, p0, p1, p2, snaps } = deletions;

  const bin = await alice.cli.ok(['recycle', 'list']);
  assert.deepEqual(
    bin.items.filter((e: Json) => e.resource_id === vol).map((e: Json) => [e.kind, e.id]).sort(),
    [
      ['point', p1],
      ['point', p2],
    ].sort(),
  );

  const back = await alice.cli.ok(['recycle', 'restore', p2]);
  assert.deepEqual(back.restored, { kind: 'point', id: p2 });
  assert.equal((await pointOf(alice, p2)).status, 'available');

  const [twice, noYes] = await Promise.all([alice.cli.fails(['recycle', 'restore', p2], 5), alice.cli.fails(['recycle', 'purge', p1], 2)]);
  assert.match(twice.stderr, /not in the recycle bin/);
  assert.match(noYes.stderr, /--yes/);
  await alice.cli.ok(['recycle', 'purge', p1, '--yes']);
  const [purged, live] = await Promise.all([alice.cli.fails(['point', 'show', p1], 4), alice.cli.fails(['recycle', 'purge', p2, '--yes'], 5)]);
  assert.match(purged.stderr, /not found/);
  assert.match(live.stderr, /not in the recycle bin/);
  assert.equal((await pointOf(alice, p2)).parent_id, p0, 'the purged point\'s child hangs from its parent');
  await restoresTo(alice, p2, snaps[2]!, 'a point back from the recycle bin, child of a purged point');
  assert.deepEqual(await inBin(vol), []);
});

test('deleting the full point deletes the chain; the chain comes back whole from the recycle bin, or is purged', async () => {
  const { vol, p0, p2, snaps } = deletions;
  const target = path('from-the-bin-2.img');
  const dc = await alice.cli.ok(['point', 'delete', p0, '--yes']);
  assert.equal(dc.deleted.deleted, 'chain');
  assert.equal((await chainsOf(alice, vol)).total_count, 0);
  const deleted = await alice.cli.ok(['chain', 'list', '--resource', vol, '--deleted']);
  assert.deepEqual(
    deleted.items.map((c: Json) => [c.id, c.status]),
    [[p0, 'deleted']],
  );
  assert.deepEqual(await inBin(vol), [['chain', p0]]);
  const [gone, notAlone] = await Promise.all([alice.cli.fails(['restore', p2, '--to', target], 5), alice.cli.fails(['recycle', 'restore', p2], 5)]);
  assert.match(gone.stderr, /deleted/);
  assert.match(notAlone.stderr, new RegExp(`restore the chain \\(${p0}\\)`));

  await alice.cli.ok(['recycle', 'restore', p0]);
  const chain = await chainOf(alice, p0);
  assert.equal(chain.status, 'available');
  assert.deepEqual(
    chain.points.map((p: Json) => [p.id, p.status]),
    [
      [p0, 'available'],
      [p2, 'available'],
    ],
  );
  await restoresTo(alice, p0, snaps[0]!, 'the full point of a chain back from the recycle bin');

  await alice.cli.ok(['chain', 'delete', p0, '--yes']);
  await alice.cli.ok(['recycle', 'purge', p0, '--yes']);
  await Promise.all([alice.cli.fails(['chain', 'show', p0], 4), alice.cli.fails(['point', 'show', p2], 4)]);
  assert.deepEqual(await inBin(vol), []);
  assert.equal((await chainsOf(alice, vol, 'deleted')).total_count, 0);
});

test('bad input: unreadable disk, wrong size, another account\'s resource, unknown point', async () => {
  const disk = await makeExt4Image(dir, { sizeMiB: 16, seed: 6, dataMiB: 2 });
  const vol = await newVolume(alice, 'bad-input', 16);
  const first = await backup(alice, vol, disk);
  const jobs = async () => expectStatus(await alice.api().get('/jobs', { resource_id: vol }), 200).total_count;
  const jobsBefore = await jobs();

  const missing = path('no-such-disk.img');
  const small = path('too-small.img');
  await writeFile(small, Buffer.alloc(8 * MiB, 1));
  const [r1, r2, r3] = await Promise.all([
    alice.cli.run(['backup', vol, '--disk', missing]),
    alice.cli.run(['backup', vol, '--disk', dir]),
    alice.cli.fails(['backup', vol, '--disk', small], 2),
  ]);
  assert.notEqual(r1.code, 0);
  assert.equal(r1.stdout, '');
  assert.match(r1.stderr, new RegExp(`cannot read disk ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file`));
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /not a regular file or block device/);
  assert.match(r3.stderr, /size/);
  assert.match(r3.stderr, new RegExp(`${8 * MiB} bytes`));
  assert.match(r3.stderr, new RegExp(`${16 * MiB} bytes`));

  // Another account's IDs are not found, never "forbidden": their existence is not revealed.
  const [r4, ...others] = await Promise.all([
    bob.cli.fails(['backup', vol, '--disk', disk], 4),
    bob.cli.fails(['restore', first.id, '--to', path('bob.img')], 4),
    bob.cli.fails(['chain', 'show', first.id], 4),
    bob.cli.fails(['point', 'delete', first.id, '--yes'], 4),
    bob.cli.fails(['rollback', first.id], 4),
  ]);
  assert.match(r4.stderr, new RegExp(`${vol}.*not found`));
  for (const r of others) assert.match(r.stderr, new RegExp(`${first.id}.*not found`));
  assert.ok(!(await exists(path('bob.img'))));

  const chains = await chainsOf(alice, vol);
  assert.deepEqual(
    chains.items.map((c: Json) => [c.id, c.point_count]),
    [[first.id, 1]],
    'no point was made by any of the refused backups',
  );
  assert.equal(await jobs(), jobsBefore, 'no job was started by any of them');
  assert.equal((await pointOf(alice, first.id)).status, 'available');

  const nobody = unknownId('ss');
  const target = path('nobody.img');
  const [r5] = await Promise.all([
    alice.cli.fails(['restore', nobody, '--to', target], 4),
    alice.cli.fails(['restore', 'not-an-id', '--to', target], 2),
    alice.cli.fails(['restore', first.id, '--to', target, '--disk', 'nope'], 2),
  ]);
  assert.match(r5.stderr, new RegExp(`${nobody}.*not found`));
  assert.ok(!(await exists(target)), 'no failed restore left a file');
});

test('rollback through the agent rewrites only the changed chunks and moves the head; without an agent it is a clear 409', async () => {
  const disk = await makeExt4Image(dir, { sizeMiB: 64, files: randomFiles(7, 12, 2 * MiB), seed: 7, name: 'rollback.img' });
  const vol = await newVolume(alice, 'rollback', 64);
  const p0 = await backup(alice, vol, disk);
  const snap0 = await snapshot(disk, 'rollback-0.img');
  await scribble(disk, { regions: 2, seed: 71 });
  const p1 = await backup(alice, vol, disk);
  assert.equal((await chainOf(alice, p0.id)).head_point_id, p1.id);
  await scribble(disk, { regions: 3, seed: 72 });

  const noAgent = await alice.cli.fails(['rollback', p0.id], 5);
  assert.match(noAgent.stderr, new RegExp(`No agent hosts ${vol}.*cairn agent`));
  assert.equal((await chainOf(alice, p0.id)).head_point_id, p1.id, 'a refused rollback moves nothing');

  const expected = await differingChunks(disk, snap0);
  assert.ok(expected > 0 && expected < 16, `${expected} of 16 chunks differ from the point`);
  const agent = alice.cli.spawn(['agent', '--name', `host-${vol}`, '--map', `${vol}:${disk}`, '--poll-ms', '200'], { json: false });
  try {
    await agent.waitFor(new RegExp(`agent agt-\\w+ \\(host-${vol}\\) hosting ${vol}`));
    const r = await alice.cli.ok(['rollback', p0.id], { timeoutMs: 60_000 });
    assert.equal(r.job.status, 'successful');
    assert.equal(r.job.action, 'rollback');
    assert.equal(r.job.target_id, p0.id);
    const m = await agent.waitFor(new RegExp(`rolled back to ${p0.id}, (\\d+) chunks written`));
    assert.equal(Number(m[1]), expected, 'the agent rewrote exactly the chunks that differed');
    assert.ok(await filesEqual(disk, snap0), 'the disk is back to the point');
    assert.ok((await fsckReport(disk)).ok);

    const chain = await chainOf(alice, p0.id);
    assert.equal(chain.head_point_id, p0.id, 'the head moved back to the point rolled back to');
    // The next backup branches from the new head: the chain is a tree.
    await scribble(disk, { regions: 1, seed: 73 });
    const p2 = await backup(alice, vol, disk);
    assert.equal(p2.parent_id, p0.id);
    const tree = await chainOf(alice, p0.id);
    assert.deepEqual(
      tree.points.map((p: Json) => [p.id, p.parent_id, p.is_head]),
      [
        [p0.id, null, false],
        [p1.id, p0.id, false],
        [p2.id, p0.id, true],
      ],
    );
    // Rolling back to where the disk already is writes nothing.
    await alice.cli.ok(['rollback', p2.id]);
    const again = await agent.waitFor(new RegExp(`rolled back to ${p2.id}, (\\d+) chunks written`));
    assert.equal(Number(again[1]), 0);
  } finally {
    await stopAgent(agent);
  }
});

test('volume create-from makes a new volume and restores the point\'s data to a path', async () => {
  const disk = await makeExt4Image(dir, { sizeMiB: 32, seed: 8, dataMiB: 12 });
  const vol = await newVolume(alice, 'source', 32);
  const point = await backup(alice, vol, disk);
  const target = path('created.img');
  const r = await alice.cli.ok(['volume', 'create-from', point.id, '--name', 'copy of source', '--to', target]);
  assert.match(r.resource.id, /^vol-/);
  assert.notEqual(r.resource.id, vol);
  assert.equal(r.resource.name, 'copy of source');
  assert.deepEqual(r.resource.disks, [{ name: 'root', size: 32 * MiB, role: 'system' }]);
  assert.deepEqual(r.resource.source, { point_id: point.id, disk: 'root' });
  assert.ok(await filesEqual(target, disk));
  assert.ok((await fsckReport(target)).ok);
  // The new volume is a resource like any other: it backs up, and its data is already in the store.
  const copy = (await alice.cli.ok(['backup', r.resource.id, '--disk', target])).point;
  assert.equal(copy.type, 'full');
  assert.equal(copy.stored_bytes, 0);
  await bob.cli.fails(['volume', 'create-from', point.id, '--name', 'stolen'], 4);
});
