import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ShareTable } from '../../src/db/schema.js';
import type { Caller } from '../../src/domain/caller.js';
import { CairnError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { isoPlus, nowIso } from '../../src/domain/time.js';
import type { Access, Need } from '../../src/services/access.js';
import { insertAccount, openTestStore, type TestStore } from '../helpers/db.js';

// The rules Access centralises, on the engine of this run (`--engine sqlite|postgres`):
// owners may do all; live recipients read and use but never write; everyone else sees nothing.

let store: TestStore;
let access: Access;

const account = (isAdmin = false): Promise<Caller> => insertAccount(store.meta.db, { domain: 'access.test', isAdmin });

/** A volume with one chain of one full point (the chain's ID is its full point's), owned by `owner`. */
async function chainOf(owner: Caller): Promise<{ resourceId: string; chainId: string }> {
  const db = store.meta.db;
  const now = nowIso();
  const resourceId = newId('volume');
  const chainId = newId('point');
  await db.insertInto('resources').values({ id: resourceId, account_id: owner.accountId, kind: 'volume', name: 'disk', agent_id: null, created_at: now }).execute();
  await db.insertInto('chains').values({ id: chainId, account_id: owner.accountId, resource_id: resourceId, name: 'chain', description: '', status: 'available', head_point_id: chainId, created_at: now, deleted_at: null, purge_after: null, origin: 'manual' }).execute();
  await db
    .insertInto('points')
    .values({ id: chainId, chain_id: chainId, account_id: owner.accountId, resource_id: resourceId, parent_id: null, type: 'full', name: '', description: '', status: 'available', snapshot_at: now, logical_size: 0, stored_bytes: 0, job_id: null, created_at: now, committed_at: now, deleted_at: null, purge_after: null })
    .execute();
  return { resourceId, chainId };
}

async function share(chainId: string, owner: Caller, recipient: Caller, row: Partial<ShareTable> = {}): Promise<void> {
  await store.meta.db
    .insertInto('shares')
    .values({ chain_id: chainId, recipient_id: recipient.accountId, owner_id: owner.accountId, note: '', expires_at: null, status: 'active', created_at: nowIso(), ended_at: null, search_text: '', ...row })
    .execute();
}

async function statusOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof CairnError) return err.status;
    throw err;
  }
}

const NEEDS: Need[] = ['read', 'use', 'write'];

describe('Access', () => {
  let owner: Caller;
  let admin: Caller;
  let stranger: Caller;
  let live: Caller;
  let liveUntilLater: Caller;
  let expiredUnswept: Caller;
  let expired: Caller;
  let cancelled: Caller;
  let removed: Caller;
  let chainId: string;
  let resourceId: string;
  let otherChainId: string;

  before(async () => {
    store = await openTestStore();
    access = store.services.access;
    [owner, admin, stranger, live, liveUntilLater, expiredUnswept, expired, cancelled, removed] = await Promise.all([
      account(),
      account(true),
      account(),
      account(),
      account(),
      account(),
      account(),
      account(),
      account(),
    ]);
    ({ chainId, resourceId } = await chainOf(owner));
    ({ chainId: otherChainId } = await chainOf(owner));
    const past = isoPlus(nowIso(), -60_000);
    await share(chainId, owner, live);
    await share(chainId, owner, liveUntilLater, { expires_at: isoPlus(nowIso(), 3600_000) });
    // Past its time but not yet marked by the sweep: it must grant nothing already.
    await share(chainId, owner, expiredUnswept, { expires_at: past });
    await share(chainId, owner, expired, { expires_at: past, status: 'expired', ended_at: past });
    await share(chainId, owner, cancelled, { status: 'cancelled', ended_at: past });
    await share(chainId, owner, removed, { status: 'removed', ended_at: past });
    // A share of the other chain says nothing about this one.
    await share(otherChainId, owner, stranger, { status: 'cancelled', ended_at: past });
  });
  after(async () => {
    await store?.close();
  });

  test('the owner may read, use and write its chain and its points, as owner', async () => {
    for (const need of NEEDS) {
      const c = await access.chain(owner, chainId, need);
      assert.equal(c.relation, 'owner');
      assert.equal(c.chain.id, chainId);
      const p = await access.point(owner, chainId, need);
      assert.deepEqual([p.relation, p.point.id, p.chain.id], ['owner', chainId, chainId]);
    }
  });

  test('a live recipient may read and use, as recipient, and gets 403 naming the read-only share for write', async () => {
    for (const who of [live, liveUntilLater]) {
      for (const need of ['read', 'use'] as const) {
        assert.equal((await access.chain(who, chainId, need)).relation, 'recipient');
        const p = await access.point(who, chainId, need);
        assert.deepEqual([p.relation, p.chain.account_id], ['recipient', owner.accountId]);
      }
      // Each attempt starts only when it is awaited: made together, the second could reject while the
      // first is awaited, with no handler yet, and fail the test as an unhandled rejection (seen on PostgreSQL).
      for (const attempt of [() => access.chain(who, chainId, 'write'), () => access.point(who, chainId, 'write')]) {
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(err instanceof CairnError);
          assert.equal(err.status, 403);
          assert.equal(err.code, 'forbidden');
          assert.match(err.message, new RegExp(`${chainId} is shared with you read-only`));
          return true;
        });
      }
    }
  });

  test('expired (swept or not), cancelled and removed shares, strangers and admins get 404 for every need', async () => {
    for (const who of [expiredUnswept, expired, cancelled, removed, stranger, admin]) {
      for (const need of NEEDS) {
        await assert.rejects(access.chain(who, chainId, need), (err: unknown) => err instanceof CairnError && err.status === 404 && err.message === `Backup chain ${chainId} was not found.`);
        await assert.rejects(access.point(who, chainId, need), (err: unknown) => err instanceof CairnError && err.status === 404 && err.message === `Backup point ${chainId} was not found.`);
      }
    }
  });

  test('a missing chain or point is 404 for its owner too; a row checked by the caller is decided the same way', async () => {
    const missing = newId('point');
    assert.equal(await statusOf(access.chain(owner, missing, 'read')), 404);
    assert.equal(await statusOf(access.point(owner, missing, 'read')), 404);
    assert.equal(await statusOf(access.decideChain(owner, missing, 'read', undefined)), 404);
    const row = await store.meta.db.selectFrom('chains').selectAll().where('id', '=', chainId).executeTakeFirstOrThrow();
    assert.equal((await access.decideChain(live, chainId, 'read', row)).relation, 'recipient');
    assert.equal(await statusOf(access.decideChain(live, chainId, 'write', row)), 403);
    assert.equal(await statusOf(access.decideChain(cancelled, chainId, 'read', row)), 404);
    // A row of another chain does not stand for the ID asked about.
    assert.equal(await statusOf(access.decideChain(owner, otherChainId, 'read', row)), 404);
  });

  test('over a set of chain IDs: each caller gets exactly the chains it may use for the need', async () => {
    const missing = newId('point');
    const ids = new Set([chainId, otherChainId, missing]);
    for (const need of NEEDS) assert.deepEqual(await access.chains(owner, ids, need), new Set([chainId, otherChainId]));
    for (const who of [live, liveUntilLater]) {
      assert.deepEqual(await access.chains(who, ids, 'read'), new Set([chainId]));
      assert.deepEqual(await access.chains(who, ids, 'use'), new Set([chainId]));
      assert.deepEqual(await access.chains(who, ids, 'write'), new Set());
    }
    for (const who of [expiredUnswept, expired, cancelled, removed, stranger, admin])
      for (const need of NEEDS) assert.deepEqual(await access.chains(who, ids, need), new Set(), `${who.accountId} ${need}`);
    assert.deepEqual(await access.chains(owner, new Set(), 'read'), new Set());
  });

  test('resources are never shared: only the owner has them, one at a time or as a set', async () => {
    const missing = newId('volume');
    for (const need of NEEDS) {
      assert.equal((await access.resource(owner, resourceId, need)).id, resourceId);
      assert.deepEqual(await access.resources(owner, new Set([resourceId, missing]), need), new Set([resourceId]));
      for (const who of [live, stranger, admin]) {
        assert.equal(await statusOf(access.resource(who, resourceId, need)), 404);
        assert.deepEqual(await access.resources(who, new Set([resourceId, missing]), need), new Set());
      }
    }
  });

  test('accounts: an admin sees any account, others only their own', async () => {
    assert.equal((await access.account(admin, owner.accountId)).id, owner.accountId);
    assert.equal((await access.account(owner, owner.accountId)).id, owner.accountId);
    assert.equal(await statusOf(access.account(stranger, owner.accountId)), 404);
    assert.doesNotThrow(() => access.requireAdmin(admin));
    assert.throws(() => access.requireAdmin(stranger), (err: unknown) => err instanceof CairnError && err.status === 403);
  });
});
