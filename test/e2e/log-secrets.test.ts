// No secret reaches the server's log: a whole scenario — sign-up and sign-in with a
// password (right and wrong), a browser session with its CSRF token, API tokens,
// an access key, a backup and a restore with a token — runs against a server logging
// at its most talkative level, and then the whole log is searched for every secret.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliUser } from '../helpers/cli.js';
import { makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { api, expectError, expectStatus, login } from '../helpers/http.js';
import { QingCloudClient } from '../helpers/qingcloud.js';
import { startServer, type TestServer } from '../helpers/server.js';

let dir: string;
let server: TestServer;

before(async () => {
  dir = await makeTempDir('cairn-e2e-log-secrets-');
  server = await startServer({ args: ['--log-level', 'trace'], wholeOutput: true });
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

test('passwords, tokens, access key secrets, session cookies and CSRF tokens never reach the log', async () => {
  const secrets = new Map<string, string>();
  const password = `pw-${randomBytes(12).toString('hex')}`;
  secrets.set('the password', password);

  // Sign-up and sign-in with the password, as a new user does (the CLI stores a token).
  const user = await cliUser(server.url, dir, 'secrets', { password });
  secrets.set("the CLI's token", user.cli.token!);
  const wrong = `wrong-${randomBytes(12).toString('hex')}`;
  secrets.set('a wrong password', wrong);
  expectError(await api(server.url).post('/sessions', { email: user.email, password: wrong }), 401);

  // A browser session: the cookie and its CSRF token, on reads and writes.
  const { session } = await login(server.url, user.email, password);
  secrets.set('the session cookie', session.cookie.slice(session.cookie.indexOf('=') + 1));
  secrets.set('the CSRF token', session.csrf);
  const browser = api(server.url).withSession(session);
  expectStatus(await browser.get('/account'), 200);
  expectStatus(await browser.patch('/account', { timezone: 'UTC' }), 200);
  expectError(await api(server.url).withSession(session, { csrf: false }).patch('/account', { timezone: 'UTC' }), 403);

  // A token made with the CLI, then used, then revoked; an access key.
  const made = await user.cli.ok(['token', 'create', '--name', 'ci']);
  secrets.set('a new token', made.token.token);
  expectStatus(await api(server.url).as(made.token.token).get('/account'), 200);
  expectStatus(await user.api().delete(`/tokens/${made.token.id}`), 200);
  expectError(await api(server.url).as(made.token.token).get('/account'), 401, undefined, 'the revoked token');
  const key = await user.cli.ok(['access-key', 'create']);
  secrets.set('the access key secret', key.secret_access_key);
  // Used to sign a QingCloud action (the signature travels in the URL; the secret never does).
  await new QingCloudClient(server.url, key.access_key_id, key.secret_access_key).ok('DescribeVolumes');

  // A backup and a restore with the CLI's token.
  const disk = join(dir, 'disk.img');
  await writeFile(disk, randomBytes(6 * 1024 * 1024));
  const volume = (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'secrets', '--disk', 'root:6M'])).resource.id;
  const point = (await user.cli.ok(['backup', volume, '--disk', disk, '--full'])).point;
  await user.cli.ok(['restore', point.id, '--to', join(dir, 'restored.img')]);

  // Everything logged, flushed by a clean stop.
  await server.stop();
  const log = server.output();
  const lines = log.split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.length > 50, `the log holds the scenario (${lines.length} lines)`);
  assert.ok(lines.some((l) => l.includes('"/api/v1/sessions"') || l.includes('/api/v1/sessions')), 'the sign-ins are in the log');
  for (const [what, secret] of secrets) {
    assert.ok(secret && secret.length >= 16, `${what} is a real secret: ${secret}`);
    const at = log.indexOf(secret);
    assert.equal(at, -1, `${what} is in the log: …${log.slice(Math.max(0, at - 200), at + 50)}…`);
  }
});
