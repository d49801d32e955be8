import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_DISK_SIZE } from '../../src/domain/rules.js';
import { MAX_ATTEMPTS } from '../../src/services/jobs.js';
import { openTestStore, testDatabaseUrl } from '../helpers/db.js';
import { api, expectError, expectStatus, newAccount, newVolume, type TestAccount } from '../helpers/http.js';
import { startInProcessServer, startServer, type InProcessServer, type TestServer } from '../helpers/server.js';

let server: InProcessServer;
let alice: TestAccount;
let bob: TestAccount;

before(async () => {
  server = await startInProcessServer();
  [alice, bob] = await Promise.all([newAccount(server.url, { tag: 'alice' }), newAccount(server.url, { tag: 'bob' })]);
});
after(async () => {
  await server?.stop();
});

const disk = (name: string, size = 1 << 30) => ({ name, size });

test('a volume is one system disk; an instance a system disk and data disks, in the order given', async () => {
  const v = expectStatus(await alice.api.post('/resources', { kind: 'volume', name: ' data vol ', disks: [disk('vda', 10 << 20)] }), 201).resource;
  assert.match(v.id, /^vol-[a-z0-9]{8}$/);
  assert.equal(v.kind, 'volume');
  assert.equal(v.name, 'data vol', 'names are trimmed');
  assert.deepEqual(v.disks, [{ name: 'vda', size: 10 << 20, role: 'system' }]);
  assert.equal(v.agent_id, null);
  assert.ok(!Number.isNaN(Date.parse(v.created_at)));

  const i = expectStatus(
    await alice.api.post('/resources', { kind: 'instance', name: 'web', disks: [disk('root'), disk('logs', 5), disk('db', MAX_DISK_SIZE)] }),
    201,
  ).resource;
  assert.match(i.id, /^i-[a-z0-9]{8}$/);
  assert.deepEqual(
    i.disks.map((d: { name: string; role: string; size: number }) => [d.name, d.role, d.size]),
    [['root', 'system', 1 << 30], ['logs', 'data', 5], ['db', 'data', MAX_DISK_SIZE]],
  );
  assert.deepEqual(expectStatus(await alice.api.get(`/resources/${i.id}`), 200).resource, i, 'show returns what create returned');
  const single = expectStatus(await alice.api.post('/resources', { kind: 'instance', name: 'tiny', disks: [disk('root')] }), 201).resource;
  assert.equal(single.disks.length, 1);
});

test('disk rules: a volume has exactly one disk, names differ, sizes are 1 byte to 64 TiB, at most 16 disks', async () => {
  const before = expectStatus(await alice.api.get('/resources'), 200).total_count;
  const bad: [string, unknown[], string, string | RegExp][] = [
    ['volume', [], 'no disks', /disks/],
    ['volume', [disk('a'), disk('b')], 'a volume with two disks', 'disks'],
    ['instance', [], 'an instance with no disks', /disks/],
    ['instance', Array.from({ length: 17 }, (_, n) => disk(`d${n}`)), '17 disks', /disks/],
    ['instance', [disk('a'), disk('a')], 'two disks named alike', 'disks[1].name'],
    ['instance', [disk('a'), disk(' a ')], 'names alike once trimmed', 'disks[1].name'],
    ['instance', [disk('a'), disk('  ')], 'a blank disk name', 'disks[1].name'],
    ['volume', [disk('a', 0)], 'size 0', /disks\.0\.size/],
    ['volume', [disk('a', MAX_DISK_SIZE + 1)], 'over 64 TiB', /disks\.0\.size/],
    ['volume', [disk('a', 2 ** 53)], 'past 2^53', /disks\.0\.size/],
  ];
  for (const [kind, disks, what, field] of bad) {
    const error = expectError(await alice.api.post('/resources', { kind, name: 'bad', disks }), 400, 'bad_request', what);
    if (typeof field === 'string') assert.equal(error.field, field, what);
    else assert.match(`${error.field ?? ''} ${error.message}`, field, what);
  }
  const sixteen = Array.from({ length: 16 }, (_, n) => disk(`d${n}`, n + 1));
  expectStatus(await alice.api.post('/resources', { kind: 'instance', name: 'max', disks: sixteen }), 201, '16 disks are allowed');
  assert.equal(expectStatus(await alice.api.get('/resources'), 200).total_count, before + 1, 'refused resources were not created');
});

test('list, filter, show, rename and delete', async () => {
  const account = await newAccount(server.url, { tag: 'crud' });
  const a = await newVolume(account.api, 'alpha');
  const b = await newVolume(account.api, 'beta');
  const c = expectStatus(await account.api.post('/resources', { kind: 'instance', name: 'Gamma', disks: [disk('root')] }), 201).resource.id;

  const all = expectStatus(await account.api.get('/resources'), 200);
  assert.equal(all.total_count, 3);
  assert.deepEqual(new Set(all.items.map((r: { id: string }) => r.id)), new Set([a, b, c]));
  const instances = expectStatus(await account.api.get('/resources', { kind: 'instance' }), 200);
  assert.deepEqual(instances.items.map((r: { id: string }) => r.id), [c]);
  assert.equal(instances.total_count, 1);
  assert.deepEqual(expectStatus(await account.api.get('/resources', { search: 'gAm' }), 200).items.map((r: { id: string }) => r.id), [c]);
  assert.deepEqual(expectStatus(await account.api.get('/resources', { search: a }), 200).items.map((r: { id: string }) => r.id), [a], 'search by ID');
  const paged = expectStatus(await account.api.get('/resources', { limit: 2, offset: 2 }), 200);
  assert.equal(paged.total_count, 3);
  assert.equal(paged.items.length, 1);

  const renamed = expectStatus(await account.api.patch(`/resources/${a}`, { name: '  alpha 2 ' }), 200).resource;
  assert.equal(renamed.name, 'alpha 2');
  assert.equal(renamed.disks.length, 1, 'a rename keeps the disks');
  assert.equal(expectStatus(await account.api.get(`/resources/${a}`), 200).resource.name, 'alpha 2');

  expectStatus(await account.api.delete(`/resources/${b}`), 204);
  expectError(await account.api.get(`/resources/${b}`), 404, 'not_found');
  expectError(await account.api.delete(`/resources/${b}`), 404);
  expectError(await account.api.patch(`/resources/${b}`, { name: 'zombie' }), 404);
  assert.equal(expectStatus(await account.api.get('/resources'), 200).total_count, 2);
  const disksLeft = await server.services.meta.db.selectFrom('disks').select('resource_id').where('resource_id', '=', b).execute();
  assert.deepEqual(disksLeft, [], 'the disks of a deleted resource go with it');
});

test('search treats % and _ as plain characters', async () => {
  const account = await newAccount(server.url, { tag: 'like' });
  await newVolume(account.api, '100% done');
  await newVolume(account.api, '1000 done');
  const hits = expectStatus(await account.api.get('/resources', { search: '100%' }), 200);
  assert.deepEqual(hits.items.map((r: { name: string }) => r.name), ['100% done']);
  assert.equal(expectStatus(await account.api.get('/resources', { search: '_' }), 200).total_count, 0);
});

test('accounts are isolated: another account can neither see nor touch a resource, and may reuse its name', async () => {
  const mine = await newVolume(alice.api, 'shared name');
  const theirs = await newVolume(bob.api, 'shared name');
  expectError(await bob.api.get(`/resources/${mine}`), 404);
  expectError(await bob.api.patch(`/resources/${mine}`, { name: 'taken over' }), 404);
  expectError(await bob.api.delete(`/resources/${mine}`), 404);
  const bobs = expectStatus(await bob.api.get('/resources', { limit: 100 }), 200);
  assert.ok(!bobs.items.some((r: { id: string }) => r.id === mine));
  assert.ok(bobs.items.some((r: { id: string }) => r.id === theirs));
  assert.ok(!JSON.stringify(expectStatus(await bob.api.get('/resources', { search: mine }), 200)).includes(mine), 'not even by searching its ID');
  assert.equal(expectStatus(await alice.api.get(`/resources/${mine}`), 200).resource.name, 'shared name', 'unchanged');
});

test('jobs: each account lists and shows only its own, newest first, with filters', async () => {
  const jobs = server.services.jobs;
  const volume = await newVolume(alice.api, 'jobs vol');
  const made = [];
  for (const status of ['pending', 'working', 'pending'] as const) {
    made.push(await jobs.create({ accountId: alice.id, action: 'backup', runner: 'server', resourceId: volume, status, params: { full: true } }));
  }
  const other = await jobs.create({ accountId: alice.id, action: 'gc', runner: 'server' });
  const bobs = await jobs.create({ accountId: bob.id, action: 'backup', runner: 'server' });
  await jobs.progress(made[1]!.id, { bytesDone: 25, bytesTotal: 100 });
  await jobs.succeed(other.id, { removed: 3 });

  const list = expectStatus(await alice.api.get('/jobs', { limit: 100 }), 200);
  assert.equal(list.total_count, 4);
  const ids = list.items.map((j: { id: string }) => j.id);
  assert.deepEqual(new Set(ids), new Set([...made.map((j) => j.id), other.id]));
  assert.ok(!ids.includes(bobs.id));
  const times = list.items.map((j: { created_at: string }) => j.created_at);
  assert.deepEqual(times, [...times].sort().reverse(), 'newest first');

  const pending = expectStatus(await alice.api.get('/jobs', { status: 'pending' }), 200);
  assert.equal(pending.total_count, 2);
  assert.ok(pending.items.every((j: { status: string }) => j.status === 'pending'));
  assert.equal(expectStatus(await alice.api.get('/jobs', { resource_id: volume }), 200).total_count, 3);
  assert.equal(expectStatus(await alice.api.get('/jobs', { resource_id: volume, status: 'working' }), 200).total_count, 1);
  assert.equal(expectStatus(await bob.api.get('/jobs', { resource_id: volume }), 200).total_count, 0);

  const working = expectStatus(await alice.api.get(`/jobs/${made[1]!.id}`), 200).job;
  assert.equal(working.status, 'working');
  assert.equal(working.progress, 25);
  assert.equal(working.bytes_done, 25);
  assert.equal(working.resource_id, volume);
  assert.equal(working.runner, 'server');
  assert.ok(!('params' in working) && !('lease_until' in working), 'internal fields stay inside');
  const done = expectStatus(await alice.api.get(`/jobs/${other.id}`), 200).job;
  assert.equal(done.status, 'successful');
  assert.equal(done.progress, 100);
  assert.deepEqual(done.result, { removed: 3 });
  assert.equal(done.bytes_done, done.bytes_total, 'a finished job has done all its bytes');
  assert.ok(done.finished_at);

  expectError(await bob.api.get(`/jobs/${made[0]!.id}`), 404, 'not_found');
  expectError(await alice.api.get(`/jobs/${bobs.id}`), 404);
});

test('after a crash and restart, jobs left working are settled: server jobs retried, agent and client jobs failed with a reason', async () => {
  const database = await testDatabaseUrl();
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-test-restart-'));
  let first: TestServer | undefined;
  let second: TestServer | undefined;
  try {
    first = await startServer({ database, dataDir });
    const owner = await newAccount(first.url, { tag: 'restart' });
    const volume = await newVolume(owner.api, 'restart vol');
    // The crash: no shutdown code runs, as with a power cut or the OOM killer.
    const crash = await first.kill('SIGKILL');
    assert.equal(crash.signal, 'SIGKILL');

    // The rows as the crashed process left them, its leases since run out.
    const store = await openTestStore({ database });
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    const ids: Record<string, string> = {};
    try {
      const jobs = store.services.jobs;
      const make = async (name: string, runner: string, status: 'pending' | 'working' | 'successful', set: { attempts?: number; lease_until?: string | null; created_at?: string } = {}) => {
        const job = await jobs.create({ accountId: owner.id, action: 'backup', runner, resourceId: volume, status: status === 'successful' ? 'working' : status });
        if (status === 'successful') await jobs.succeed(job.id);
        if (Object.keys(set).length) await store.meta.db.updateTable('jobs').set(set).where('id', '=', job.id).execute();
        ids[name] = job.id;
      };
      await make('server', 'server', 'working', { lease_until: ago(30_000) });
      await make('serverSpent', 'server', 'working', { lease_until: ago(30_000), attempts: MAX_ATTEMPTS });
      await make('client', 'client', 'working', { lease_until: ago(30_000) });
      await make('agent', 'agt-restart1', 'working', { lease_until: ago(30_000) });
      await make('leased', 'server', 'working', { lease_until: new Date(Date.now() + 600_000).toISOString() });
      await make('agentOffline', 'agt-restart1', 'pending', { created_at: ago(2 * 3600_000) });
      await make('queued', 'server', 'pending');
      await make('done', 'server', 'successful');
      // Its housekeeping lease likewise: a restarted server takes it at start and recovers before it listens.
      await store.meta.db.updateTable('leases').set((eb) => ({ expires_at: eb('expires_at', '-', 3_600_000) })).where('name', '=', 'housekeeping').execute();
    } finally {
      await store.close();
    }

    second = await startServer({ database, dataDir });
    // Recovery runs before the server listens: no polling, the state is final now.
    const jobsOn = api(second.url).as(owner.token);
    const get = async (name: string) => expectStatus(await jobsOn.get(`/jobs/${ids[name]}`), 200, name).job;

    const server1 = await get('server');
    assert.equal(server1.status, 'pending', 'a server job is retried');
    assert.equal(server1.error, null);
    const spent = await get('serverSpent');
    assert.equal(spent.status, 'failed', `a server job out of attempts fails: ${JSON.stringify(spent)}`);
    assert.match(spent.error, new RegExp(`${MAX_ATTEMPTS} times`));
    const client = await get('client');
    assert.equal(client.status, 'failed');
    assert.match(client.error, /client/i);
    assert.ok(client.finished_at);
    const agent = await get('agent');
    assert.equal(agent.status, 'failed');
    assert.match(agent.error, /agt-restart1/);
    const offline = await get('agentOffline');
    assert.equal(offline.status, 'failed');
    assert.match(offline.error, /offline/);
    assert.equal((await get('leased')).status, 'working', 'a job whose lease still runs may be in another server\'s hands');
    assert.equal((await get('queued')).status, 'pending');
    assert.equal((await get('done')).status, 'successful');

    assert.equal(expectStatus(await jobsOn.get(`/resources/${volume}`), 200).resource.name, 'restart vol', 'data survived the crash');
  } finally {
    await second?.stop();
    await first?.stop();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
