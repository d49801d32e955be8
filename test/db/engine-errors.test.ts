// Engine errors are told apart by their codes, also when wrapped (a failed migration keeps its cause).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isSqliteBusy, isUniqueViolation } from '../../src/db/engine-errors.js';
import { withMetadataStore } from '../helpers/db.js';

test('a real SQLITE_BUSY is busy, bare and as the cause of another error; other errors are not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-busy-'));
  const holder = new Database(join(dir, 'x.db'));
  const waiter = new Database(join(dir, 'x.db'), { timeout: 0 });
  try {
    holder.exec('create table t (x integer)');
    holder.exec('begin immediate');
    let busy: unknown;
    try {
      waiter.exec('begin immediate');
    } catch (err) {
      busy = err;
    }
    assert.ok(busy, 'the second writer was refused');
    assert.equal(isSqliteBusy(busy), true);
    assert.equal(isSqliteBusy(new Error('Database migration 0007 failed: database is locked', { cause: busy })), true);
    assert.equal(isSqliteBusy(new Error('database is locked')), false, 'a message alone says nothing');
    let other: unknown;
    try {
      holder.exec('select * from missing_table');
    } catch (err) {
      other = err;
    }
    assert.equal(isSqliteBusy(other), false);
    assert.equal(isUniqueViolation(busy), false);
  } finally {
    holder.close();
    waiter.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real unique violation on this engine is one; another constraint is not', async () => {
  await withMetadataStore(async ({ meta }) => {
    const row = { name: 'unique-probe', holder: 'a', expires_at: 1 };
    await meta.db.insertInto('leases').values(row).execute();
    const again = await meta.db.insertInto('leases').values(row).execute().catch((err: unknown) => err);
    assert.equal(isUniqueViolation(again), true);
    const nulls = await meta.db
      .insertInto('leases')
      .values({ ...row, name: 'other', holder: null as unknown as string })
      .execute()
      .catch((err: unknown) => err);
    assert.ok(nulls instanceof Error);
    assert.equal(isUniqueViolation(nulls), false);
  });
});
