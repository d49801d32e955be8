// What the store promises about each chunk a point names (issue 30, findings 1–4 and 6): a commit
// takes only chunks that are stored, each of the length its place needs; a chunk found damaged or
// gone is quarantined and healed by the next upload of it; a chunk new to an account costs a whole
// write whether or not another account stored it; and GC removes what crashed writes left behind.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeChunk } from '../../src/format/chunk-codec.js';
import { encodeManifest } from '../../src/format/manifest.js';
import { chunkFile, cliUser, damageChunk, fetchManifest, makeRawDisk, MiB, type CliUser } from '../helpers/cli.js';
import { openTestStore, type TestStore } from '../helpers/db.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectError, expectStatus, newAccount, type Api, openUpload, PASSWORD, randomDisk, randomEmail, sendDisks, signIn, type TestAccount } from '../helpers/http.js';
import { openS3Store, serverPrefix, TEST_STORE } from '../helpers/s3.js';
import { startServer, type TestServer } from '../helpers/server.js';

let dir: string;
let server: TestServer;
let store: TestStore;
let admin: TestAccount;
let owner: TestAccount;
let other: TestAccount;

const octets = { contentType: 'application/octet-stream' };

before(async () => {
  dir = await makeTempDir('cairn-e2e-integrity-');
  const adminEmail = randomEmail('admin');
  server = await startServer({ adminEmail, adminPassword: PASSWORD, args: ['--gc-grace-seconds', '1'] });
  store = await openTestStore({ database: server.database });
  [admin, owner, other] = await Promise.all([signIn(server.url, adminEmail, PASSWORD), newAccount(server.url, { tag: 'owner' }), newAccount(server.url, { tag: 'other' })]);
});

after(async () => {
  try {
    await store?.close();
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

async function volumeOf(account: TestAccount, name: string, size: number): Promise<string> {
  return expectStatus(await account.api.post('/resources', { kind: 'volume', name, disks: [{ name: 'disk0', size }] }), 201, 'create a volume').resource.id;
}

/** Removes a chunk's blob from the server's store (its folder, or its bucket on the S3 axis), leaving its row. */
async function removeBlob(digest: string): Promise<void> {
  if (TEST_STORE === 's3') {
    const s3 = await openS3Store(serverPrefix(server.dataDir));
    try {
      await s3.delete(digest);
    } finally {
      s3.close();
    }
  } else await unlink(chunkFile(server.dataDir, digest));
}

const putChunk = (account: TestAccount, upload: string, digest: string, blob: Buffer) => account.api.request('PUT', `/uploads/${upload}/chunks/${digest}`, undefined, { raw: blob, ...octets });
const putManifest = (account: TestAccount, upload: string, manifest: Buffer) => account.api.request('PUT', `/uploads/${upload}/disks/disk0/manifest`, undefined, { raw: manifest, ...octets });
const missing = async (client: Api, upload: string, digests: string[]): Promise<string[]> =>
  expectStatus(await client.post(`/uploads/${upload}/missing`, { digests }), 200, 'missing').missing;
const pointsOf = async (resource: string) => (await store.meta.db.selectFrom('points').select('id').where('resource_id', '=', resource).execute()).length;
const stateOf = async (digest: string) => (await store.meta.db.selectFrom('chunks').select('state').where('digest', '=', digest).executeTakeFirst())?.state;

test('a commit refuses a manifest whose chunks do not fit their places (400), commits nothing, and takes the right one after', async () => {
  const size = 16 * MiB;
  const vol = await volumeOf(owner, 'misfit', size);
  const small = encodeChunk(Buffer.alloc(8 * 1024, 7));
  const whole = encodeChunk(Buffer.alloc(4 * MiB, 9));
  const upload = await openUpload(owner.api, vol, [{ name: 'disk0', size }], 'full');
  for (const c of [small, whole]) assert.equal(expectStatus(await putChunk(owner, upload, c.digest, c.blob), 201, 'put a chunk').stored, true);

  // An 8 KiB chunk at position 0 of a 16 MiB disk: the probe's manifest.
  expectStatus(await putManifest(owner, upload, encodeManifest({ size, chunkSize: 4 * MiB, chunks: [small.digest, null, null, null] })), 200, 'put the manifest');
  const refused = expectError(await owner.api.post(`/uploads/${upload}/commit`), 400, undefined, 'commit a misfit');
  assert.match(refused.message, /1 chunk\(s\) whose length does not fit their place/);
  assert.match(refused.message, new RegExp(`${small.digest} holds 8192 bytes where its place needs ${4 * MiB}`));
  assert.equal(await pointsOf(vol), 0, 'nothing was committed');
  assert.equal(expectStatus(await owner.api.get(`/uploads/${upload}`), 200).upload.status, 'open');

  // A whole chunk in the last place of a disk that ends 8 KiB into it, and one chunk in places of two lengths.
  const odd = 4 * MiB + 8 * 1024;
  const oddVol = await volumeOf(owner, 'odd', odd);
  const oddUpload = await openUpload(owner.api, oddVol, [{ name: 'disk0', size: odd }], 'full');
  expectStatus(await putChunk(owner, oddUpload, whole.digest, whole.blob), 200, 'put a chunk the account holds');
  expectStatus(await putChunk(owner, oddUpload, small.digest, small.blob), 200, 'put a chunk the account holds');
  expectStatus(await putManifest(owner, oddUpload, encodeManifest({ size: odd, chunkSize: 4 * MiB, chunks: [whole.digest, whole.digest] })), 200);
  assert.match(expectError(await owner.api.post(`/uploads/${oddUpload}/commit`), 400, undefined, 'one chunk in two sizes of place').message, /in places of 4194304 and 8192 bytes/);
  expectStatus(await putManifest(owner, oddUpload, encodeManifest({ size: odd, chunkSize: 4 * MiB, chunks: [small.digest, whole.digest] })), 200);
  expectError(await owner.api.post(`/uploads/${oddUpload}/commit`), 400, undefined, 'both chunks misplaced');
  assert.equal(await pointsOf(oddVol), 0);
  // The right manifest commits on the same upload.
  expectStatus(await putManifest(owner, oddUpload, encodeManifest({ size: odd, chunkSize: 4 * MiB, chunks: [whole.digest, small.digest] })), 200);
  expectStatus(await owner.api.post(`/uploads/${oddUpload}/commit`), 200, 'commit the right manifest');
  expectStatus(await owner.api.delete(`/uploads/${upload}`), 204);
});

test('a chunk row without its blob: "missing" asks for it, a commit naming it is refused (409, with the count), and sending it again commits', async () => {
  const vol = await volumeOf(owner, 'lost blob', 1 * MiB);
  const disk = randomDisk('disk0', 1 * MiB);
  const [digest] = [...disk.chunks.keys()];
  const first = await openUpload(owner.api, vol, [disk], 'full');
  await sendDisks(owner.api, first, [disk]);
  assert.equal(await stateOf(digest!), 'stored', 'the row says stored once the blob is durable');
  await removeBlob(digest!);

  assert.deepEqual(await missing(owner.api, first, [digest!]), [digest], 'a row whose blob is gone is not trusted');
  const refused = expectError(await owner.api.post(`/uploads/${first}/commit`), 409, 'missing_chunks', 'commit without the blob');
  assert.match(refused.message, /names 1 chunk\(s\) that are not stored/);
  assert.equal(await pointsOf(vol), 0, 'nothing was committed');

  const again = expectStatus(await putChunk(owner, first, digest!, disk.chunks.get(digest!)!), 201, 'send it again');
  assert.equal(again.stored, true, 'the blob was stored again');
  assert.equal(await stateOf(digest!), 'stored');
  const point = expectStatus(await owner.api.post(`/uploads/${first}/commit`), 200, 'commit').point;
  const res = await owner.api.request('GET', `/points/${point.id}/chunks/${digest}`);
  assert.equal(res.status, 200, 'the point reads its chunk');
});

test('a row left pending (its upload died before the blob was durable) is asked for again and refused by a commit until it is sent', async () => {
  const vol = await volumeOf(owner, 'pending', 1 * MiB);
  const disk = randomDisk('disk0', 1 * MiB);
  const [digest] = [...disk.chunks.keys()];
  const upload = await openUpload(owner.api, vol, [disk], 'full');
  await sendDisks(owner.api, upload, [disk]);
  // What a server killed between the row and the blob leaves: the row, pending, and no blob.
  await store.meta.db.updateTable('chunks').set({ state: 'pending' }).where('digest', '=', digest!).execute();
  await removeBlob(digest!);
  assert.match(expectError(await owner.api.post(`/uploads/${upload}/commit`), 409, 'missing_chunks', 'commit a pending chunk').message, /names 1 chunk\(s\) that are not stored/);
  assert.deepEqual(await missing(owner.api, upload, [digest!]), [digest]);
  expectStatus(await putChunk(owner, upload, digest!, disk.chunks.get(digest!)!), 200, 'send it again');
  assert.equal(await stateOf(digest!), 'stored');
  expectStatus(await owner.api.post(`/uploads/${upload}/commit`), 200, 'commit');
});

test('a damaged chunk is quarantined by verify, the next backup uploads it again, and the old points of both accounts that share it restore again', async () => {
  const [a, b] = await Promise.all([cliUser(server.url, dir, 'heal-a'), cliUser(server.url, dir, 'heal-b')]);
  const image = await makeRawDisk(join(dir, 'heal.img'), 16 * MiB, 16 * MiB, 'heal');
  const snapshot = join(dir, 'heal-snapshot.img');
  await copyFile(image, snapshot);
  const vol = async (user: CliUser) => (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'heal', '--disk', 'root:16M'])).resource.id as string;
  const [volA, volB] = await Promise.all([vol(a), vol(b)]);
  const oldA = (await a.cli.ok(['backup', volA, '--disk', image, '--full'])).point.id as string;
  const oldB = (await b.cli.ok(['backup', volB, '--disk', image, '--full'])).point.id as string;
  const digest = (await fetchManifest(a, oldA, 'root')).chunks[1]!;
  await damageChunk(server.dataDir, digest);

  const verify = await a.cli.run(['verify', '--point', oldA]);
  assert.equal(verify.code, 6, `verify must find the damage:\n${verify.stderr}`);
  assert.deepEqual(verify.json.report.damaged.map((d: { digest: string }) => d.digest), [digest]);
  assert.equal(await stateOf(digest), 'damaged', 'verify quarantined it');
  // Quarantined: asked for again, by every account that holds it.
  const upload = await openUpload(b.api(), volB, [{ name: 'root', size: 16 * MiB }]);
  assert.deepEqual(await missing(b.api(), upload, [digest]), [digest]);
  expectStatus(await b.api().delete(`/uploads/${upload}`), 204);

  const fresh = (await a.cli.ok(['backup', volA, '--disk', image, '--full'])).point.id as string;
  assert.equal(await stateOf(digest), 'stored', 'the new backup replaced the damaged blob');
  for (const [user, point] of [[a, oldA], [a, fresh], [b, oldB]] as const) {
    const target = join(dir, `healed-${point}.img`);
    await user.cli.ok(['restore', point, '--to', target]);
    assert.ok(await filesEqual(target, snapshot), `point ${point} restores to its disk`);
  }
  const again = await a.cli.run(['verify', '--point', oldA]);
  assert.equal(again.code, 0, again.stderr);
});

test('a chunk new to an account is written whole even when another account stored it; one the account holds is not', { skip: TEST_STORE === 's3' && 'inodes are a folder store\'s' }, async () => {
  const disk = randomDisk('disk0', 1 * MiB);
  const [digest] = [...disk.chunks.keys()];
  const blob = disk.chunks.get(digest!)!;
  const mine = await openUpload(owner.api, await volumeOf(owner, 'dedup', 1 * MiB), [disk], 'full');
  expectStatus(await putChunk(owner, mine, digest!, blob), 201);
  const file = chunkFile(server.dataDir, digest!);
  const first = (await stat(file)).ino;
  expectStatus(await putChunk(owner, mine, digest!, blob), 200, 'the owner sends it again');
  assert.equal((await stat(file)).ino, first, 'a chunk the account holds is not written again');

  const theirs = await openUpload(other.api, await volumeOf(other, 'dedup', 1 * MiB), [disk], 'full');
  assert.equal(expectStatus(await putChunk(other, theirs, digest!, blob), 201, 'another account sends it').stored, true, 'new to this account');
  assert.notEqual((await stat(file)).ino, first, 'another account\'s copy was written and replaced the blob, as a new chunk would have been');
  const names = await readdir(join(file, '..'));
  assert.deepEqual(names.filter((n) => n.startsWith('.tmp-')), [], 'no temporary file is left');
  for (const [account, id] of [[owner, mine], [other, theirs]] as const) expectStatus(await account.api.delete(`/uploads/${id}`), 204);
});

test('GC removes temporary chunk files a crash left, once older than the grace period, and leaves newer ones', { skip: TEST_STORE === 's3' && 'an object store has no temporary files' }, async () => {
  const folder = join(server.dataDir, 'chunks', 'ab', 'cd');
  await mkdir(folder, { recursive: true });
  const stale = join(folder, '.tmp-0123456789ab');
  const recent = join(folder, '.tmp-ba9876543210');
  await writeFile(stale, Buffer.alloc(70_000, 1));
  await writeFile(recent, Buffer.alloc(10, 1));
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(stale, hourAgo, hourAgo);
  const report = expectStatus(await admin.api.post('/admin/gc'), 200, 'gc').report;
  assert.equal(report.temporary_files_removed, 1);
  assert.equal(report.temporary_bytes_removed, 70_000);
  assert.deepEqual((await readdir(folder)).sort(), ['.tmp-ba9876543210'], 'the recent one may still be written: it stays');
});
