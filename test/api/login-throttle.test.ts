import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testDatabaseUrl, type TestDatabase } from '../helpers/db.js';
import { api, expectError, expectStatus, newAccount, PASSWORD, randomEmail, type Reply } from '../helpers/http.js';
import { startInProcessServer, type InProcessServer } from '../helpers/server.js';

// Two servers on one database, as behind a load balancer: a guesser whose
// requests alternate between them meets one limit, not one per server.

let database: TestDatabase;
let one: InProcessServer;
let two: InProcessServer;

before(async () => {
  database = await testDatabaseUrl();
  one = await startInProcessServer({ database });
  two = await startInProcessServer({ database });
});
after(async () => {
  await one?.stop();
  await two?.stop();
  await database?.drop();
});

test('failed sign-ins are counted across servers: 10 wrong passwords spread over two servers block the 11th on either', async () => {
  const a = await newAccount(one.url, { tag: 'spread' });
  const servers = [api(one.url).from('127.0.0.5'), api(two.url).from('127.0.0.5')];
  for (let i = 0; i < 10; i++) expectError(await servers[i % 2]!.post('/sessions', { email: a.email, password: `wrong ${i}` }), 401, undefined, `guess ${i}`);
  expectError(await servers[0]!.post('/sessions', { email: a.email, password: a.password }), 429, 'too_many_requests', 'the right password on the first server');
  expectError(await servers[1]!.post('/sessions', { email: a.email, password: a.password }), 429, 'too_many_requests', 'the right password on the second server');
  expectError(await api(two.url).post('/sessions', { email: a.email, password: a.password }), 429, undefined, 'the account, from another address');
});

test('parallel guesses spread over two servers: at most 10 are checked', async () => {
  const a = await newAccount(two.url, { tag: 'burst2' });
  const servers = [api(one.url).from('127.0.0.6'), api(two.url).from('127.0.0.6')];
  const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => servers[i % 2]!.post('/sessions', { email: a.email, password: `guess ${i}` })));
  assert.ok(replies.every((r) => r.status === 401 || r.status === 429), replies.map((r) => r.status).join(' '));
  const tried = replies.filter((r) => r.status === 401).length;
  assert.ok(tried <= 10, `${tried} of 16 parallel guesses were checked; the limit is 10`);
  assert.ok(tried >= 1, 'some guesses were checked');
});

test('a sign-in that works clears the count for every server', async () => {
  const a = await newAccount(one.url, { tag: 'clear' });
  const from = [api(one.url).from('127.0.0.7'), api(two.url).from('127.0.0.7')];
  for (let i = 0; i < 9; i++) expectError(await from[i % 2]!.post('/sessions', { email: a.email, password: `wrong ${i}` }), 401);
  expectStatus(await from[1]!.post('/sessions', { email: a.email, password: PASSWORD }), 200);
  // Nine more wrong ones after the reset are still under the limit, on either server.
  for (let i = 0; i < 9; i++) expectError(await from[(i + 1) % 2]!.post('/sessions', { email: a.email, password: `again ${i}` }), 401);
  expectStatus(await from[0]!.post('/sessions', { email: a.email, password: a.password }), 200);
});

/** The seconds a 429 asks to wait: its message and its Retry-After say the same. */
function waitOf(reply: Reply, what = ''): number {
  const error = expectError(reply, 429, 'too_many_requests', what);
  const m = /wait (\d+) seconds/.exec(error.message);
  assert.ok(m, `a 429 says how long to wait: ${error.message}`);
  assert.equal(reply.headers.get('retry-after'), m[1], 'Retry-After says it to programs');
  return Number(m[1]);
}

test("signing in to one's own account does not clear the address's failures against others", async () => {
  // The probe's trick: 9 guesses, then a sign-in of one's own to reset the count, again and again.
  const [own, ...victims] = await Promise.all([newAccount(one.url, { tag: 'own' }), ...Array.from({ length: 4 }, (_, i) => newAccount(two.url, { tag: `victim${i}` }))]);
  const from = api(one.url).from('127.0.0.8');
  const answers: number[] = [];
  for (const victim of victims) {
    for (let i = 0; i < 9 && !answers.includes(429); i++) answers.push((await from.post('/sessions', { email: victim.email, password: `guess ${i}` })).status);
    expectStatus(await from.post('/sessions', { email: own.email, password: own.password }), 200, 'one own sign-in, from the guessing address');
  }
  assert.equal(answers.filter((s) => s === 401).length, 10, `ten guesses from one address, then it waits: ${answers.join(' ')}`);
  assert.equal(answers.at(-1), 429);
});

test('a guesser slows down exponentially, while the owner signs in from an address it knows, and from a new one after a short wait', async () => {
  const owner = await newAccount(one.url, { tag: 'owner' }); // signed up and in from owner.from
  const guesser = api(two.url).from('127.0.0.9');
  for (let i = 0; i < 10; i++) expectError(await guesser.post('/sessions', { email: owner.email, password: `wrong ${i}` }), 401, undefined, `guess ${i}`);
  const waits: number[] = [];
  for (let i = 0; i < 3; i++) {
    const wait = waitOf(await guesser.post('/sessions', { email: owner.email, password: 'too soon' }));
    waits.push(wait);
    await sleep(wait * 1000 + 150);
    expectError(await guesser.post('/sessions', { email: owner.email, password: `after ${wait} s` }), 401, undefined, 'one more guess once the wait is over');
  }
  assert.deepEqual(waits, [1, 2, 4], 'each wait doubles');
  expectError(await guesser.post('/sessions', { email: owner.email, password: owner.password }), 429, undefined, 'the right password from the guessing address still waits');
  // Not a lockout: from where it signed in before the owner gets in at once, on either server…
  expectStatus(await api(one.url).from(owner.from).post('/sessions', { email: owner.email, password: owner.password }), 200, 'the owner, from a known address');
  expectStatus(await api(two.url).from(owner.from).post('/sessions', { email: owner.email, password: owner.password }), 200, 'the owner, from a known address, other server');
  // …and from a new address it waits what the account's failures ask (8 s at most here), then gets in.
  const fresh = api(one.url).from('127.0.0.10');
  const wait = waitOf(await fresh.post('/sessions', { email: owner.email, password: owner.password }), 'the owner, from a new address');
  assert.ok(wait <= 8, `waits ${wait} s`);
  await sleep(wait * 1000 + 150);
  expectStatus(await fresh.post('/sessions', { email: owner.email, password: owner.password }), 200, 'the owner, from a new address, after the wait');
});

test('sign-ups are limited per address, in the database: 10, then waits, and other addresses are not slowed', async () => {
  const from = [api(one.url).from('127.0.0.11'), api(two.url).from('127.0.0.11')];
  for (let i = 0; i < 10; i++) expectStatus(await from[i % 2]!.post('/accounts', { email: randomEmail('burst'), password: PASSWORD }), 201, `sign-up ${i}`);
  const email = randomEmail('burst');
  waitOf(await from[0]!.post('/accounts', { email, password: PASSWORD }));
  expectError(await from[1]!.post('/accounts', { email, password: PASSWORD }), 429, 'too_many_requests', 'the other server');
  expectError(await api(one.url).post('/sessions', { email, password: PASSWORD }), 401, undefined, 'no account was made');
  expectStatus(await api(two.url).from('127.0.0.13').post('/accounts', { email, password: PASSWORD }), 201, 'from another address');
  // Bad input is refused for what it is, and does not count.
  expectError(await api(one.url).from('127.0.0.14').post('/accounts', { email: 'not an email', password: PASSWORD }), 400);
});

test('the counts outlive a restart: a server started afresh on the database goes on counting', async () => {
  const victim = await newAccount(one.url, { tag: 'restart' });
  const guesser = api(one.url).from('127.0.0.15');
  for (let i = 0; i < 10; i++) expectError(await guesser.post('/sessions', { email: victim.email, password: `wrong ${i}` }), 401);
  await one.stop();
  one = await startInProcessServer({ database });
  // The first wait (1 s) is over by now; the eleventh guess is let through, and the count it adds to makes the next one wait.
  const after = api(one.url).from('127.0.0.15');
  await sleep(1100);
  expectError(await after.post('/sessions', { email: victim.email, password: 'after the restart' }), 401);
  expectError(await after.post('/sessions', { email: victim.email, password: 'and again' }), 429, 'too_many_requests', 'a fresh count would have allowed ten');
});
