import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { testDatabaseUrl, type TestDatabase } from '../helpers/db.js';
import { api, expectError, expectStatus, newAccount, PASSWORD } from '../helpers/http.js';
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
