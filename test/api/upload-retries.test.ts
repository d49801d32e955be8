// A client that lost an answer asks again: opening an upload with the same request key and
// committing a committed upload both answer with what the first request made, never a second one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { openTestStore, type TestStore } from '../helpers/db.js';
import { expectError, expectStatus, newAccount, newVolume, randomDisk, sendDisks, type TestAccount } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let store: TestStore;
let owner: TestAccount;
let stranger: TestAccount;
let volume: string;
let other: string;
const DISK = { name: 'disk0', size: 1 << 20 };

before(async () => {
  server = await startServer();
  store = await openTestStore({ database: server.database });
  owner = await newAccount(server.url, { tag: 'retry' });
  stranger = await newAccount(server.url, { tag: 'stranger' });
  volume = await newVolume(owner.api, 'retried');
  other = await newVolume(owner.api, 'other');
});
after(async () => {
  await store?.close();
  await server?.stop();
});

const openBody = (resource: string, key?: string) => ({ resource_id: resource, type: 'full', ...(key ? { request_key: key } : {}), disks: [DISK] });

async function uploadsOf(resource: string): Promise<{ id: string; status: string; job_id: string }[]> {
  return store.meta.db.selectFrom('uploads').select(['id', 'status', 'job_id']).where('resource_id', '=', resource).execute();
}

test('opening twice with one request key opens one upload, also when both arrive at once', async () => {
  const key = randomUUID();
  const first = expectStatus(await owner.api.post('/uploads', openBody(volume, key)), 201, 'open').upload;
  const again = expectStatus(await owner.api.post('/uploads', openBody(volume, key)), 201, 'open again').upload;
  assert.equal(again.id, first.id);

  const racing = randomUUID();
  const answers = await Promise.all(Array.from({ length: 6 }, () => owner.api.post('/uploads', openBody(volume, racing))));
  const ids = new Set(answers.map((r) => expectStatus(r, 201, 'racing open').upload.id));
  assert.equal(ids.size, 1, 'every racing request got the same upload');
  const rows = (await uploadsOf(volume)).filter((u) => ids.has(u.id) || u.id === first.id);
  assert.equal(rows.length, 2, 'one upload per key');
  // A request that lost the race made a job before it found the winner's upload: that job is failed, saying why.
  const winnerJob = rows.find((u) => ids.has(u.id))!.job_id;
  const losers = await store.meta.db.selectFrom('jobs').select(['status', 'error']).where('resource_id', '=', volume).where('id', '!=', winnerJob).where('id', '!=', rows.find((u) => u.id === first.id)!.job_id).execute();
  for (const j of losers) assert.match(`${j.status} ${j.error}`, /failed A retried request opened upload/);

  for (const id of [first.id, ...ids]) expectStatus(await owner.api.delete(`/uploads/${id}`), 204, 'cancel');
});

test('a request key is one backup of one resource: another resource with it is refused, and bad keys are 400', async () => {
  const key = randomUUID();
  const first = expectStatus(await owner.api.post('/uploads', openBody(volume, key)), 201, 'open').upload;
  const before = (await uploadsOf(other)).length;
  const e = expectError(await owner.api.post('/uploads', openBody(other, key)), 409, 'request_key_reused');
  assert.match(e.message, new RegExp(first.id));
  for (const bad of ['short', 'x'.repeat(65), 'has spaces in it, sixteen+', '../../etc/passwd/..']) expectError(await owner.api.post('/uploads', openBody(volume, bad)), 400);
  assert.equal((await uploadsOf(other)).length, before, 'nothing was opened');
  // Keys are per account: another account's key never finds this upload, and its resources stay hidden.
  expectError(await stranger.api.post('/uploads', openBody(volume, key)), 404);
  expectStatus(await owner.api.delete(`/uploads/${first.id}`), 204, 'cancel');
});

test('committing a committed upload answers with the same point; a cancelled one stays refused', async () => {
  const disk = randomDisk(DISK.name, DISK.size);
  const id = expectStatus(await owner.api.post('/uploads', openBody(volume, randomUUID())), 201, 'open').upload.id;
  await sendDisks(owner.api, id, [disk]);
  const point = expectStatus(await owner.api.post(`/uploads/${id}/commit`), 200, 'commit').point;
  const again = expectStatus(await owner.api.post(`/uploads/${id}/commit`), 200, 'commit again').point;
  assert.deepEqual(again, point);
  const points = await store.meta.db.selectFrom('points').select('id').where('id', '=', id).execute();
  assert.equal(points.length, 1, 'one point');
  const job = await store.meta.db.selectFrom('jobs').select('status').where('id', '=', (await uploadsOf(volume)).find((u) => u.id === id)!.job_id).executeTakeFirstOrThrow();
  assert.equal(job.status, 'successful');
  expectError(await stranger.api.post(`/uploads/${id}/commit`), 404);

  const cancelled = expectStatus(await owner.api.post('/uploads', openBody(volume)), 201, 'open').upload.id;
  expectStatus(await owner.api.delete(`/uploads/${cancelled}`), 204, 'cancel');
  expectError(await owner.api.post(`/uploads/${cancelled}/commit`), 409, 'upload_closed');
});
