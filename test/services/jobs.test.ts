import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Caller } from '../../src/domain/caller.js';
import { MAX_ATTEMPTS } from '../../src/services/jobs.js';
import { callerFor, openTestStore, type TestStore } from '../helpers/db.js';
import { PASSWORD, randomEmail } from '../helpers/http.js';

let store: TestStore;
let store2: TestStore;
let owner: Caller;
let other: Caller;

before(async () => {
  store = await openTestStore();
  store2 = await openTestStore({ database: store.database });
  owner = callerFor(await store.services.accounts.register({ email: randomEmail('jobs'), password: PASSWORD }));
  other = callerFor(await store.services.accounts.register({ email: randomEmail('jobs-other'), password: PASSWORD }));
});
after(async () => {
  await store2?.close();
  await store?.close();
});

const jobs = () => store.services.jobs;

test('two workers claiming at once never take the same job', async () => {
  const runner = `agt-${'claim'.padEnd(8, 'x')}`;
  const made = new Set<string>();
  for (let i = 0; i < 6; i++) made.add((await jobs().create({ accountId: owner.accountId, action: 'backup', runner })).id);
  const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store2 : store).services.jobs.claim(runner, 60_000)));
  const taken = claims.filter((c) => c !== null).map((c) => c!.id);
  assert.equal(new Set(taken).size, taken.length, `a job was claimed twice: ${taken.join(', ')}`);
  for (const id of taken) assert.ok(made.has(id));
  // Retries inside claim() mean nearly all are taken; none may be lost or left half-claimed.
  for (const id of made) {
    const row = (await jobs().byId(id))!;
    if (taken.includes(id)) {
      assert.equal(row.status, 'working');
      assert.equal(row.attempts, 1);
      assert.ok(row.lease_until);
    } else assert.equal(row.status, 'pending');
  }
});

test('recover: an expired server job goes back to pending until its attempts run out, then fails with a reason', async () => {
  const retry = await jobs().create({ accountId: owner.accountId, action: 'gc', runner: 'server', status: 'working', leaseMs: -1_000 });
  const spent = await jobs().create({ accountId: owner.accountId, action: 'gc', runner: 'server', status: 'working', leaseMs: -1_000 });
  await store.meta.db.updateTable('jobs').set({ attempts: MAX_ATTEMPTS }).where('id', '=', spent.id).execute();
  const alive = await jobs().create({ accountId: owner.accountId, action: 'gc', runner: 'server', status: 'working', leaseMs: 60_000 });

  await jobs().recover({ pendingTimeoutMs: 600_000 });

  const r = (await jobs().byId(retry.id))!;
  assert.equal(r.status, 'pending');
  assert.equal(r.lease_until, null);
  const s = (await jobs().byId(spent.id))!;
  assert.equal(s.status, 'failed');
  assert.match(s.error ?? '', /stopped/);
  assert.ok(s.finished_at);
  assert.equal((await jobs().byId(alive.id))!.status, 'working', 'a job whose lease still runs is left alone');
});

test('recover: expired client and agent jobs fail with a reason that names who stopped', async () => {
  const client = await jobs().create({ accountId: owner.accountId, action: 'backup', runner: 'client', status: 'working', leaseMs: -1_000 });
  const agent = await jobs().create({ accountId: owner.accountId, action: 'backup', runner: 'agt-recover1', status: 'working', leaseMs: -1_000 });
  const failed: string[] = [];
  await jobs().recover({ pendingTimeoutMs: 600_000, onFailed: async (j) => void failed.push(j.id) });
  const c = (await jobs().byId(client.id))!;
  assert.equal(c.status, 'failed');
  assert.match(c.error ?? '', /client/i);
  const a = (await jobs().byId(agent.id))!;
  assert.equal(a.status, 'failed');
  assert.match(a.error ?? '', /agt-recover1/);
  assert.ok(failed.includes(client.id) && failed.includes(agent.id), 'onFailed is told about each failed job');
});

test('recover: a pending agent job that no agent took in time fails as "offline"; server and client jobs wait', async () => {
  const old = new Date(Date.now() - 3_600_000).toISOString();
  const stale = await jobs().create({ accountId: owner.accountId, action: 'backup', runner: 'agt-offline1' });
  const serverJob = await jobs().create({ accountId: owner.accountId, action: 'gc', runner: 'server' });
  const fresh = await jobs().create({ accountId: owner.accountId, action: 'backup', runner: 'agt-offline1' });
  await store.meta.db.updateTable('jobs').set({ created_at: old }).where('id', 'in', [stale.id, serverJob.id]).execute();
  await jobs().recover({ pendingTimeoutMs: 60_000 });
  const s = (await jobs().byId(stale.id))!;
  assert.equal(s.status, 'failed');
  assert.match(s.error ?? '', /offline/);
  assert.equal((await jobs().byId(serverJob.id))!.status, 'pending');
  assert.equal((await jobs().byId(fresh.id))!.status, 'pending');
});

test('finished jobs stay finished: succeed/fail/progress do not resurrect them', async () => {
  const j = await jobs().create({ accountId: owner.accountId, action: 'backup', runner: 'server', status: 'working' });
  await jobs().progress(j.id, { bytesDone: 50, bytesTotal: 100 });
  assert.equal((await jobs().byId(j.id))!.progress, 50);
  await jobs().succeed(j.id, { point: 'ss-12345678' });
  await jobs().fail(j.id, 'too late');
  await jobs().progress(j.id, { bytesDone: 10 });
  const done = await jobs().get(owner, j.id);
  assert.equal(done.status, 'successful');
  assert.equal(done.progress, 100);
  assert.equal(done.error, null);
  assert.deepEqual(done.result, { point: 'ss-12345678' });
  await assert.rejects(jobs().get(other, j.id), (e: unknown) => (e as { status?: number }).status === 404);
});
