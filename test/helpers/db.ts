import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openMetadataStore, type Db, type MetadataStore } from '../../src/db/connect.js';
import type { AccountView } from '../../src/contract/index.js';
import { DEFAULT_SETTINGS, createServices, type Services } from '../../src/services/index.js';
import { blobSlotPool } from '../../src/app.js';
import type { Caller } from '../../src/domain/caller.js';
import { newId } from '../../src/domain/ids.js';
import { EncryptingChunkStore } from '../../src/store/encrypting-store.js';
import type { MasterKeys } from '../../src/store/master-key.js';
import { LocalChunkStore } from '../../src/store/local-store.js';

export type Engine = 'sqlite' | 'postgres';

/** The engine this run tests against; `scripts/test.mjs` runs the whole suite once per engine. */
export function testEngine(): Engine {
  const value = (process.env.CAIRN_TEST_DB ?? 'sqlite').trim().toLowerCase();
  if (value !== 'sqlite' && value !== 'postgres') throw new Error(`CAIRN_TEST_DB must be "sqlite" or "postgres", not "${value}".`);
  return value;
}

/** A URL on a server where this user may CREATE and DROP databases. */
export function adminPgUrl(): string {
  return process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/**
 * Every database this run makes starts with this prefix, so that the runner can
 * drop whatever a killed test process could not (see scripts/test.mjs).
 */
export function pgNamePrefix(): string {
  const run = (process.env.CAIRN_TEST_RUN_ID ?? 'adhoc').toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16) || 'adhoc';
  return `cairn_test_${run}_`;
}

export interface TestDatabase {
  engine: Engine;
  /** What `--database` and `openMetadataStore` take. */
  url: string;
  /** Removes the database (PostgreSQL) or its folder (SQLite); safe to call twice. */
  drop(): Promise<void>;
}

async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminPgUrl(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database of the engine under test; nothing else ever uses it. */
export async function testDatabaseUrl(engine: Engine = testEngine()): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-test-db-'));
    let dropped = false;
    return {
      engine,
      url: join(dir, 'cairn.db'),
      async drop() {
        if (dropped) return;
        dropped = true;
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const name = pgNamePrefix() + randomBytes(6).toString('hex');
  await withAdminClient((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminPgUrl());
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    engine,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdminClient(async (c) => {
        // A pool resolves end() before its sockets are closed; terminating those half-closed
        // connections makes pg raise an 'error' that nobody listens to any more, in the
        // test process. So wait for them to go, and FORCE only what a killed server left.
        for (let i = 0; i < 50; i++) {
          const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
          if (rows[0]!.n === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      });
    },
  };
}

export interface TestStore {
  database: TestDatabase;
  meta: MetadataStore;
  services: Services;
  /** Closes the store, then drops the database if this store made it. */
  close(): Promise<void>;
}

/**
 * A migrated metadata store with the services on top, for service-level tests.
 * Given a database (or chunk folder) it only uses it, and the caller keeps
 * ownership; otherwise it makes one and removes it on close. Pass a server's
 * `<dataDir>/chunks` to see the chunks that server stores.
 */
export async function openTestStore(opts: { database?: TestDatabase; chunkDir?: string; openRegistration?: boolean; clock?: () => Date; masterKeys?: MasterKeys } = {}): Promise<TestStore> {
  const database = opts.database ?? (await testDatabaseUrl());
  let meta: MetadataStore;
  try {
    meta = await openMetadataStore(database.url);
  } catch (err) {
    if (!opts.database) await database.drop();
    throw err;
  }
  const chunkDir = opts.chunkDir ?? (await mkdtemp(join(tmpdir(), 'cairn-test-chunks-')));
  const slots = blobSlotPool();
  const chunks = opts.masterKeys ? new EncryptingChunkStore(new LocalChunkStore(chunkDir), opts.masterKeys, slots) : new LocalChunkStore(chunkDir);
  const services = createServices(meta, chunks, slots, { ...DEFAULT_SETTINGS, openRegistration: opts.openRegistration ?? true, masterKeys: opts.masterKeys ?? null }, undefined, opts.clock);
  let closed = false;
  return {
    database,
    meta,
    services,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await meta.close();
      } finally {
        if (!opts.chunkDir) await rm(chunkDir, { recursive: true, force: true });
        if (!opts.database) await database.drop();
      }
    },
  };
}

/** Runs `fn` with a fresh store and removes everything afterwards, whether `fn` passed or threw. */
export async function withMetadataStore<T>(fn: (store: TestStore) => Promise<T>, opts: { openRegistration?: boolean } = {}): Promise<T> {
  const store = await openTestStore(opts);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** What the API would resolve for this account, for calling services directly. */
export function callerFor(account: Pick<AccountView, 'id' | 'email' | 'is_admin' | 'parent_id'>): Caller {
  return { accountId: account.id, email: account.email, isAdmin: account.is_admin, parentId: account.parent_id, via: 'local' };
}

/**
 * An active account written straight into the database, with no password a sign-in
 * could use, for service tests that need callers fast: `<tag.>id@domain`.
 */
export async function insertAccount(db: Db, opts: { domain: string; tag?: string; isAdmin?: boolean; at?: string }): Promise<Caller> {
  const id = newId('account');
  const email = `${opts.tag ? `${opts.tag}.` : ''}${id}@${opts.domain}`;
  const isAdmin = opts.isAdmin ?? false;
  await db
    .insertInto('accounts')
    .values({ id, email, password_hash: 'scrypt$unused', parent_id: null, is_admin: isAdmin ? 1 : 0, status: 'active', language: 'en', timezone: 'UTC', created_at: opts.at ?? new Date().toISOString() })
    .execute();
  return { accountId: id, email, isAdmin, parentId: null, via: 'local' };
}

