import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Caller } from '../../src/domain/caller.js';
import { CairnError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { insertAccount, openTestStore, testDatabaseUrl, testEngine, type TestDatabase, type TestStore } from '../helpers/db.js';

// The scheduler's rules with an injected clock, on the engine of this run: on PostgreSQL two
// "servers" (two stores on one database, each with its own services) race for every due run.

let database: TestDatabase;
let one: TestStore;
let two: TestStore;
let now = new Date('2026-03-28T12:00:00.000Z');
const clock = () => now;

before(async () => {
  database = await testDatabaseUrl();
  one = await openTestStore({ database, clock });
  // Several servers share a database on PostgreSQL only (docs/deploy.md); on SQLite the race is between calls on one server.
  two = testEngine() === 'postgres' ? await openTestStore({ database, clock }) : one;
});
after(async () => {
  if (two !== one) await two?.close();
  await one?.close();
  await database?.drop();
});

const account = (): Promise<Caller> => insertAccount(one.meta.db, { domain: 'tasks.test', at: now.toISOString() });

/** A volume hosted by an agent of its owner. */
async function volume(owner: Caller): Promise<string> {
  const db = one.meta.db;
  const agentId = newId('agent');
  await db.insertInto('agents').values({ id: agentId, account_id: owner.accountId, name: agentId, last_seen_at: now.toISOString(), created_at: now.toISOString(), version: null, token_id: null }).execute();
  const id = newId('volume');
  await db.insertInto('resources').values({ id, account_id: owner.accountId, kind: 'volume', name: 'v', agent_id: agentId, created_at: now.toISOString() }).execute();
  await db.insertInto('disks').values({ resource_id: id, position: 0, name: 'd0', size: 4096 }).execute();
  return id;
}

async function chain(owner: Caller, resourceId: string, origin: 'manual' | 'automatic', createdAt: string): Promise<string> {
  const id = newId('point');
  await one.meta.db
    .insertInto('chains')
    .values({ id, account_id: owner.accountId, resource_id: resourceId, name: '', description: '', status: 'available', head_point_id: id, created_at: createdAt, deleted_at: null, purge_after: null, origin })
    .execute();
  await one.meta.db
    .insertInto('points')
    .values({ id, chain_id: id, account_id: owner.accountId, resource_id: resourceId, parent_id: null, type: 'full', name: '', description: '', status: 'available', snapshot_at: createdAt, logical_size: 0, stored_bytes: 0, job_id: null, created_at: createdAt, committed_at: createdAt, deleted_at: null, purge_after: null })
    .execute();
  return id;
}

/** Tests share the database, and runDue serves every account's tasks: each counts its own task's runs. */
const runsOf = async (taskId: string) => (await one.meta.db.selectFrom('backup_runs').select('id').where('task_id', '=', taskId).execute()).length;
const backupJobs = (resourceId: string) => one.meta.db.selectFrom('jobs').selectAll().where('resource_id', '=', resourceId).where('action', '=', 'backup').orderBy('created_at').execute();
const dailyAt = (time: string, timezone = 'Europe/Berlin') => ({ name: `daily ${time}`, schedule: { kind: 'daily' as const, times: [time] }, timezone });

test('a due run is created exactly once by two servers racing, and the next run moves to the next day (across the spring gap)', async () => {
  now = new Date('2026-03-28T12:00:00.000Z');
  const owner = await account();
  const vol = await volume(owner);
  const policy = await one.services.policies.create(owner, dailyAt('02:30'));
  const task = await one.services.tasks.create(owner, { name: 'nightly', policy_id: policy.id, resource_ids: [vol] });
  // 29 March 2026 has no 02:30 in Berlin: the first minute after the gap.
  assert.equal(task.next_run_at, '2026-03-29T01:00:00.000Z');

  now = new Date('2026-03-29T01:00:05.000Z');
  await Promise.all([one.services.scheduler.runDue(), two.services.scheduler.runDue(), one.services.scheduler.runDue()]);
  assert.equal(await runsOf(task.id), 1, 'one run in all');
  assert.equal((await backupJobs(vol)).length, 1, 'one backup job');
  const after = await one.services.tasks.get(owner, task.id);
  assert.equal(after.run_count, 1);
  assert.equal(after.next_run_at, '2026-03-30T00:30:00.000Z');
  assert.equal(after.last_result, 'running');
  const [job] = await backupJobs(vol);
  assert.equal(JSON.parse(job!.params).task_id, task.id, 'the job says which task asked for it');
});

test('runs missed while every server was down: one run on return, and a resource being backed up is not backed up again', async () => {
  now = new Date('2026-04-01T00:00:00.000Z');
  const owner = await account();
  const vol = await volume(owner);
  const policy = await one.services.policies.create(owner, { name: 'hourly', schedule: { kind: 'hourly', every_hours: 1 } });
  const task = await one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [vol] });
  assert.equal(task.next_run_at, '2026-04-01T01:00:00.000Z');

  // Ten days of hourly runs missed.
  now = new Date('2026-04-11T00:30:00.000Z');
  await one.services.scheduler.runDue();
  await two.services.scheduler.runDue();
  assert.equal(await runsOf(task.id), 1);
  await one.services.scheduler.runDue();
  await two.services.scheduler.runDue();
  assert.equal(await runsOf(task.id), 1, 'no catch-up storm');
  assert.equal((await one.services.tasks.get(owner, task.id)).next_run_at, '2026-04-11T01:00:00.000Z', 'counted from now');

  // The next hour comes while the first backup still waits for its agent.
  now = new Date('2026-04-11T01:00:00.000Z');
  await one.services.scheduler.runDue();
  assert.equal(await runsOf(task.id), 2);
  assert.equal((await backupJobs(vol)).length, 1, 'still one job');
  await one.services.scheduler.settleRuns();
  const runs = (await one.services.tasks.runs(owner, task.id, { offset: 0, limit: 10 })).items;
  assert.equal(runs.length, 2);
  assert.equal(runs[0]!.items[0]!.status, 'skipped');
  assert.equal(runs[0]!.status, 'failed', 'a run that backed nothing up failed');
  assert.equal(runs[1]!.status, 'running');
});

test('a disabled task does not run; enabling counts from now', async () => {
  now = new Date('2026-05-01T00:00:00.000Z');
  const owner = await account();
  const vol = await volume(owner);
  const policy = await one.services.policies.create(owner, dailyAt('03:00', 'UTC'));
  const task = await one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [vol], enabled: false });
  assert.equal(task.next_run_at, null);
  now = new Date('2026-05-03T00:00:00.000Z');
  await one.services.scheduler.runDue();
  assert.equal(await runsOf(task.id), 0);
  const enabled = await one.services.tasks.update(owner, task.id, { enabled: true });
  assert.equal(enabled.next_run_at, '2026-05-03T03:00:00.000Z');
});

test('retention after a successful run: the oldest automatic chains beyond N go to the recycle bin, manual ones stay, a shared one goes with an event for its recipient', async () => {
  now = new Date('2026-06-01T00:00:00.000Z');
  const owner = await account();
  const friend = await account();
  const vol = await volume(owner);
  const auto1 = await chain(owner, vol, 'automatic', '2026-05-01T00:00:00.000Z');
  const manual = await chain(owner, vol, 'manual', '2026-05-02T00:00:00.000Z');
  const auto2 = await chain(owner, vol, 'automatic', '2026-05-03T00:00:00.000Z');
  const auto3 = await chain(owner, vol, 'automatic', '2026-05-04T00:00:00.000Z');
  await one.services.shares.share(owner, auto1, { recipients: [friend.email] });
  const policy = await one.services.policies.create(owner, dailyAt('01:00', 'UTC'));
  const task = await one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [vol], keep_chains: 2 });

  now = new Date('2026-06-01T01:00:00.000Z');
  await one.services.scheduler.runDue();
  assert.equal(await runsOf(task.id), 1);
  await one.services.scheduler.settleRuns();
  assert.equal((await one.services.tasks.runs(owner, task.id, { offset: 0, limit: 1 })).items[0]!.status, 'running', 'a run settles only when its jobs end');
  const [job] = await backupJobs(vol);
  // The agent's backup made the newest automatic chain.
  const auto4 = await chain(owner, vol, 'automatic', '2026-06-01T01:00:10.000Z');
  await one.services.jobs.succeed(job!.id);
  await Promise.all([one.services.scheduler.settleRuns(), two.services.scheduler.settleRuns()]);
  assert.equal((await one.services.tasks.runs(owner, task.id, { offset: 0, limit: 1 })).items[0]!.status, 'successful');

  const status = async (id: string) => (await one.meta.db.selectFrom('chains').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;
  assert.equal(await status(auto1), 'deleted');
  assert.equal(await status(auto2), 'deleted');
  assert.equal(await status(auto3), 'available');
  assert.equal(await status(auto4), 'available');
  assert.equal(await status(manual), 'available', 'manual chains are never trimmed');
  const friendEvents = await one.meta.db.selectFrom('events').selectAll().where('recipient_id', '=', friend.accountId).where('type', '=', 'chain.deleted').execute();
  assert.equal(friendEvents.length, 1, 'the recipient of the shared chain is told');
  const t = await one.services.tasks.get(owner, task.id);
  assert.equal(t.last_result, 'successful');
});

test('bad input: a clear 4xx and nothing stored', async () => {
  const owner = await account();
  const stranger = await account();
  const theirs = await volume(stranger);
  const mine = await volume(owner);
  const policy = await one.services.policies.create(owner, dailyAt('02:00'));
  const rejects = async (p: Promise<unknown>, status: number, field?: string) =>
    assert.rejects(p, (e: unknown) => e instanceof CairnError && e.status === status && (field === undefined || e.field === field));
  await rejects(one.services.policies.create(owner, { name: 'x', schedule: { kind: 'cron', expression: '0 0 30 2 *' } }), 400, 'schedule');
  await rejects(one.services.policies.create(owner, { name: 'x', schedule: { kind: 'daily', times: ['02:00'] }, timezone: 'Nowhere/Atlantis' }), 400, 'timezone');
  await rejects(one.services.policies.create(owner, { name: 'x', schedule: { kind: 'hourly', every_hours: 0 } }), 400, 'schedule.every_hours');
  await rejects(one.services.policies.create(owner, { name: 'x', schedule: { kind: 'daily', times: ['02:00'] }, webhooks: ['ftp://example.com/hook'] }), 400, 'webhooks.0');
  await rejects(one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [mine, theirs] }), 404);
  await rejects(one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [mine], keep_chains: 0 }), 400, 'keep_chains');
  await rejects(one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [mine], keep_chains: 101 }), 400, 'keep_chains');
  await rejects(one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [mine], chain_length: 31 }), 400, 'chain_length');
  const strangersPolicy = await one.services.policies.create(stranger, dailyAt('02:00'));
  await rejects(one.services.tasks.create(owner, { name: 't', policy_id: strangersPolicy.id, resource_ids: [mine] }), 404);
  assert.equal((await one.services.policies.list(owner, { offset: 0, limit: 10 })).total_count, 1);
  assert.equal((await one.services.tasks.list(owner, { offset: 0, limit: 10 })).total_count, 0);
  // A policy in use is not deleted from under its tasks.
  await one.services.tasks.create(owner, { name: 't', policy_id: policy.id, resource_ids: [mine] });
  await rejects(one.services.policies.delete(owner, policy.id), 409);
});
