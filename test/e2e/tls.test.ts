import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFile, readFile } from 'node:fs/promises';
import https from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import tls, { type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { BLOB_SLOT } from '../../src/wire/chunk-batch.js';
import { ChunkReadStream } from '../../src/cli/chunk-stream.js';
import { CairnClient } from '../../src/cli/http-client.js';
import { transportFrom } from '../../src/cli/transport.js';
import { Cli, cliUser, fillRandom, makeRawDisk, MiB, parseManifest, until, type CliUser } from '../helpers/cli.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { api, expectStatus, PASSWORD, randomEmail } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { makeCa, makeServerCert, type TestCa, type TestCert } from '../helpers/tls.js';

// End to end over HTTPS: `cairn serve --tls-cert --tls-key` with certificates
// made by openssl now, the real CLI in child processes trusting the test CA
// through CAIRN_CA, chunk streams over TLS, and a certificate swapped on SIGHUP.

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let first: TestCert;
let second: TestCert;
/** The files the server is pointed at; a reload copies another certificate over them. */
const live = { cert: '', key: '' };
let server: TestServer;
let alice: CliUser;
let point: string;
let vol: string;
let disk: string;
let caPem: string;

const caEnv = () => ({ CAIRN_CA: ca.certFile });
const clientOf = (token: string) => new CairnClient({ server: server.url, token, transport: transportFrom({ ca: ca.certFile }, {}) });

/** The serial number of the certificate a new TLS connection to the server is shown. */
async function servedSerial(): Promise<string> {
  const { port } = new URL(server.url);
  const socket = tls.connect({ host: '127.0.0.1', port: Number(port), ca: caPem, servername: 'localhost' });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerCertificate().serialNumber.toUpperCase();
  } finally {
    socket.destroy();
  }
}

before(async () => {
  dir = await makeTempDir('cairn-e2e-tls-');
  [ca, otherCa] = await Promise.all([makeCa(dir, 'good'), makeCa(dir, 'other')]);
  [first, second] = await Promise.all([makeServerCert(dir, ca, 'server-1'), makeServerCert(dir, ca, 'server-2')]);
  caPem = await readFile(ca.certFile, 'utf8');
  live.cert = join(dir, 'live.pem');
  live.key = join(dir, 'live.key');
  await copyFile(first.certFile, live.cert);
  await copyFile(first.keyFile, live.key);
  server = await startServer({ args: ['--tls-cert', live.cert, '--tls-key', live.key] });
  alice = await cliUser(server.url, dir, 'alice', { env: caEnv() });
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

describe('cairn serve --tls-cert --tls-key', () => {
  it('serves HTTPS with the certificate given', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await servedSerial(), first.serial);
  });

  it('backs up and restores a disk over TLS with the CLI, bit for bit, chunk streams included', async () => {
    disk = await makeRawDisk(join(dir, 'disk.img'), 48 * MiB, 28 * MiB, 'tls');
    vol = (await alice.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'tls', '--disk', 'root:48M'])).resource.id;
    point = (await alice.cli.ok(['backup', vol, '--disk', disk, '--full'], { timeoutMs: 120_000 })).point.id;
    const target = join(dir, 'restored.img');
    await alice.cli.ok(['restore', point, '--to', target], { timeoutMs: 120_000 });
    assert.ok(await filesEqual(target, disk), 'the restore over TLS differs from the disk backed up');

    // The upgraded connection itself, over TLS: the server's socket is a TLSSocket, read through its data events.
    const client = clientOf(alice.cli.token!);
    const manifest = parseManifest((await client.getBuffer(`/api/v1/points/${point}/disks/root/manifest`)).body);
    const digests = [...new Set(manifest.chunks.filter((d): d is string => d !== null))].slice(0, 2);
    assert.equal(digests.length, 2);
    const stream = await ChunkReadStream.open(client, `/api/v1/points/${point}`);
    assert.ok(stream, 'the server offers chunk streams over TLS (no 426)');
    try {
      const blobs = await stream.fetch(digests, undefined, Buffer.alloc(2 * BLOB_SLOT));
      for (const [i, digest] of digests.entries()) {
        const plain = (await client.getBuffer(`/api/v1/points/${point}/chunks/${digest}`)).body;
        assert.ok(blobs[i]!.equals(plain), `chunk ${digest} over the stream is the one a GET answers`);
      }
    } finally {
      stream.close();
    }
  });

  it('is refused by a CLI that does not trust its CA, saying what to do, before anything is sent', async () => {
    for (const env of [{ CAIRN_CA: otherCa.certFile }, {}]) {
      const stranger = new Cli(server.url, join(dir, 'stranger.json'), env);
      const r = await stranger.fails(['register', '--email', randomEmail('mitm'), '--password', PASSWORD], 1);
      assert.match(r.stderr, /presented a certificate not signed by any CA this client trusts/);
      assert.match(r.stderr, /--ca FILE \(or set CAIRN_CA=FILE\)/);
      assert.doesNotMatch(r.stderr, /cairn serve/, 'not mistaken for a server that is down');
    }
    // The same CLI with the right CA gets through.
    const ok = new Cli(server.url, join(dir, 'ok.json'), caEnv());
    await ok.ok(['register', '--email', randomEmail('ok'), '--password', PASSWORD]);
  });

  it('lets an agent trusting the CA carry out a rollback over TLS; one that does not is refused at start', async () => {
    assert.ok(point, 'the backup test ran first');
    const hosted = join(dir, 'agent-disk.img');
    await copyFile(disk, hosted);
    await fillRandom(hosted, 8 * MiB, 2 * MiB, 'drift');
    const refused = await new Cli(server.url, join(dir, 'agent-other.json'), { CAIRN_CA: otherCa.certFile, CAIRN_TOKEN: alice.cli.token! }).fails(['agent', '--name', 'untrusting', '--map', `${vol}:${hosted}`], 1);
    assert.match(refused.stderr, /not signed by any CA this client trusts/);
    const agent = alice.cli.spawn(['agent', '--name', 'tls-host', '--map', `${vol}:${hosted}`, '--poll-ms', '200'], { json: false });
    try {
      await agent.waitFor(/agent agt-\w+ \(tls-host\) hosting/);
      const r = await alice.cli.ok(['rollback', point], { timeoutMs: 60_000 });
      assert.equal(r.job.status, 'successful');
      await agent.waitFor(new RegExp(`rolled back to ${point}`));
      assert.ok(await filesEqual(hosted, disk), 'the agent wrote the point back over TLS');
    } finally {
      const force = setTimeout(() => agent.child.kill('SIGKILL'), 5_000);
      await agent.kill('SIGTERM');
      clearTimeout(force);
    }
  });

  it('says which scheme to use when the URL has the wrong one', async () => {
    const plainUrl = server.url.replace(/^https:/, 'http:');
    const r = await new Cli(plainUrl, join(dir, 'plain.json'), caEnv()).fails(['register', '--email', randomEmail('scheme'), '--password', PASSWORD], 1);
    assert.match(r.stderr, /if the server serves HTTPS, use an https:\/\/ URL/);
    const plain = await startServer();
    try {
      const tlsUrl = plain.url.replace(/^http:/, 'https:');
      const t = await new Cli(tlsUrl, join(dir, 'tls.json'), caEnv()).fails(['register', '--email', randomEmail('scheme'), '--password', PASSWORD], 1);
      assert.match(t.stderr, /no TLS there .*use an http:\/\/ URL/);
    } finally {
      await plain.stop();
    }
  });

  it('refuses a certificate issued for another name', async () => {
    const named = await makeServerCert(dir, ca, 'elsewhere', { hosts: ['DNS:backup.example.net'] });
    const other = await startServer({ args: ['--tls-cert', named.certFile, '--tls-key', named.keyFile] });
    try {
      const r = await new Cli(other.url, join(dir, 'named.json'), caEnv()).fails(['register', '--email', randomEmail('name'), '--password', PASSWORD], 1);
      assert.match(r.stderr, /a certificate issued for another name/);
    } finally {
      await other.stop();
    }
  });

  it('takes a new certificate on SIGHUP for new connections, while open ones and chunk streams keep working', async () => {
    assert.ok(point, 'the backup test ran first');
    const client = clientOf(alice.cli.token!);
    const digest = parseManifest((await client.getBuffer(`/api/v1/points/${point}/disks/root/manifest`)).body).chunks.find((d) => d !== null)!;
    // A kept-alive connection and a chunk stream, both open across the reload.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: caPem });
    const health = () =>
      new Promise<{ status: number; reused: boolean; serial: string }>((resolve, reject) => {
        const req = https.get(`${server.url}/api/v1/health`, { agent }, (res) => {
          // Read now: once the answer has ended, the socket goes back to the agent.
          const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber.toUpperCase();
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, serial }));
        });
        req.on('error', reject);
      });
    const stream = await ChunkReadStream.open(client, `/api/v1/points/${point}`);
    assert.ok(stream);
    try {
      const before = await health();
      assert.deepEqual([before.status, before.serial], [200, first.serial]);
      const [blobBefore] = await stream.fetch([digest], undefined, Buffer.alloc(BLOB_SLOT));

      await copyFile(second.certFile, live.cert);
      await copyFile(second.keyFile, live.key);
      process.kill(server.pid, 'SIGHUP');
      await until('a new connection to be shown the new certificate', async () => (await servedSerial()) === second.serial, 20_000);

      const kept = await health();
      assert.deepEqual(kept, { status: 200, reused: true, serial: first.serial }, 'the kept-alive connection still answers, with the certificate it began with');
      const [blobAfter] = await stream.fetch([digest], undefined, Buffer.alloc(BLOB_SLOT));
      assert.ok(blobAfter!.equals(Buffer.from(blobBefore!)), 'the chunk stream opened before the reload still serves reads');
      assert.ok(stream.usable);
      // And the CLI, on new connections, with the new certificate.
      await alice.cli.ok(['resource', 'list']);
    } finally {
      stream.close();
      agent.destroy();
    }

    // A pair that does not belong together is refused at the reload; the server keeps serving the last good one.
    await copyFile(first.keyFile, live.key);
    process.kill(server.pid, 'SIGHUP');
    await until('the refused reload to be logged', async () => /TLS certificate not reloaded/.test(server.output()), 20_000);
    assert.match(server.output(), /the key does not belong to the certificate/);
    assert.equal(await servedSerial(), second.serial);
    await alice.cli.ok(['resource', 'list']);
  });

  it('refuses to start with a certificate and no key, or a key of another certificate', async () => {
    await assert.rejects(startServer({ args: ['--tls-cert', first.certFile] }), /HTTPS needs both a certificate and its key: add --tls-key FILE/);
    await assert.rejects(startServer({ args: ['--tls-cert', first.certFile, '--tls-key', second.keyFile] }), /cannot be used together: the key does not belong to the certificate/);
    await assert.rejects(startServer({ env: { CAIRN_TLS_CERT: join(dir, 'nothing.pem'), CAIRN_TLS_KEY: first.keyFile } }), /Cannot read the TLS certificate .*nothing\.pem/);
  });

  it('makes session cookies Secure', async () => {
    const email = randomEmail('cookie');
    const dispatcher = new Agent({ connect: { ca: caPem } });
    try {
      const registered = await undiciFetch(`${server.url}/api/v1/accounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }), dispatcher });
      assert.equal(registered.status, 201);
      // A client's claim that it came over plain HTTP does not matter: this connection is TLS.
      const res = await undiciFetch(`${server.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'http' }, body: JSON.stringify({ email, password: PASSWORD }), dispatcher });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('set-cookie') ?? '', /^cairn_session=[^;]+;.*\bSecure\b/i);
    } finally {
      await dispatcher.close();
    }
  });
});

describe('behind a TLS proxy (--trust-proxy)', () => {
  let plain: TestServer;
  const email = randomEmail('proxied');
  before(async () => {
    // By the environment, as a service manager would set it.
    plain = await startServer({ env: { CAIRN_TRUST_PROXY: '127.0.0.1' } });
    expectStatus(await api(plain.url).post('/accounts', { email, password: PASSWORD }), 201, 'register');
  });
  after(() => plain?.stop());

  const cookieOf = async (from: string, headers: Record<string, string>) => {
    const res = await api(plain.url).from(from).post('/sessions', { email, password: PASSWORD }, { headers });
    expectStatus(res, 200, 'sign in');
    return res.headers.get('set-cookie') ?? '';
  };

  it('makes the session cookie Secure when the proxy says the browser came over HTTPS', async () => {
    assert.match(await cookieOf('127.0.0.1', { 'x-forwarded-proto': 'https' }), /\bSecure\b/i);
  });

  it('leaves it without Secure over plain HTTP, and ignores the header from an address not trusted', async () => {
    assert.doesNotMatch(await cookieOf('127.0.0.1', {}), /\bSecure\b/i, 'no header: plain HTTP');
    assert.doesNotMatch(await cookieOf('127.0.0.1', { 'x-forwarded-proto': 'http' }), /\bSecure\b/i, 'the proxy says http');
    assert.doesNotMatch(await cookieOf('127.0.0.2', { 'x-forwarded-proto': 'https' }), /\bSecure\b/i, 'a client that is not the proxy cannot claim it');
  });
});

describe('plain HTTP to another machine', () => {
  /** This machine's first address that is not loopback: a server there is "another machine" to the rule, yet reachable. */
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  let listener: Server;
  let port: number;
  const connections: Socket[] = [];

  before(async () => {
    // A listener that only counts who connects: the refusal must come before any connection.
    listener = createServer((socket) => {
      connections.push(socket);
      socket.destroy();
    });
    listener.listen(0, '0.0.0.0');
    await once(listener, 'listening');
    port = (listener.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it('is refused without --insecure-http, saying what to do, before any connection', async () => {
    // Without an external interface, a non-routable address: a connection attempt would hang for the CLI's whole timeout.
    const host = external ?? '10.255.255.1';
    const cli = new Cli(`http://${host}:${port}`, join(dir, 'far.json'));
    cli.token = 'cairn_not_a_real_token';
    const started = Date.now();
    for (const args of [['resource', 'list'], ['register', '--email', randomEmail('far'), '--password', PASSWORD], ['login', '--email', randomEmail('far'), '--password', PASSWORD]]) {
      const r = await cli.fails(args, 2);
      assert.match(r.stderr, new RegExp(`Refusing plain HTTP to ${host.replace(/\./g, '\\.')}:${port}: your API token and your disks' data would cross the network unencrypted`));
      assert.match(r.stderr, /Use https:\/\/.*--tls-cert and --tls-key.*--insecure-http \(or set CAIRN_INSECURE_HTTP=true\)/);
    }
    assert.equal(connections.length, 0, 'nothing connected');
    assert.ok(Date.now() - started < 30_000, 'refused at once, not after a connection timed out');
  });

  it('is allowed with --insecure-http or CAIRN_INSECURE_HTTP', async (t) => {
    if (!external) return t.skip('this machine has no address but loopback');
    const cli = new Cli(`http://${external}:${port}`, join(dir, 'far.json'));
    cli.token = 'cairn_not_a_real_token';
    // The listener is no Cairn server (it hangs up): what matters is that the CLI connected.
    const r = await cli.run(['--insecure-http', 'resource', 'list']);
    assert.doesNotMatch(r.stderr, /Refusing plain HTTP/);
    await until('the CLI to connect', async () => connections.length >= 1);
    const byEnv = await new Cli(`http://${external}:${port}`, join(dir, 'far.json'), { CAIRN_INSECURE_HTTP: 'true', CAIRN_TOKEN: 'cairn_not_a_real_token' }).run(['resource', 'list']);
    assert.doesNotMatch(byEnv.stderr, /Refusing plain HTTP/);
    await until('the CLI to connect again', async () => connections.length >= 2);
  });
});
