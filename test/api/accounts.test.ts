import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { openTestStore, type TestStore } from '../helpers/db.js';
import { api, backup, expectError, expectStatus, login, newAccount, newSubaccount, newVolume, PASSWORD, randomDisk, randomEmail, signIn } from '../helpers/http.js';
import { runCli, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let store: TestStore;

before(async () => {
  server = await startServer();
  store = await openTestStore({ database: server.database });
});
after(async () => {
  await store?.close();
  await server?.stop();
});

/** Every row of every table as text: a secret must not appear anywhere in the database. */
async function databaseText(): Promise<string> {
  const db = store.meta.db;
  const tables =
    store.meta.engine === 'postgres'
      ? (await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()`.execute(db)).rows
      : (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`.execute(db)).rows;
  let text = '';
  for (const { name } of tables) {
    const { rows } = await sql`SELECT * FROM ${sql.table(name)}`.execute(db);
    text += JSON.stringify(rows, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
  }
  assert.ok(text.length > 0);
  return text;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

test('register: an account with an ID and a normalised email; a taken email is 409, whatever its case', async () => {
  const email = randomEmail('Reg');
  const body = expectStatus(await api(server.url).post('/accounts', { email: ` ${email.toUpperCase()} `, password: PASSWORD }), 201);
  assert.match(body.account.id, /^usr-[a-z0-9]{8}$/);
  assert.equal(body.account.email, email.toLowerCase());
  assert.equal(body.account.parent_id, null);
  assert.equal(body.account.is_admin, false);
  assert.equal(body.account.status, 'active');
  assert.ok(!JSON.stringify(body).includes('scrypt'), 'no password hash in the reply');
  expectError(await api(server.url).post('/accounts', { email, password: PASSWORD }), 409, 'email_taken');
  expectError(await api(server.url).post('/accounts', { email: email.toUpperCase(), password: 'another password' }), 409, 'email_taken');
});

test('sign in: a wrong password and an unknown email get the same 401; the cookie is HttpOnly and SameSite', async () => {
  const a = await newAccount(server.url, { tag: 'signin' });
  const wrong = expectError(await api(server.url).post('/sessions', { email: a.email, password: 'not the password' }), 401, 'unauthorized');
  const unknown = expectError(await api(server.url).post('/sessions', { email: randomEmail('ghost'), password: PASSWORD }), 401, 'unauthorized');
  assert.equal(wrong.message, unknown.message, 'the reply does not tell which accounts exist');

  const res = await api(server.url).post('/sessions', { email: a.email.toUpperCase(), password: PASSWORD });
  const body = expectStatus(res, 200);
  assert.equal(body.account.id, a.id);
  assert.equal(typeof body.csrf_token, 'string');
  const cookie = res.headers.get('set-cookie') ?? '';
  assert.match(cookie, /cairn_session=/);
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Strict/i);
  assert.match(cookie, /Path=\//i);
});

test('cookie session: reads need only the cookie, writes also the CSRF header; sign-out ends the session', async () => {
  const a = await newAccount(server.url, { tag: 'cookie' });
  const { session } = await login(server.url, a.email, a.password);
  const browser = api(server.url).withSession(session);
  const forged = api(server.url).withSession(session, { csrf: false });

  assert.equal(expectStatus(await forged.get('/account'), 200).account.id, a.id);
  expectError(await forged.post('/tokens', { name: 'csrf' }), 403, 'forbidden');
  expectError(await forged.post('/resources', { kind: 'volume', name: 'v', disks: [{ name: 'd', size: 1 }] }), 403);
  expectError(await api(server.url).withSession({ cookie: session.cookie, csrf: 'csrf_wrong' }).post('/tokens', { name: 'csrf' }), 403);
  const other = await login(server.url, a.email, a.password);
  expectError(await api(server.url).withSession({ cookie: session.cookie, csrf: other.session.csrf }).post('/tokens', { name: 'x' }), 403, undefined, 'another session\'s CSRF token');
  assert.equal(expectStatus(await a.api.get('/tokens'), 200).total_count, 1, 'the refused writes made no token');

  expectStatus(await browser.post('/tokens', { name: 'csrf' }), 201);
  expectStatus(await a.api.post('/tokens', { name: 'bearer' }), 201, 'a bearer token needs no CSRF header');

  expectError(await forged.delete('/sessions/current'), 403, undefined, 'signing out is a write too');
  const out = await browser.delete('/sessions/current');
  expectStatus(out, 204);
  assert.match(out.headers.get('set-cookie') ?? '', /cairn_session=;/, 'the cookie is cleared');
  expectError(await browser.get('/account'), 401);
  assert.equal(expectStatus(await api(server.url).withSession(other.session).get('/account'), 200).account.id, a.id, 'other sessions go on');
});

test('tokens: shown once, stored only hashed, last use recorded, revocable', async () => {
  const a = await newAccount(server.url, { tag: 'tokens' });
  const created = expectStatus(await a.api.post('/tokens', { name: 'laptop' }), 201).token;
  assert.match(created.id, /^tok-[a-z0-9]{8}$/);
  assert.equal(created.name, 'laptop');
  assert.equal(typeof created.token, 'string');
  assert.equal(created.last_used_at, null);
  const secret: string = created.token;

  const listed = expectStatus(await a.api.get('/tokens'), 200);
  assert.equal(listed.total_count, 2);
  assert.ok(!listed.items.some((t: object) => 'token' in t), 'the secret is never shown again');
  assert.ok(!JSON.stringify(listed).includes(secret));

  const text = await databaseText();
  assert.ok(!text.includes(secret), 'the database holds no plain token');
  assert.ok(!text.includes(a.session.cookie.split('=')[1]!), 'nor a plain session secret');
  assert.ok(text.includes(sha256(secret)), 'it holds the token\'s SHA-256');
  assert.ok(!text.includes(PASSWORD), 'nor a plain password');

  const laptop = api(server.url).as(secret);
  assert.equal(expectStatus(await laptop.get('/account'), 200).account.id, a.id);
  const used = expectStatus(await a.api.get('/tokens'), 200).items.find((t: { id: string }) => t.id === created.id);
  assert.ok(used.last_used_at, 'last_used_at is set once the token is used');
  assert.ok(Date.parse(used.last_used_at) >= Date.parse(created.created_at));

  const revoked = expectStatus(await a.api.delete(`/tokens/${created.id}`), 200).token;
  assert.ok(revoked.revoked_at);
  expectError(await laptop.get('/account'), 401, 'unauthorized');
  expectError(await laptop.post('/tokens', { name: 'again' }), 401);
  expectStatus(await a.api.get('/account'), 200, 'the other token still works');
  assert.equal(expectStatus(await a.api.delete(`/tokens/${created.id}`), 200).token.revoked_at, revoked.revoked_at, 'revoking twice keeps the first time');
  expectError(await api(server.url).as('cairn_not-a-real-token').get('/account'), 401);
  expectError(await api(server.url).get('/account', undefined, { headers: { authorization: 'Basic abc' } }), 401);
});

test('sub-accounts: created and listed by the parent; disabled ones cannot sign in or use tokens; deleted ones are gone', async () => {
  const parent = await newAccount(server.url, { tag: 'parent' });
  const sub = await newSubaccount(parent);
  assert.equal(sub.parentId, parent.id);
  const list = expectStatus(await parent.api.get('/subaccounts'), 200);
  assert.equal(list.total_count, 1);
  assert.equal(list.items[0].id, sub.id);
  assert.equal(list.items[0].email, sub.email);
  assert.equal(expectStatus(await sub.api.get('/subaccounts'), 200).total_count, 0);

  const disabled = expectStatus(await parent.api.patch(`/subaccounts/${sub.id}`, { status: 'disabled' }), 200).account;
  assert.equal(disabled.status, 'disabled');
  expectError(await api(server.url).post('/sessions', { email: sub.email, password: sub.password }), 403, 'forbidden');
  expectError(await sub.api.get('/account'), 401, undefined, 'the token of a disabled account');
  expectError(await api(server.url).withSession(sub.session).get('/account'), 401, undefined, 'the session of a disabled account');
  expectError(await parent.api.get('/accounts/lookup', { q: sub.email }), 404, undefined, 'a disabled account cannot be looked up');

  expectStatus(await parent.api.patch(`/subaccounts/${sub.id}`, { status: 'active' }), 200);
  expectStatus(await sub.api.get('/account'), 200, 'enabled again: the token works again');
  const again = await signIn(server.url, sub.email, sub.password);

  expectStatus(await parent.api.delete(`/subaccounts/${sub.id}`), 204);
  expectError(await sub.api.get('/account'), 401);
  expectError(await again.api.get('/account'), 401);
  expectError(await api(server.url).post('/sessions', { email: sub.email, password: sub.password }), 401);
  assert.equal(expectStatus(await parent.api.get('/subaccounts'), 200).total_count, 0);
  expectError(await parent.api.delete(`/subaccounts/${sub.id}`), 404);
  expectStatus(await api(server.url).post('/accounts', { email: sub.email, password: PASSWORD }), 201, 'the email is free again');
});

test('lookup finds an active account by exact email (any case) or by ID; an ID tells its email only to who already knows it', async () => {
  const [asker, target] = await Promise.all([newAccount(server.url, { tag: 'asker' }), newAccount(server.url, { tag: 'target' })]);
  const byEmail = expectStatus(await asker.api.get('/accounts/lookup', { q: target.email.toUpperCase() }), 200).account;
  assert.deepEqual(byEmail, { id: target.id, email: target.email });
  const byId = expectStatus(await asker.api.get('/accounts/lookup', { q: target.id }), 200).account;
  assert.deepEqual(byId, { id: target.id, email: null }, 'an ID of an account the asker has no dealings with: its email stays unknown');
  assert.ok(!JSON.stringify(byId).includes(target.email));
  // Sub-accounts and administrators are accounts like any other: their IDs do not give their emails away either.
  const sub = await newSubaccount(target);
  assert.deepEqual(expectStatus(await asker.api.get('/accounts/lookup', { q: sub.id }), 200).account, { id: sub.id, email: null });
  assert.deepEqual(expectStatus(await target.api.get('/accounts/lookup', { q: sub.id }), 200).account, { id: sub.id, email: sub.email }, 'a parent knows its sub-accounts');
  // Once one shares with the other, both know the email: the share dialog and the Shared list show it anyway.
  const volume = await newVolume(target.api, 'lookup');
  const { chain_id } = await backup(target.api, volume, [randomDisk('disk0', 1 << 20)], 'full');
  expectStatus(await target.api.post(`/chains/${chain_id}/shares`, { recipients: [asker.id] }), 201, 'share by ID');
  assert.deepEqual(expectStatus(await asker.api.get('/accounts/lookup', { q: target.id }), 200).account, { id: target.id, email: target.email }, 'the recipient knows the owner');
  assert.deepEqual(expectStatus(await target.api.get('/accounts/lookup', { q: asker.id }), 200).account, { id: asker.id, email: asker.email }, 'the owner knows the recipient');
  // Only an exact email or an ID: no prefixes, no patterns.
  for (const q of [target.email.split('@')[0]!, '%', `${target.email.slice(0, 4)}%`, 'usr-'])
    expectError(await asker.api.get('/accounts/lookup', { q }), 400, 'bad_request', `lookup of ${q}`);
  expectError(await asker.api.get('/accounts/lookup', { q: randomEmail('nobody') }), 404, 'not_found');
  expectError(await asker.api.get('/accounts/lookup', { q: 'usr-zzzzzzzz' }), 404);
  expectError(await api(server.url).get('/accounts/lookup', { q: target.email }), 401);
});

test('lookups are limited per caller: past 60 in an hour each waits longer, while other callers are not slowed', async () => {
  const [prober, bystander] = await Promise.all([newAccount(server.url, { tag: 'prober' }), newAccount(server.url, { tag: 'bystander' })]);
  const statuses: number[] = [];
  for (let i = 0; i < 70 && !statuses.includes(429); i++) statuses.push((await prober.api.get('/accounts/lookup', { q: `usr-${String(i).padStart(8, '0')}` })).status);
  assert.deepEqual(statuses.slice(0, 60), Array(60).fill(404), 'sixty lookups answer');
  const limited = expectError(await prober.api.get('/accounts/lookup', { q: bystander.email }), 429, 'too_many_requests');
  assert.match(limited.message, /wait \d+ seconds/);
  // The count is in the database: it holds from another sign-in of the same account too.
  const again = await signIn(server.url, prober.email, prober.password);
  expectError(await again.api.get('/accounts/lookup', { q: bystander.email }), 429, 'too_many_requests', 'another token of the same account');
  expectStatus(await bystander.api.get('/accounts/lookup', { q: prober.email }), 200, 'another caller');
});

test('closed registration: sign-up is refused; an administrator made by `cairn admin create` manages accounts', async () => {
  const closed = await startServer({ registration: 'closed' });
  try {
    expectError(await api(closed.url).post('/accounts', { email: randomEmail('walk-in'), password: PASSWORD }), 403, 'forbidden');

    const adminEmail = randomEmail('admin');
    const made = await runCli(['admin', 'create', '--email', adminEmail, '--password', PASSWORD, '--database', closed.database.url]);
    assert.equal(made.code, 0, `cairn admin create failed: ${made.stderr}`);
    assert.match(made.stdout, new RegExp(`^usr-[a-z0-9]{8} ${adminEmail.replace(/[.]/g, '\\.')} is an administrator$`, 'm'));
    const piped = randomEmail('piped');
    const [again, nopass, viaStdin] = await Promise.all([
      runCli(['admin', 'create', '--email', adminEmail, '--database', closed.database.url]),
      runCli(['admin', 'create', '--email', randomEmail('nopass'), '--database', closed.database.url]),
      runCli(['admin', 'create', '--email', piped, '--database', closed.database.url], { input: `${PASSWORD}\n` }),
    ]);
    assert.equal(again.code, 0, `running it again (no password needed) failed: ${again.stderr}`);
    assert.notEqual(nopass.code, 0, 'a new administrator without a password is refused');
    assert.match(nopass.stderr, /password/);
    assert.equal(viaStdin.code, 0, `password on standard input: ${viaStdin.stderr}`);
    await signIn(closed.url, piped, PASSWORD);

    const admin = await signIn(closed.url, adminEmail, PASSWORD);
    assert.equal(expectStatus(await admin.api.get('/account'), 200).account.is_admin, true);
    const userEmail = randomEmail('invited');
    const user = expectStatus(await admin.api.post('/accounts', { email: userEmail, password: PASSWORD }), 201, 'an administrator may register accounts').account;
    const member = await signIn(closed.url, userEmail, PASSWORD);
    expectError(await member.api.get('/admin/accounts'), 403, 'forbidden');
    expectError(await member.api.post('/accounts', { email: randomEmail('friend'), password: PASSWORD }), 403);

    const all = expectStatus(await admin.api.get('/admin/accounts', { limit: 100 }), 200);
    assert.equal(all.total_count, 3);
    assert.deepEqual(new Set(all.items.map((x: { email: string }) => x.email)), new Set([adminEmail, piped, userEmail]));
    const page = expectStatus(await admin.api.get('/admin/accounts', { limit: 1, offset: 1 }), 200);
    assert.equal(page.total_count, 3);
    assert.equal(page.items.length, 1);

    assert.equal(expectStatus(await admin.api.patch(`/admin/accounts/${user.id}`, { status: 'disabled' }), 200).account.status, 'disabled');
    expectError(await member.api.get('/account'), 401);
    expectError(await api(closed.url).post('/sessions', { email: userEmail, password: PASSWORD }), 403);
    expectError(await admin.api.patch(`/admin/accounts/${admin.id}`, { status: 'disabled' }), 400, undefined, 'an administrator cannot lock itself out');
    expectError(await admin.api.patch('/admin/accounts/usr-zzzzzzzz', { status: 'disabled' }), 404);
    expectStatus(await admin.api.patch(`/admin/accounts/${user.id}`, { status: 'active' }), 200);
    expectStatus(await member.api.get('/account'), 200);
  } finally {
    await closed.stop();
  }
});

test('sign-in is limited per account and per address: after 10 wrong passwords even the right one waits, except from an address the account knows', async () => {
  // Each test that guesses calls from an address of its own, so the limit it trips stays its own.
  const from = api(server.url).from('127.0.0.2');
  const [a, b] = await Promise.all([newAccount(server.url, { tag: 'throttle' }), newAccount(server.url, { tag: 'throttle-b' })]);
  for (let i = 0; i < 10; i++) expectError(await from.post('/sessions', { email: a.email, password: `wrong ${i}` }), 401);
  expectError(await from.post('/sessions', { email: a.email, password: 'wrong again' }), 429, 'too_many_requests');
  const blocked = expectError(await from.post('/sessions', { email: a.email, password: a.password }), 429);
  assert.match(blocked.message, /wait/i);
  expectError(await api(server.url).from('127.0.0.12').post('/sessions', { email: a.email, password: a.password }), 429, undefined, 'the account, from a new address');
  // The owner signed in from a.from before (newAccount): a guesser elsewhere does not keep it out there.
  await login(server.url, a.email, a.password, a.from);
  expectError(await from.post('/sessions', { email: b.email, password: b.password }), 429, undefined, 'another account, from that address');
  await login(server.url, b.email, b.password);
  expectStatus(await a.api.get('/account'), 200, 'existing tokens are not affected');
});

test('a burst of parallel wrong passwords is limited too', async () => {
  const from = api(server.url).from('127.0.0.3');
  const a = await newAccount(server.url, { tag: 'burst' });
  const replies = await Promise.all(Array.from({ length: 15 }, (_, i) => from.post('/sessions', { email: a.email, password: `guess ${i}` })));
  const tried = replies.filter((r) => r.status === 401).length;
  assert.ok(replies.every((r) => r.status === 401 || r.status === 429), replies.map((r) => r.status).join(' '));
  assert.ok(tried <= 10, `${tried} of 15 parallel guesses were checked; the limit is 10`);
});

test("an account's language and time zone: set at sign-up or later, checked, inherited by sub-accounts, and the default of its policies", async () => {
  const plain = await newAccount(server.url, { tag: 'prefs' });
  const me = () => plain.api.get('/account').then((r) => expectStatus(r, 200, 'account').account);
  assert.deepEqual([(await me()).language, (await me()).timezone], ['en', 'UTC'], 'the defaults');

  const email = randomEmail('zh');
  const made = expectStatus(await api(server.url).post('/accounts', { email, password: PASSWORD, language: 'zh', timezone: 'asia/shanghai' }), 201, 'register').account;
  assert.deepEqual([made.language, made.timezone], ['zh', 'Asia/Shanghai'], 'kept, the zone in its canonical spelling');
  expectError(await api(server.url).post('/accounts', { email: randomEmail('bad'), password: PASSWORD, timezone: 'Mars/Olympus' }), 400);

  const set = expectStatus(await plain.api.patch('/account', { language: 'zh', timezone: 'Europe/Berlin' }), 200, 'set').account;
  assert.deepEqual([set.language, set.timezone], ['zh', 'Europe/Berlin']);
  // Bad input changes nothing, not even the part that was good.
  for (const body of [{ language: 'fr' }, { timezone: 'Nowhere/Land' }, { language: 'en', timezone: 'Nowhere/Land' }, {}, { language: 'en', email: 'x@y.z' }]) expectError(await plain.api.patch('/account', body), 400);
  assert.deepEqual([(await me()).language, (await me()).timezone], ['zh', 'Europe/Berlin']);
  expectError(await api(server.url).patch('/account', { language: 'en' }), 401);

  const sub = expectStatus(await plain.api.post('/subaccounts', { email: randomEmail('sub'), password: PASSWORD }), 201, 'sub-account').account;
  assert.deepEqual([sub.language, sub.timezone], ['zh', 'Europe/Berlin'], "a sub-account starts with its parent's");

  const policy = expectStatus(await plain.api.post('/policies', { name: 'nightly', schedule: { kind: 'daily', times: ['02:00'] } }), 201, 'policy').policy;
  assert.equal(policy.timezone, 'Europe/Berlin', "a policy without a zone takes its account's");
  assert.equal(policy.description.zh, '每天 02:00 (Europe/Berlin)');
  const cli = await runCli(['account', 'set', '--timezone', 'UTC', '--json'], { env: { CAIRN_SERVER: server.url, CAIRN_TOKEN: plain.token } });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).account.timezone, 'UTC');
});
