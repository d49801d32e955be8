import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { openMetadataStore } from '../../src/db/connect.js';
import pg from 'pg';
import { adminPgUrl, openTestStore, testDatabaseUrl, testEngine, type TestDatabase } from '../helpers/db.js';
import { api, expectStatus, newAccount } from '../helpers/http.js';
import { startServer } from '../helpers/server.js';

const engine = testEngine();

async function migrationNames(url: string): Promise<string[]> {
  const meta = await openMetadataStore(url);
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(meta.db);
    return rows.map((r) => r.name);
  } finally {
    await meta.close();
  }
}

let database: TestDatabase;
before(async () => {
  database = await testDatabaseUrl();
});
after(async () => {
  await database?.drop();
});

test(`the metadata store opens on ${engine}`, async () => {
  const store = await openTestStore({ database });
  try {
    assert.equal(store.meta.engine, engine);
  } finally {
    await store.close();
  }
});

test('migrations run twice: the second run changes nothing and keeps the data', async () => {
  const first = await openTestStore({ database });
  const now = new Date().toISOString();
  try {
    await first.meta.db
      .insertInto('accounts')
      .values({ id: 'usr-migrate1', email: 'migrate@example.test', password_hash: 'x', parent_id: null, is_admin: 0, status: 'active', language: 'en', timezone: 'UTC', created_at: now })
      .execute();
  } finally {
    await first.close();
  }
  const before = await migrationNames(database.url);
  assert.ok(before.length >= 1, 'migrations were recorded');
  assert.equal(new Set(before).size, before.length, 'each migration is recorded once');

  const second = await openTestStore({ database });
  try {
    const row = await second.meta.db.selectFrom('accounts').selectAll().where('id', '=', 'usr-migrate1').executeTakeFirst();
    assert.equal(row?.email, 'migrate@example.test');
  } finally {
    await second.close();
  }
  assert.deepEqual(await migrationNames(database.url), before);
});

test('64-bit sizes and 0/1 flags read back as numbers on both engines', async () => {
  const store = await openTestStore({ database });
  try {
    const big = 64 * 2 ** 40; // the largest disk: past 32 bits, within 2^53
    const now = new Date().toISOString();
    await store.meta.db
      .insertInto('resources')
      .values({ id: 'vol-bigsize1', account_id: 'usr-migrate1', kind: 'volume', name: 'big', agent_id: null, created_at: now })
      .execute();
    await store.meta.db.insertInto('disks').values({ resource_id: 'vol-bigsize1', position: 0, name: 'd', size: big }).execute();
    const disk = await store.meta.db.selectFrom('disks').selectAll().where('resource_id', '=', 'vol-bigsize1').executeTakeFirstOrThrow();
    assert.equal(disk.size, big);
    assert.equal(typeof disk.size, 'number');
    const account = await store.meta.db.selectFrom('accounts').select('is_admin').where('id', '=', 'usr-migrate1').executeTakeFirstOrThrow();
    assert.equal(account.is_admin, 0);
  } finally {
    await store.close();
  }
});

test('two servers starting at once on one fresh database both migrate and serve', async () => {
  const fresh = await testDatabaseUrl();
  const servers = await Promise.allSettled([startServer({ database: fresh }), startServer({ database: fresh })]);
  try {
    for (const s of servers) {
      assert.equal(s.status, 'fulfilled', s.status === 'rejected' ? String(s.reason) : '');
      if (s.status === 'fulfilled') expectStatus(await api(s.value.url).get('/health'), 200);
    }
    assert.deepEqual(await migrationNames(fresh.url), await migrationNames(database.url));
  } finally {
    for (const s of servers) if (s.status === 'fulfilled') await s.value.stop();
    await fresh.drop();
  }
});

test(
  'the server outlives its PostgreSQL connections being cut (restart, failover, pg_terminate_backend)',
  {
    skip: engine !== 'postgres' && 'PostgreSQL only',
  },
  async () => {
    const server = await startServer();
    try {
      const account = await newAccount(server.url);
      const admin = new pg.Client({ connectionString: adminPgUrl() });
      await admin.connect();
      try {
        const name = new URL(server.database.url).pathname.slice(1);
        const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
        assert.ok(rowCount && rowCount > 0, 'the server had connections to cut');
      } finally {
        await admin.end();
      }
      const died = await Promise.race([server.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
      assert.equal(died, false, `the server exited:\n${server.output()}`);
      expectStatus(await account.api.get('/account'), 200, 'the pool reconnects');
    } finally {
      await server.stop().catch(() => {});
    }
  },
);
