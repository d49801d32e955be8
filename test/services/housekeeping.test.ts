import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openMetadataStore, type MetadataStore } from '../../src/db/connect.js';
import { Housekeeping, type HousekeepingLog, type HousekeepingTask } from '../../src/services/housekeeping.js';
import { RowLease } from '../../src/services/lease.js';
import { until } from '../helpers/cli.js';
import { testDatabaseUrl, type TestDatabase } from '../helpers/db.js';

// The lease rule and the loop on it, with two "servers" as two connections to one database.

let database: TestDatabase;
let one: MetadataStore;
let two: MetadataStore;

before(async () => {
  database = await testDatabaseUrl();
  one = await openMetadataStore(database.url);
  two = await openMetadataStore(database.url);
});
after(async () => {
  await two?.close();
  await one?.close();
  await database?.drop();
});

let n = 0;
const leaseOf = (meta: MetadataStore, holder: string, name: string, ttlMs = 60_000) => new RowLease(meta.db, meta.engine, name, holder, ttlMs);
const fresh = () => `test-${++n}`;

/** Moves a lease's expiry into the past on the database's clock, as if its holder had stopped renewing long ago. */
async function expire(name: string): Promise<void> {
  await one.db.updateTable('leases').set((eb) => ({ expires_at: eb('expires_at', '-', 3_600_000) })).where('name', '=', name).execute();
}

const holderOf = async (name: string) => (await one.db.selectFrom('leases').select('holder').where('name', '=', name).executeTakeFirst())?.holder;

test('a lease: the first taker holds it, a second is refused, the holder renews', async () => {
  const name = fresh();
  const a = leaseOf(one, 'a', name);
  const b = leaseOf(two, 'b', name);
  assert.equal(await a.hold(), true);
  assert.equal(a.held(), true);
  assert.equal(await b.hold(), false);
  assert.equal(b.held(), false);
  const before = (await one.db.selectFrom('leases').select('expires_at').where('name', '=', name).executeTakeFirstOrThrow()).expires_at;
  await until('the database clock to move on', async () => (await a.hold()) && (await one.db.selectFrom('leases').select('expires_at').where('name', '=', name).executeTakeFirstOrThrow()).expires_at > before);
  assert.equal(await b.hold(), false, 'a renewed lease is still refused to others');
  assert.equal(await holderOf(name), 'a');
});

test('a lease that expired is taken over, and its old holder can no longer renew it', async () => {
  const name = fresh();
  const a = leaseOf(one, 'a', name);
  const b = leaseOf(two, 'b', name);
  assert.equal(await a.hold(), true);
  await expire(name);
  assert.equal(await b.hold(), true, 'an expired lease goes to whoever asks');
  assert.equal(await holderOf(name), 'b');
  assert.equal(await a.hold(), false, 'the old holder lost it');
  assert.equal(a.held(), false);
  assert.equal(await b.hold(), true);
});

test('two servers racing for a free lease: exactly one wins', async () => {
  const name = fresh();
  const leases = Array.from({ length: 8 }, (_, i) => leaseOf(i % 2 ? two : one, `racer-${i}`, name));
  const won = await Promise.all(leases.map((l) => l.hold()));
  assert.equal(won.filter(Boolean).length, 1, `winners: ${won.join(', ')}`);
  assert.equal(await holderOf(name), `racer-${won.indexOf(true)}`);
});

test('a holder that stops renewing stops believing it holds the lease, by its own clock', async () => {
  const a = leaseOf(one, 'a', fresh(), 200);
  assert.equal(await a.hold(), true);
  await until('the unrenewed lease to run out locally', async () => !a.held(), 30_000, 20);
});

test('a released lease is free at once', async () => {
  const name = fresh();
  const a = leaseOf(one, 'a', name);
  const b = leaseOf(two, 'b', name);
  assert.equal(await a.hold(), true);
  await a.release();
  assert.equal(a.held(), false);
  assert.equal(await b.hold(), true);
});

const quiet: HousekeepingLog = { info() {}, error(obj, msg) { throw new Error(`${msg}: ${JSON.stringify(obj)}`); } };

function loop(meta: MetadataStore, lease: RowLease, tasks: HousekeepingTask[], roundMs = 3_600_000): Housekeeping {
  return new Housekeeping(meta.db, meta.engine, lease, tasks, quiet, roundMs);
}

test('housekeeping: only the lease holder runs the tasks; a periodic task runs once per interval across servers', async () => {
  const name = fresh();
  const ran: string[] = [];
  const tasks = (server: string): HousekeepingTask[] => [
    { name: `${name}-every-round`, run: async () => void ran.push(`${server}:every-round`) },
    { name: `${name}-hourly`, everyMs: 3_600_000, run: async () => void ran.push(`${server}:hourly`) },
  ];
  const a = loop(one, leaseOf(one, 'a', name), tasks('a'));
  const b = loop(two, leaseOf(two, 'b', name), tasks('b'));
  await a.start();
  await b.start();
  assert.deepEqual(ran, ['a:every-round'], 'the periodic task starts its interval when first seen; b does not hold the lease');
  await a.stop();
  assert.equal(await holderOf(name), undefined, 'stopping gives the lease up');

  // An hour has passed on the shared schedule: the next holder runs it, once.
  await one.db.updateTable('housekeeping_runs').set((eb) => ({ last_run_at: eb('last_run_at', '-', 3_600_000) })).where('task', '=', `${name}-hourly`).execute();
  ran.length = 0;
  const b2 = loop(two, leaseOf(two, 'b', name), tasks('b'));
  await b2.start();
  const a2 = loop(one, leaseOf(one, 'a', name), tasks('a'));
  await a2.start();
  assert.deepEqual(ran, ['b:every-round', 'b:hourly']);
  await Promise.all([b.stop(), b2.stop(), a2.stop()]);
});

test('housekeeping: a holder that lost its lease during a task starts no other task', async () => {
  const name = fresh();
  const ran: string[] = [];
  const leaseA = leaseOf(one, 'a', name, 200);
  const taken = leaseOf(two, 'b', name);
  const a = loop(one, leaseA, [
    {
      name: 'long',
      async run() {
        ran.push('long');
        // Stalled past the lease (the renewal round is an hour away here): another server takes over meanwhile.
        await until('the lease to lapse', async () => !leaseA.held(), 30_000, 20);
        await until('another server to take the lease', () => taken.hold(), 30_000, 50);
      },
    },
    { name: 'next', run: async () => void ran.push('next') },
  ]);
  await a.start();
  assert.deepEqual(ran, ['long']);
  assert.equal(await holderOf(name), 'b');
  await a.stop();
  assert.equal(await holderOf(name), 'b', 'the old holder does not give away what is no longer its own');
  await taken.release();
});

test('housekeeping: a long task holds up neither the renewals nor the other tasks, and is not started twice', async () => {
  const name = fresh();
  let slowStarts = 0;
  let quickRuns = 0;
  const lease = leaseOf(one, 'a', name, 60_000);
  const a = loop(
    one,
    lease,
    [
      {
        name: 'slow',
        async run() {
          slowStarts++;
          // Under way across many rounds (20 ms apart), as a large collection is.
          await until('later rounds to run the quick task', async () => quickRuns >= 3, 30_000, 10);
        },
      },
      { name: 'quick', run: async () => void quickRuns++ },
    ],
    20,
  );
  await a.start();
  assert.equal(slowStarts, 1, 'rounds skip a task still under way');
  assert.ok(quickRuns >= 3);
  assert.equal(await holderOf(name), 'a');
  await a.stop();
  assert.equal(await holderOf(name), undefined);
});
