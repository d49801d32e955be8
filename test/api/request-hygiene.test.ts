// What the outside probe found at the edges of requests: names with control
// characters, a 414 in Fastify's own shape, aborted uploads logged as server
// failures, and answers a browser could sniff into another type.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { api, backup, expectError, expectStatus, newAccount, newVolume, openUpload, randomDisk, type TestAccount } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let owner: TestAccount;
let volume: string;
let point: string;

before(async () => {
  // Info level: what is logged, and at which level, is all there.
  server = await startServer({ args: ['--log-level', 'info'] });
  owner = await newAccount(server.url, { tag: 'hygiene' });
  volume = await newVolume(owner.api, 'hygiene');
  point = (await backup(owner.api, volume, [randomDisk('disk0', 1 << 20)], 'full')).id;
});
after(async () => {
  await server?.stop();
});

test('names with NUL or other control characters are refused with 400 wherever a name is given, and nothing is made', async () => {
  const bad = ['nul\u0000here', 'bell\u0007', 'tab\there', 'line\nbreak', 'esc\u001b[31mred', 'del\u007f', 'c1\u0085next'];
  const before = expectStatus(await owner.api.get('/resources'), 200).total_count;
  for (const name of bad) {
    const what = JSON.stringify(name);
    expectError(await owner.api.post('/resources', { kind: 'volume', name, disks: [{ name: 'disk0', size: 1 << 20 }] }), 400, 'bad_request', `resource ${what}`);
    expectError(await owner.api.post('/resources', { kind: 'volume', name: 'ok', disks: [{ name, size: 1 << 20 }] }), 400, 'bad_request', `disk ${what}`);
    expectError(await owner.api.patch(`/resources/${volume}`, { name }), 400, 'bad_request', `rename ${what}`);
    expectError(await owner.api.post('/tokens', { name }), 400, 'bad_request', `token ${what}`);
    expectError(await owner.api.post('/access-keys', { name }), 400, 'bad_request', `access key ${what}`);
    expectError(await owner.api.patch(`/points/${point}`, { name }), 400, 'bad_request', `point ${what}`);
    expectError(await owner.api.post('/images', { point_id: point, name }), 400, 'bad_request', `image ${what}`);
    expectError(await owner.api.post('/policies', { name, schedule: { kind: 'daily', times: ['02:00'] } }), 400, 'bad_request', `policy ${what}`);
  }
  assert.equal(expectStatus(await owner.api.get('/resources'), 200).total_count, before, 'no resource was made');
  // Names in other scripts, and with inner spaces, are still names.
  expectStatus(await owner.api.patch(`/resources/${volume}`, { name: '数据盘 web — 1' }), 200, 'a name in Chinese with a dash');
});

test('a path parameter too long for the router answers 414 in the API error shape', async () => {
  // A DELETE: a GET this long falls through to the console's catch-all route, whose API 404 is ours already.
  const res = await owner.api.delete(`/points/${'x'.repeat(5000)}`);
  const error = expectError(res, 414, 'uri_too_long');
  assert.ok(!('statusCode' in res.body), `Fastify's own fields are not in the answer: ${res.text}`);
  assert.match(error.message, /longer than any ID or name/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
});

test('every kind of answer says X-Content-Type-Options: nosniff', async () => {
  const manifest = await owner.api.get(`/points/${point}/disks/disk0/manifest`);
  expectStatus(manifest, 200, 'a binary answer');
  const replies = {
    json: await owner.api.get('/account'),
    binary: manifest,
    error: await owner.api.get('/points/ss-zzzzzzzz'),
    anonymous: await api(server.url).get('/account'),
    'no such route': await owner.api.get('/no-such-thing'),
    openapi: await api(server.url).get('/api/v1/openapi.json'),
    console: await api(server.url).get('/'),
  };
  for (const [what, res] of Object.entries(replies)) assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what} (HTTP ${res.status})`);
});

test('an upload the client aborts is logged as a warning, not as a server error', async () => {
  const disk = randomDisk('disk0', 1 << 20);
  const upload = await openUpload(owner.api, volume, [disk]);
  const [digest, blob] = [...disk.chunks][0]!;
  const url = new URL(owner.api.url(`/uploads/${upload}/chunks/${digest}`));
  // The server keeps only the tail of its output: lines are told apart by their time, not their place.
  const since = Date.now();
  await new Promise<void>((resolve) => {
    const req = httpRequest(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/octet-stream', 'content-length': String(blob.length) },
    });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    // Half the blob, then the client goes away.
    req.write(blob.subarray(0, blob.length >> 1), () => setTimeout(() => req.destroy(), 100));
  });
  let lines: { level: number; msg: string; time: number }[] = [];
  for (let i = 0; i < 50; i++) {
    lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; time: number })
      .filter((l) => l.time >= since);
    if (lines.some((l) => /abort/i.test(l.msg))) break;
    await sleep(100);
  }
  assert.ok(lines.some((l) => /aborted/.test(l.msg) && (l.level === 30 || l.level === 40)), `an info or warning line says the client aborted:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
  assert.deepEqual(lines.filter((l) => l.level >= 50), [], 'no error line');
  // The upload is still open and takes the chunk whole.
  expectStatus(await owner.api.request('PUT', `/uploads/${upload}/chunks/${digest}`, undefined, { raw: blob, contentType: 'application/octet-stream' }), 201);
});
