import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Caller } from '../../src/domain/caller.js';
import { CairnError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { pageOf, type Page, type PageRequest } from '../../src/domain/page.js';
import { isoPlus } from '../../src/domain/time.js';
import { insertAccount, openTestStore, type TestStore } from '../helpers/db.js';

// Lists that sort by key (chains, shared chains, events) page by cursor as well as by offset.
// Rows are written with few distinct times, so most neighbours tie on the time and the ID decides.

let store: TestStore;
let owner: Caller;
let recipient: Caller;
const CHAINS = 23;
const T0 = '2026-01-01T00:00:00.000Z';
/** Three chains to a millisecond: ties everywhere. */
const timeOf = (i: number) => isoPlus(T0, Math.floor(i / 3));

const account = (): Promise<Caller> => insertAccount(store.meta.db, { domain: 'paging.test', at: T0 });

before(async () => {
  store = await openTestStore();
  owner = await account();
  recipient = await account();
  const db = store.meta.db;
  const resourceId = newId('volume');
  await db.insertInto('resources').values({ id: resourceId, account_id: owner.accountId, kind: 'volume', name: 'disk', agent_id: null, created_at: T0 }).execute();
  for (let i = 0; i < CHAINS; i++) {
    const id = newId('point');
    const at = timeOf(i);
    await db.insertInto('chains').values({ id, account_id: owner.accountId, resource_id: resourceId, name: `chain ${i}`, description: '', status: 'available', head_point_id: id, created_at: at, deleted_at: null, purge_after: null, origin: 'manual' }).execute();
    await db
      .insertInto('points')
      .values({ id, chain_id: id, account_id: owner.accountId, resource_id: resourceId, parent_id: null, type: 'full', name: '', description: '', status: 'available', snapshot_at: at, logical_size: 0, stored_bytes: 0, job_id: null, created_at: at, committed_at: at, deleted_at: null, purge_after: null })
      .execute();
    await db.insertInto('shares').values({ chain_id: id, recipient_id: recipient.accountId, owner_id: owner.accountId, note: '', expires_at: null, status: 'active', created_at: at, ended_at: null, search_text: '' }).execute();
    await db.insertInto('events').values({ id: newId('event'), type: 'share.created', chain_id: id, owner_id: owner.accountId, recipient_id: recipient.accountId, actor_id: owner.accountId, data: '{}', created_at: at }).execute();
  }
});
after(async () => {
  await store?.close();
});

/** Follows next_cursor from the first page to the last, checking each page's size and total. */
async function walk<T extends { id: string }>(limit: number, list: (page: PageRequest) => Promise<Page<T>>): Promise<string[]> {
  const ids: string[] = [];
  let page = await list(pageOf({ limit }));
  for (;;) {
    assert.equal(page.total_count, CHAINS, 'every page carries the whole total');
    ids.push(...page.items.map((x) => x.id));
    if (!page.next_cursor) break;
    assert.equal(page.items.length, limit, 'only the last page is short');
    page = await list(pageOf({ limit, cursor: page.next_cursor }));
  }
  return ids;
}

const lists: [string, (page: PageRequest) => Promise<Page<{ id: string }>>][] = [
  ['chains', (page) => store.services.chains.list(owner, page)],
  ['shared chains', (page) => store.services.shares.received(recipient, page)],
  ["the owner's events", (page) => store.services.events.list(owner, page)],
  ["the recipient's events", (page) => store.services.events.list(recipient, page)],
];

for (const [name, list] of lists) {
  test(`${name}: the cursor walks the list in the order of one big page, each item once`, async () => {
    const all = await list(pageOf({ limit: 100 }));
    assert.equal(all.items.length, CHAINS);
    assert.equal(all.next_cursor, null, 'a page that holds the rest has no next');
    for (const limit of [1, 4, 7, CHAINS]) assert.deepEqual(await walk(limit, list), all.items.map((x) => x.id), `limit ${limit}`);
  });
  test(`${name}: pages by offset and by cursor agree`, async () => {
    const first = await list(pageOf({ limit: 5 }));
    const byOffset = await list(pageOf({ limit: 5, offset: 5 }));
    const byCursor = await list(pageOf({ limit: 5, cursor: first.next_cursor! }));
    assert.deepEqual(byCursor.items.map((x) => x.id), byOffset.items.map((x) => x.id));
  });
}

test('a cursor that is not one the server handed out is a bad request naming the cursor', async () => {
  const hex = (text: string) => Buffer.from(text).toString('hex');
  for (const cursor of ['not-a-cursor', 'abc', hex('{"a":1}'), hex('[1,2]'), hex('[]')]) {
    assert.throws(() => pageOf({ cursor }), (err: unknown) => err instanceof CairnError && err.status === 400 && err.field === 'cursor', cursor);
  }
  const threeKeys = hex(JSON.stringify(['a', 'b', 'c']));
  await assert.rejects(store.services.chains.list(owner, pageOf({ cursor: threeKeys })), (err: unknown) => err instanceof CairnError && err.status === 400 && err.field === 'cursor');
  assert.throws(() => pageOf({ cursor: threeKeys, offset: 5 }), (err: unknown) => err instanceof CairnError && err.status === 400);
});
