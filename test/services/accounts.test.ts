import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { hashSecret } from '../../src/services/passwords.js';
import { callerFor, openTestStore, type TestStore } from '../helpers/db.js';
import { PASSWORD, randomEmail } from '../helpers/http.js';

let store: TestStore;
// A second store on the same database is a second connection (pool): on SQLite
// that is what lets two writers really interleave, as two servers would.
let store2: TestStore;
before(async () => {
  store = await openTestStore();
  store2 = await openTestStore({ database: store.database });
});
after(async () => {
  await store2?.close();
  await store?.close();
});

function statusOf(err: unknown): number | undefined {
  return err instanceof CairnError ? err.status : undefined;
}

test('many registrations racing for one email: exactly one wins, the rest get 409 email_taken', async () => {
  const email = randomEmail('race');
  const variants = [email, email.toUpperCase(), ` ${email} `, email, email.toUpperCase(), email];
  const results = await Promise.allSettled(
    variants.map((e, i) => (i % 2 ? store2 : store).services.accounts.register({ email: e, password: PASSWORD })),
  );
  const winners = results.filter((r) => r.status === 'fulfilled');
  const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(winners.length, 1, `one winner, got ${winners.length}: ${losers.map((l) => String(l.reason)).join('; ')}`);
  for (const l of losers) {
    assert.equal(statusOf(l.reason), 409, String(l.reason));
    assert.equal((l.reason as CairnError).code, 'email_taken');
  }
  const rows = await store.meta.db.selectFrom('accounts').select('id').where('email', '=', email).execute();
  assert.equal(rows.length, 1);
});

test('emails are stored normalised and passwords only as scrypt hashes', async () => {
  const email = randomEmail('Norm').toUpperCase();
  const account = await store.services.accounts.register({ email: `  ${email}  `, password: PASSWORD });
  assert.equal(account.email, email.toLowerCase());
  assert.match(account.id, /^usr-[a-z0-9]{8}$/);
  const row = await store.meta.db.selectFrom('accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
  assert.match(row.password_hash, /^scrypt\$/);
  assert.ok(!row.password_hash.includes(PASSWORD));
  assert.ok(!('password_hash' in account), 'the view never carries the hash');
});

test('tokens are stored as their SHA-256 only, and a revoked token no longer resolves', async () => {
  const account = await store.services.accounts.register({ email: randomEmail('tok'), password: PASSWORD });
  const caller = callerFor(account);
  const token = await store.services.accounts.createToken(caller, 'ci');
  const row = await store.meta.db.selectFrom('api_tokens').selectAll().where('id', '=', token.id).executeTakeFirstOrThrow();
  assert.equal(row.token_hash, hashSecret(token.token));
  assert.notEqual(row.token_hash, token.token);
  assert.equal((await store.services.accounts.fromToken(token.token))?.accountId, account.id);
  // Another connection sees the same: nothing about tokens is cached per process.
  assert.equal((await store2.services.accounts.fromToken(token.token))?.accountId, account.id);
  await store.services.accounts.revokeToken(caller, token.id);
  assert.equal(await store2.services.accounts.fromToken(token.token), null);
});

test('a sub-account cannot make sub-accounts, and nobody manages another parent\'s sub-account', async () => {
  const parent = await store.services.accounts.register({ email: randomEmail('parent'), password: PASSWORD });
  const stranger = await store.services.accounts.register({ email: randomEmail('stranger'), password: PASSWORD });
  const sub = await store.services.accounts.createSubaccount(callerFor(parent), { email: randomEmail('sub'), password: PASSWORD });
  assert.equal(sub.parent_id, parent.id);
  await assert.rejects(store.services.accounts.createSubaccount(callerFor(sub), { email: randomEmail('subsub'), password: PASSWORD }), (e) => statusOf(e) === 403);
  await assert.rejects(store.services.accounts.setSubaccountStatus(callerFor(stranger), sub.id, 'disabled'), (e) => statusOf(e) === 404);
  await assert.rejects(store.services.accounts.deleteSubaccount(callerFor(stranger), sub.id), (e) => statusOf(e) === 404);
  await assert.rejects(store.services.accounts.deleteSubaccount(callerFor(sub), sub.id), (e) => statusOf(e) === 404);
  const after = await store.meta.db.selectFrom('accounts').select('status').where('id', '=', sub.id).executeTakeFirstOrThrow();
  assert.equal(after.status, 'active');
});
