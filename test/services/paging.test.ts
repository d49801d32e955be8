import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Caller } from '../../src/domain/caller.js';
import type { Page } from '../../src/domain/page.js';
import { callerFor, openTestStore, type TestStore } from '../helpers/db.js';
import { PASSWORD, randomEmail } from '../helpers/http.js';

let store: TestStore;
let alice: Caller;
let bob: Caller;
const RESOURCES = 25;

before(async () => {
  store = await openTestStore();
  const s = store.services;
  alice = callerFor(await s.accounts.register({ email: randomEmail('alice'), password: PASSWORD }));
  bob = callerFor(await s.accounts.register({ email: randomEmail('bob'), password: PASSWORD }));
  for (let i = 0; i < RESOURCES; i++) {
    const kind = i % 5 === 0 ? 'instance' : 'volume';
    await s.resources.create(alice, { kind, name: `res ${String(i).padStart(2, '0')}`, disks: [{ name: 'root', size: 1024 }] });
  }
  // Bob's rows are there to prove that totals count only the caller's own.
  for (let i = 0; i < 3; i++) await s.resources.create(bob, { kind: 'volume', name: `bob ${i}`, disks: [{ name: 'root', size: 1024 }] });
  for (let i = 0; i < 12; i++) await s.jobs.create({ accountId: alice.accountId, action: 'backup', runner: 'server', status: i < 4 ? 'working' : 'pending' });
  await s.jobs.create({ accountId: bob.accountId, action: 'backup', runner: 'server' });
});
after(async () => {
  await store?.close();
});

/** Walks every page and checks each one against the first page's total. */
async function walk<T extends { id: string }>(limit: number, list: (offset: number, limit: number) => Promise<Page<T>>): Promise<{ total: number; ids: string[] }> {
  const first = await list(0, limit);
  const ids: string[] = [];
  for (let offset = 0; offset < first.total_count + limit; offset += limit) {
    const page = await list(offset, limit);
    assert.equal(page.total_count, first.total_count, `total at offset ${offset}`);
    assert.equal(page.items.length, Math.max(0, Math.min(limit, first.total_count - offset)), `items at offset ${offset}`);
    ids.push(...page.items.map((x) => x.id));
  }
  return { total: first.total_count, ids };
}

test('resource pages: every page has the full total, pages are disjoint and cover all', async () => {
  const { total, ids } = await walk(10, (offset, limit) => store.services.resources.list(alice, { offset, limit }));
  assert.equal(total, RESOURCES);
  assert.equal(ids.length, RESOURCES);
  assert.equal(new Set(ids).size, RESOURCES, 'no item appears on two pages');
  const all = await store.services.resources.list(alice, { offset: 0, limit: 100 });
  assert.deepEqual(all.items.map((r) => r.id), ids, 'paging keeps the order of one big page');
});

test('filtered totals count the filter, not the whole table', async () => {
  const instances = await store.services.resources.list(alice, { offset: 0, limit: 2 }, { kind: 'instance' });
  assert.equal(instances.total_count, RESOURCES / 5);
  assert.equal(instances.items.length, 2);
  const search = await store.services.resources.list(alice, { offset: 0, limit: 100 }, { search: 'RES 1' });
  assert.equal(search.total_count, 10, 'case-insensitive: "res 10".."res 19"');
  const working = await store.services.jobs.list(alice, { offset: 0, limit: 3 }, { status: 'working' });
  assert.equal(working.total_count, 4);
  assert.equal(working.items.length, 3);
});

test('an offset past the end gives no items and still the total', async () => {
  const page = await store.services.resources.list(alice, { offset: 1000, limit: 10 });
  assert.equal(page.total_count, RESOURCES);
  assert.deepEqual(page.items, []);
});

test('job pages and totals are per account', async () => {
  const { total, ids } = await walk(5, (offset, limit) => store.services.jobs.list(alice, { offset, limit }));
  assert.equal(total, 12);
  assert.equal(new Set(ids).size, 12);
  assert.equal((await store.services.jobs.list(bob, { offset: 0, limit: 20 })).total_count, 1);
  assert.equal((await store.services.resources.list(bob, { offset: 0, limit: 20 })).total_count, 3);
});

test('token and sub-account pages', async () => {
  for (let i = 0; i < 7; i++) await store.services.accounts.createToken(bob, `t${i}`);
  const tokens = await walk(3, (offset, limit) => store.services.accounts.listTokens(bob, { offset, limit }));
  assert.equal(tokens.total, 7);
  assert.equal(new Set(tokens.ids).size, 7);
  assert.equal((await store.services.accounts.listTokens(alice, { offset: 0, limit: 20 })).total_count, 0);
  for (let i = 0; i < 3; i++) await store.services.accounts.createSubaccount(bob, { email: randomEmail(`sub${i}`), password: PASSWORD });
  const subs = await walk(2, (offset, limit) => store.services.accounts.listSubaccounts(bob, { offset, limit }));
  assert.equal(subs.total, 3);
  assert.equal(new Set(subs.ids).size, 3);
});
