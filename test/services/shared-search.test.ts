// A recipient's search of Shared backups matches the chain's name and ID, its resource's ID and the
// owner's email, in any case (non-ASCII too, on both engines), and follows a chain's new name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Caller } from '../../src/domain/caller.js';
import { newId } from '../../src/domain/ids.js';
import { insertAccount, openTestStore, type TestStore } from '../helpers/db.js';

let store: TestStore;
let owner: Caller;
let recipient: Caller;
let other: Caller;
let resourceId: string;
const chains: Record<string, string> = {};
const T0 = '2026-01-01T00:00:00.000Z';

const account = (tag: string): Promise<Caller> => insertAccount(store.meta.db, { domain: 'search.test', tag, at: T0 });

async function chain(of: Caller, name: string): Promise<string> {
  const id = newId('point');
  const db = store.meta.db;
  await db.insertInto('chains').values({ id, account_id: of.accountId, resource_id: resourceId, name, description: '', status: 'available', head_point_id: id, created_at: T0, deleted_at: null, purge_after: null, origin: 'manual' }).execute();
  await db
    .insertInto('points')
    .values({ id, chain_id: id, account_id: of.accountId, resource_id: resourceId, parent_id: null, type: 'full', name: '', description: '', status: 'available', snapshot_at: T0, logical_size: 0, stored_bytes: 0, job_id: null, created_at: T0, committed_at: T0, deleted_at: null, purge_after: null })
    .execute();
  return id;
}

before(async () => {
  store = await openTestStore();
  owner = await account('nightly-owner');
  recipient = await account('recipient');
  other = await account('bystander');
  resourceId = newId('volume');
  await store.meta.db.insertInto('resources').values({ id: resourceId, account_id: owner.accountId, kind: 'volume', name: 'disk', agent_id: null, created_at: T0 }).execute();
  for (const name of ['Nightly DB', 'ÜBER Große Sicherung', 'rate_100%', 'weekly']) {
    chains[name] = await chain(owner, name);
    await store.services.shares.share(owner, chains[name]!, { recipients: [recipient.email] });
  }
  // A chain shared with someone else never shows in the recipient's results.
  const elsewhere = await chain(owner, 'Nightly elsewhere');
  await store.services.shares.share(owner, elsewhere, { recipients: [other.email] });
});
after(async () => {
  await store?.close();
});

async function found(search: string): Promise<string[]> {
  const page = await store.services.shares.received(recipient, { offset: 0, limit: 50 }, { search });
  assert.equal(page.total_count, page.items.length, `total of "${search}"`);
  return page.items.map((c) => c.name).sort();
}

test('search matches the name in any case, non-ASCII letters included, and takes % and _ literally', async () => {
  assert.deepEqual(await found('NIGHTLY db'), ['Nightly DB']);
  assert.deepEqual(await found('über große'), ['ÜBER Große Sicherung']);
  assert.deepEqual(await found('GROSSE'), [], 'lowercasing is not transliteration');
  assert.deepEqual(await found('_100%'), ['rate_100%']);
  assert.deepEqual(await found('ra_e'), [], '_ is not a wildcard');
  assert.deepEqual(await found('%'), ['rate_100%']);
});

test('search matches the chain ID, the resource ID and the owner email, but not across two of them', async () => {
  assert.deepEqual(await found(chains['weekly']!.toUpperCase()), ['weekly']);
  assert.equal((await found(resourceId)).length, 4);
  assert.equal((await found('NIGHTLY-OWNER')).length, 4, 'the owner email');
  assert.deepEqual(await found(`weekly${chains['weekly']!.slice(0, 3)}`), [], 'name and ID are apart');
  assert.deepEqual(await found('no such thing'), []);
});

test('a renamed chain is found by its new name, not its old one; editing the description alone keeps it', async () => {
  const id = chains['weekly']!;
  await store.services.chains.editChain(owner, id, { name: 'Monthly Archive' });
  assert.deepEqual(await found('monthly'), ['Monthly Archive']);
  assert.deepEqual(await found('weekly'), []);
  await store.services.chains.editChain(owner, id, { description: 'kept for a year' });
  assert.deepEqual(await found('archive'), ['Monthly Archive']);
  // A share made after the rename carries the new name too.
  await store.services.shares.cancel(owner, id, { recipients: [recipient.email] });
  assert.deepEqual(await found('archive'), [], 'a cancelled share is gone from the list');
  await store.services.shares.share(owner, id, { recipients: [recipient.email] });
  assert.deepEqual(await found('archive'), ['Monthly Archive']);
});
