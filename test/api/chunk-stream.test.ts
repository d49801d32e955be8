// Chunk streams (src/api/chunk-stream.ts): upload batches over a connection
// taken over from HTTP. They store what a batch request stores, refuse what it
// refuses, and a refusal ends the stream with nothing of the batch stored.
// Restore reads over such streams serve what batch reads serve, to whom they serve it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { BLOB_SLOT, formatBatchQuery, batchBodyParts } from '../../src/wire/chunk-batch.js';
import { CHUNK_STREAM_PROTOCOL, encodeFrame, FRAME_PREFIX, FrameTextReader, MAX_FRAME_TEXT } from '../../src/wire/frames.js';
import { encodeChunk } from '../../src/format/chunk-codec.js';
import { encodeManifest } from '../../src/format/manifest.js';
import { ChunkReadStream, ChunkStream } from '../../src/cli/chunk-stream.js';
import { CairnClient } from '../../src/cli/http-client.js';
import { expectError, expectStatus, newAccount, newVolume, openUpload, type TestAccount } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const octets = { contentType: 'application/octet-stream' };
const DISK = { name: 'disk0', size: 1 << 20 };

let server: TestServer;
let owner: TestAccount;
let stranger: TestAccount;
let volume: string;

before(async () => {
  server = await startServer();
  owner = await newAccount(server.url, { tag: 'stream' });
  stranger = await newAccount(server.url, { tag: 'stream-other' });
  volume = await newVolume(owner.api, 'streamed');
});
after(() => server?.stop());

const clientOf = (account: TestAccount, token = account.token) => new CairnClient({ server: server.url, token });
const streamPath = (upload: string) => `/api/v1/uploads/${upload}/chunk-stream`;
const chunk = (seed: number) => encodeChunk(Buffer.alloc(64 * 1024 + seed, seed));
/** A chunk that fills DISK whole, as a manifest's one place for it needs (commit checks each chunk's length). */
const diskChunk = (seed: number) => encodeChunk(Buffer.alloc(DISK.size, seed));
const missing = async (upload: string, digests: string[]): Promise<string[]> =>
  expectStatus(await owner.api.post(`/uploads/${upload}/missing`, { digests }), 200, 'ask for missing chunks').missing;

async function refusal(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CairnError, `a CairnError, not ${String(err)}`);
    return err;
  }
  assert.fail('expected a refusal');
}

/** A stream socket to talk to by hand: what the server answers to raw bytes. */
async function rawStream(path: string): Promise<{ socket: Duplex; answer(): Promise<{ status?: number; error?: { code: string; message: string }; chunks?: unknown[] }>; ended: Promise<void> }> {
  const taken = await clientOf(owner).upgrade(path, CHUNK_STREAM_PROTOCOL);
  assert.ok(taken, 'the server takes the stream');
  const { socket } = taken;
  const reader = new FrameTextReader();
  const texts: string[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (piece: Buffer) => {
    for (let at = 0; at < piece.length; ) {
      const { used, text } = reader.take(piece.subarray(at));
      at += used;
      if (text !== undefined) texts.push(text);
    }
    wake?.();
  });
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return {
    socket,
    ended,
    async answer() {
      while (texts.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return JSON.parse(texts.shift()!) as never;
    },
  };
}

/** A client of the owner's behind a proxy that drops the Upgrade header, so that the server answers 426. */
async function behindUpgradeDroppingProxy(use: (client: CairnClient) => Promise<void>): Promise<void> {
  const proxy = createServer((_req, res) => res.writeHead(426, { 'content-type': 'application/json' }).end('{"error":{"code":"upgrade_required","message":"no"}}'));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = proxy.address() as AddressInfo;
    await use(new CairnClient({ server: `http://127.0.0.1:${port}`, token: owner.token }));
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
  }
}

describe('chunk streams', () => {
  it('store batch after batch, as batch requests do, for the commit to find', async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    const stream = await ChunkStream.open(clientOf(owner), upload);
    assert.ok(stream, 'the server offers streams');
    const first = [diskChunk(1), chunk(2)];
    const second = [chunk(3)];
    try {
      assert.deepEqual(await stream.send(first), first.map(({ digest }) => ({ digest, stored: true })));
      assert.deepEqual(await stream.send(second), [{ digest: second[0]!.digest, stored: true }]);
      assert.ok(stream.usable);
    } finally {
      stream.close();
    }
    const all = [...first, ...second];
    assert.deepEqual(await missing(upload, all.map((c) => c.digest)), [], 'every chunk is stored');
    const manifest = encodeManifest({ size: DISK.size, chunkSize: 4 * 1024 * 1024, chunks: [all[0]!.digest] });
    expectStatus(await owner.api.request('PUT', `/uploads/${upload}/disks/${DISK.name}/manifest`, undefined, { raw: manifest, ...octets }), 200, 'put the manifest');
    expectStatus(await owner.api.post(`/uploads/${upload}/commit`), 200, 'commit');
  });

  it('are refused, as HTTP answers, to anyone but the owner of an open upload', async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    assert.equal((await refusal(clientOf(owner, 'not-a-token').upgrade(streamPath(upload), CHUNK_STREAM_PROTOCOL))).status, 401);
    assert.equal((await refusal(new CairnClient({ server: server.url }).upgrade(streamPath(upload), CHUNK_STREAM_PROTOCOL))).status, 401);
    // Another tenant's upload, like one that does not exist, is not found.
    assert.equal((await refusal(clientOf(stranger).upgrade(streamPath(upload), CHUNK_STREAM_PROTOCOL))).status, 404);
    assert.equal((await refusal(clientOf(owner).upgrade(streamPath('ss-00000000'), CHUNK_STREAM_PROTOCOL))).status, 404);
    assert.equal((await refusal(clientOf(owner).upgrade(streamPath('%E0%A4%A'), CHUNK_STREAM_PROTOCOL))).status, 400, 'a malformed ID');
    const wrong = await refusal(clientOf(owner).upgrade(streamPath(upload), 'websocket'));
    assert.equal(wrong.status, 400);
    assert.match(wrong.message, new RegExp(CHUNK_STREAM_PROTOCOL));
    assert.equal((await refusal(clientOf(owner).upgrade('/api/v1/health', CHUNK_STREAM_PROTOCOL))).status, 404, 'no stream anywhere else');
    // Without the Upgrade header (a proxy dropped it), a plain answer that says so.
    const plain = expectError(await owner.api.get(`/uploads/${upload}/chunk-stream`), 426, 'upgrade_required');
    assert.match(plain.message, new RegExp(CHUNK_STREAM_PROTOCOL));
    expectError(await stranger.api.get(`/uploads/${upload}/chunk-stream`), 404);
  });

  it('are not asked for again where the Upgrade header does not get through', async () => {
    // What the client sees behind such a proxy: the server's 426. It then sends batch requests.
    await behindUpgradeDroppingProxy(async (client) => {
      assert.equal(await client.upgrade(streamPath('ss-00000000'), CHUNK_STREAM_PROTOCOL), null);
      assert.equal(await ChunkStream.open(client, 'ss-00000000'), null);
    });
  });

  it('refuse a batch with a corrupt blob whole, and end', async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    const good = chunk(10);
    const bad = chunk(11);
    const garbage = Buffer.from(bad.blob);
    garbage[garbage.length - 1]! ^= 0xff;
    const stream = await ChunkStream.open(clientOf(owner), upload);
    assert.ok(stream);
    try {
      const err = await refusal(stream.send([good, { digest: bad.digest, blob: garbage }]));
      assert.equal(err.status, 400);
      assert.equal(err.code, 'chunk_corrupt');
      assert.match(err.message, new RegExp(bad.digest));
      assert.equal(stream.usable, false, 'a refusal ends the stream');
    } finally {
      stream.close();
    }
    assert.deepEqual(await missing(upload, [good.digest, bad.digest]), [good.digest, bad.digest], 'nothing of the batch is stored');
  });

  it('refuse malformed frames with a reason, storing nothing', async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    const c = chunk(20);
    const cases: { name: string; bytes: Uint8Array[]; mentions: RegExp }[] = [
      { name: 'an empty frame', bytes: [Buffer.alloc(FRAME_PREFIX)], mentions: /1 to \d+ bytes, not 0/ },
      { name: 'a frame longer than any', bytes: [Buffer.from([0xff, 0xff, 0xff, 0xff])], mentions: new RegExp(`1 to ${MAX_FRAME_TEXT} bytes`) },
      { name: 'a list that is not of chunks', bytes: [encodeFrame('hello')], mentions: /not a chunk digest/ },
      { name: 'a blob length of zero', bytes: [encodeFrame(`${c.digest}:0`)], mentions: /blob length/ },
      {
        name: 'bytes after the batch, before its answer',
        bytes: [encodeFrame(formatBatchQuery([{ digest: c.digest, length: c.blob.length }])), ...batchBodyParts([c.blob]), Buffer.from('more')],
        mentions: /after its answer|one batch at a time/,
      },
    ];
    for (const { name, bytes, mentions } of cases) {
      const { socket, answer, ended } = await rawStream(streamPath(upload));
      socket.write(Buffer.concat(bytes));
      const reply = await answer();
      assert.equal(reply.status, 400, name);
      assert.equal(reply.error?.code, 'bad_request', name);
      assert.match(reply.error?.message ?? '', mentions, name);
      await ended;
    }
    assert.deepEqual(await missing(upload, [c.digest]), [c.digest]);
  });

  it('check the token for every batch', async () => {
    const account = await newAccount(server.url, { tag: 'stream-revoked' });
    const own = await newVolume(account.api, 'revoked');
    const upload = await openUpload(account.api, own, [DISK], 'full');
    const stream = await ChunkStream.open(clientOf(account), upload);
    assert.ok(stream);
    try {
      await stream.send([chunk(30)]);
      expectStatus(await account.api.delete(`/tokens/${account.tokenId}`), 200, 'revoke the token');
      const err = await refusal(stream.send([chunk(31)]));
      assert.equal(err.status, 401);
    } finally {
      stream.close();
    }
  });

  it('refuse batches once the upload is closed', async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    expectStatus(await owner.api.delete(`/uploads/${upload}`), 204, 'cancel the upload');
    const stream = await ChunkStream.open(clientOf(owner), upload);
    assert.ok(stream, 'a closed upload is still the caller\'s to ask about');
    try {
      const err = await refusal(stream.send([chunk(40)]));
      assert.equal(err.status, 409);
      assert.equal(err.code, 'upload_closed');
    } finally {
      stream.close();
    }
    expectError(await owner.api.post(`/uploads/${upload}/missing`, { digests: [chunk(40).digest] }), 409, 'upload_closed');
  });
});

describe('chunk read streams', () => {
  let point: string;
  const named = diskChunk(50);
  const pointPath = (id: string) => `/api/v1/points/${id}`;

  before(async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    const stream = await ChunkStream.open(clientOf(owner), upload);
    assert.ok(stream);
    try {
      await stream.send([named, chunk(51)]);
    } finally {
      stream.close();
    }
    const manifest = encodeManifest({ size: DISK.size, chunkSize: 4 * 1024 * 1024, chunks: [named.digest] });
    expectStatus(await owner.api.request('PUT', `/uploads/${upload}/disks/${DISK.name}/manifest`, undefined, { raw: manifest, ...octets }), 200, 'put the manifest');
    point = expectStatus(await owner.api.post(`/uploads/${upload}/commit`), 200, 'commit').point.id;
  });

  it('serve the chunks a point names, read after read, into the slots given', async () => {
    const stream = await ChunkReadStream.open(clientOf(owner), pointPath(point));
    assert.ok(stream, 'the server offers read streams');
    try {
      for (let read = 0; read < 3; read++) {
        const into = Buffer.alloc(2 * BLOB_SLOT);
        const [blob] = await stream.fetch([named.digest], undefined, into);
        assert.ok(blob && blob.equals(named.blob), `read ${read} answers the stored blob`);
        assert.equal(blob.buffer, into.buffer, 'in the memory given');
      }
      assert.ok(stream.usable);
      // A chunk that was uploaded but that the point does not name is not found, as through GET …/chunks; the stream ends.
      const err = await refusal(stream.fetch([chunk(51).digest], undefined, Buffer.alloc(BLOB_SLOT)));
      assert.equal(err.status, 404);
      assert.equal(stream.usable, false);
    } finally {
      stream.close();
    }
  });

  it('carry whole incompressible chunks both ways', async () => {
    // 4 MiB blobs take the path where most of each is read by libuv into its slot itself (readsInto's target), on both sides.
    const big = [encodeChunk(randomBytes(4 * 1024 * 1024)), encodeChunk(randomBytes(4 * 1024 * 1024 - 4096 + 17))];
    // The disk ends where the second chunk does: its last place is that chunk's length.
    const size = 4 * 1024 * 1024 + (4 * 1024 * 1024 - 4096 + 17);
    const bigVolume = expectStatus(await owner.api.post('/resources', { kind: 'volume', name: 'streamed-big', disks: [{ name: 'disk0', size }] }), 201, 'create a volume').resource.id;
    const upload = await openUpload(owner.api, bigVolume, [{ name: 'disk0', size }], 'full');
    const up = await ChunkStream.open(clientOf(owner), upload);
    assert.ok(up);
    try {
      assert.deepEqual(await up.send(big), big.map(({ digest }) => ({ digest, stored: true })));
    } finally {
      up.close();
    }
    const manifest = encodeManifest({ size, chunkSize: 4 * 1024 * 1024, chunks: big.map((c) => c.digest) });
    expectStatus(await owner.api.request('PUT', `/uploads/${upload}/disks/disk0/manifest`, undefined, { raw: manifest, ...octets }), 200, 'put the manifest');
    const bigPoint = expectStatus(await owner.api.post(`/uploads/${upload}/commit`), 200, 'commit').point.id;
    const down = await ChunkReadStream.open(clientOf(owner), pointPath(bigPoint));
    assert.ok(down);
    try {
      const blobs = await down.fetch(big.map((c) => c.digest), undefined, Buffer.alloc(2 * BLOB_SLOT));
      blobs.forEach((blob, i) => assert.ok(blob.equals(big[i]!.blob), `blob ${i} came back whole`));
    } finally {
      down.close();
    }
  });

  it('are refused, as HTTP answers, to those who may not read the point or image', async () => {
    const path = `${pointPath(point)}/chunk-stream`;
    assert.equal((await refusal(clientOf(owner, 'not-a-token').upgrade(path, CHUNK_STREAM_PROTOCOL))).status, 401);
    assert.equal((await refusal(clientOf(stranger).upgrade(path, CHUNK_STREAM_PROTOCOL))).status, 404);
    assert.equal((await refusal(clientOf(stranger).upgrade('/api/v1/images/img-00000000/chunk-stream', CHUNK_STREAM_PROTOCOL))).status, 404);
    assert.equal((await refusal(clientOf(owner).upgrade('/api/v1/images/ss-00000000/chunk-stream', CHUNK_STREAM_PROTOCOL))).status, 400, 'a point ID for an image');
    const plain = expectError(await owner.api.get(`/points/${point}/chunk-stream`), 426, 'upgrade_required');
    assert.match(plain.message, /GET …\/chunks/);
    expectError(await stranger.api.get(`/points/${point}/chunk-stream`), 404);
  });

  it('check the token for every read', async () => {
    const { token } = expectStatus(await owner.api.post('/tokens', { name: 'read stream' }), 201, 'make a token');
    const stream = await ChunkReadStream.open(clientOf(owner, token.token), pointPath(point));
    assert.ok(stream);
    try {
      await stream.fetch([named.digest], undefined, Buffer.alloc(BLOB_SLOT));
      expectStatus(await owner.api.delete(`/tokens/${token.id}`), 200, 'revoke the token');
      assert.equal((await refusal(stream.fetch([named.digest], undefined, Buffer.alloc(BLOB_SLOT)))).status, 401);
    } finally {
      stream.close();
    }
  });

  it('refuse malformed reads with a reason, and end', async () => {
    const cases: { name: string; text: string; mentions: RegExp }[] = [
      { name: 'not digests', text: 'hello', mentions: /not a chunk digest/ },
      { name: 'too many', text: Array.from({ length: 5 }, (_, i) => chunk(60 + i).digest).join(','), mentions: /1 to 4 chunks/ },
      { name: 'a digest twice', text: `${named.digest},${named.digest}`, mentions: /listed twice/ },
    ];
    for (const { name, text, mentions } of cases) {
      const { socket, answer, ended } = await rawStream(`${pointPath(point)}/chunk-stream`);
      socket.write(encodeFrame(text));
      const reply = await answer();
      assert.equal(reply.status, 400, name);
      assert.match(reply.error?.message ?? '', mentions, name);
      await ended;
    }
  });

  it('are not asked for where the Upgrade header does not get through', async () => {
    // The restore then reads with GET …/chunks.
    await behindUpgradeDroppingProxy(async (client) => assert.equal(await ChunkReadStream.open(client, pointPath(point)), null));
  });
});

/** An Upgrade request sent by hand, and the HTTP answer it gets instead of a stream (a stream taken fails the test). */
async function refusedUpgrade(path: string, headers: Record<string, string>): Promise<{ status: number; body: unknown; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.url), { method: 'GET', agent: false, headers: { connection: 'Upgrade', upgrade: CHUNK_STREAM_PROTOCOL, ...headers } });
    req.on('upgrade', (_res, socket: Duplex) => {
      socket.destroy();
      reject(new Error(`the server took a stream at ${path}`));
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('chunk stream upgrades, as requests of the API', () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('get the API\'s 404 where no route takes a stream, and the connection closes', async () => {
    for (const path of ['/api/v1/nowhere/chunk-stream', '/api/v1/health', '/']) {
      const answer = await refusedUpgrade(path, bearer(owner.token));
      assert.equal(answer.status, 404, path);
      assert.equal(answer.connection, 'close', path);
      const { error } = answer.body as { error: { code: string; message: string } };
      assert.equal(error.code, 'not_found', path);
      assert.match(error.message, new RegExp(`^No route GET ${path.replaceAll('/', '\\/')};`), path);
    }
  });

  it('get the API\'s 401, body and all, for a token it does not know', async () => {
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    const answer = await refusedUpgrade(streamPath(upload), bearer('not-a-token'));
    assert.equal(answer.status, 401);
    // The same body the route answers without the Upgrade header.
    const plain = await fetch(new URL(streamPath(upload), server.url), { headers: bearer('not-a-token') });
    assert.equal(plain.status, 401);
    assert.deepEqual(answer.body, await plain.json());
    assert.equal((answer.body as { error: { code: string } }).error.code, 'unauthorized');
  });

  it('are refused with 401 to a session cookie, which the HTTP route answers with 426', async () => {
    // Streams are opened with API tokens only: no browser can send the Upgrade header, and a cookie-borne upload would skip the CSRF check.
    const upload = await openUpload(owner.api, volume, [DISK], 'full');
    const cookie = { cookie: owner.session.cookie, 'x-csrf-token': owner.session.csrf };
    const answer = await refusedUpgrade(streamPath(upload), cookie);
    assert.equal(answer.status, 401);
    const { error } = answer.body as { error: { code: string; message: string } };
    assert.equal(error.code, 'unauthorized');
    assert.match(error.message, /API token/);
    // The caller is known all the same: another tenant's upload is not found, as through HTTP.
    const stranger = await refusedUpgrade(streamPath(upload), { cookie: (await newAccount(server.url, { tag: 'stream-cookie' })).session.cookie });
    assert.equal(stranger.status, 404);
    expectError(await owner.api.withSession(owner.session).get(`/uploads/${upload}/chunk-stream`), 426, 'upgrade_required');
  });
});
