// Bad requests of every kind get a 4xx with an error that says what is wrong, and
// change nothing: the state seen through the API and in the database is compared
// before and after the whole batch.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTestStore, type TestStore } from '../helpers/db.js';
import { MAX_BATCH_CHUNKS } from '../../src/wire/chunk-batch.js';
import { encodeChunk, CHUNK_SIZE } from '../../src/format/chunk-codec.js';
import { encodeManifest } from '../../src/format/manifest.js';
import {
  api,
  backup,
  batchBody,
  batchQuery,
  expectError,
  expectStatus,
  newAccount,
  newSubaccount,
  newVolume,
  openUpload,
  PASSWORD,
  randomDisk,
  randomEmail,
  unknownId,
  type Query,
  type TestAccount,
} from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let store: TestStore;
let owner: TestAccount;
let sub: TestAccount;
let volume: string;
let job: string;
let chain: string;
let point: string;
let pointDigest: string;
let upload: string;
const DISK = { name: 'disk0', size: 1 << 20 };

before(async () => {
  server = await startServer();
  store = await openTestStore({ database: server.database });
  owner = await newAccount(server.url, { tag: 'valid' });
  sub = await newSubaccount(owner);
  volume = await newVolume(owner.api, 'keep me');
  job = (await store.services.jobs.create({ accountId: owner.id, action: 'backup', runner: 'server', resourceId: volume })).id;
  const disk = randomDisk(DISK.name, DISK.size);
  const full = await backup(owner.api, volume, [disk], 'full');
  chain = full.chain_id;
  point = full.id;
  pointDigest = [...disk.chunks.keys()][0]!;
  upload = await openUpload(owner.api, volume, [DISK]);
});
after(async () => {
  await store?.close();
  await server?.stop();
});

/** Everything a bad request could have changed. */
async function snapshot() {
  const get = async (path: string) => expectStatus(await owner.api.get(path, { limit: 100 }), 200);
  const db = store.meta.db;
  const tables = ['accounts', 'sessions', 'api_tokens', 'resources', 'disks', 'jobs', 'chains', 'points', 'chunks', 'manifests', 'uploads', 'shares', 'images', 'events'] as const;
  const rows: Record<string, number> = {};
  for (const table of tables) rows[table] = Number((await db.selectFrom(table).select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  // Requests on an open upload renew its lease, so a job's timestamps may move; what it is may not.
  const jobs = (await get('/jobs')).items.map((j: { id: string; status: string; progress: number; error: string | null }) => [j.id, j.status, j.progress, j.error]);
  return {
    resources: await get('/resources'),
    tokens: await get('/tokens'),
    subaccounts: await get('/subaccounts'),
    chains: await get('/chains'),
    points: expectStatus(await owner.api.get(`/chains/${chain}`), 200),
    shares: await get(`/chains/${chain}/shares`),
    images: await get('/images'),
    bin: await get('/recycle-bin'),
    jobs,
    account: await get('/account'),
    rows,
  };
}

interface Bad {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string | (() => string);
  /** A function when it names objects made in before(). */
  body?: unknown;
  /** Sent as it is, as JSON unless `contentType` says otherwise. */
  raw?: string | Buffer;
  contentType?: string;
  /** A function when it names objects made in before(). */
  query?: Query | (() => Query);
  status: number;
  code?: string;
  /** The error's `field`, when the server can point at one. */
  field?: string;
  /** Something the message must mention, so a person can fix the request. */
  mentions?: RegExp;
  /** A known server bug: the case runs and is reported, but does not fail the run. */
  todo?: string;
  anonymous?: boolean;
}

const vol = () => `/resources/${volume}`;
const okDisk = { name: 'd0', size: 4096 };
const okVolume = { kind: 'volume', name: 'v', disks: [okDisk] };
const goodChunk = encodeChunk(Buffer.alloc(4096, 7));
const otherChunk = encodeChunk(Buffer.alloc(4096, 8));
const garbage = Buffer.from('CRN\0garbage');
const octets = 'application/octet-stream';
const big = (bytes: number) => JSON.stringify({ kind: 'volume', name: 'x'.repeat(bytes), disks: [okDisk] });

const CASES: Bad[] = [
  // Not JSON, or not an object
  { name: 'truncated JSON', method: 'POST', path: '/resources', raw: '{"kind":', status: 400, code: 'bad_request', mentions: /JSON/ },
  { name: 'JSON with unquoted keys', method: 'POST', path: '/tokens', raw: '{name: "x"}', status: 400, code: 'bad_request' },
  { name: 'empty body declared as JSON', method: 'POST', path: '/tokens', raw: '', status: 400, code: 'bad_request' },
  { name: 'truncated JSON to a public route', method: 'POST', path: '/accounts', raw: '{"email":"a@b.cd","password":', status: 400, anonymous: true },
  { name: 'truncated JSON on a PATCH', method: 'PATCH', path: vol, raw: '{"name":"x"', status: 400 },
  { name: 'null body', method: 'POST', path: '/resources', raw: 'null', status: 400, mentions: /object/ },
  { name: 'array body', method: 'POST', path: '/resources', raw: '[]', status: 400, mentions: /object/ },
  { name: 'string body', method: 'POST', path: '/subaccounts', raw: '"hello"', status: 400 },
  { name: 'text/plain body (read as a string, not an object)', method: 'POST', path: '/resources', raw: JSON.stringify(okVolume), contentType: 'text/plain', status: 400 },
  { name: 'XML body', method: 'POST', path: '/resources', raw: '<resource/>', contentType: 'application/xml', status: 415 },
  { name: 'binary body to a JSON route', method: 'POST', path: '/tokens', raw: Buffer.from('{"name":"x"}'), contentType: 'application/octet-stream', status: 400 },

  // Too large
  { name: 'body over 1 MiB', method: 'POST', path: '/resources', raw: big(1_100_000), status: 413, code: 'too_large' },
  { name: 'body over 1 MiB to a public route', method: 'POST', path: '/accounts', raw: big(2_000_000), status: 413, code: 'too_large', anonymous: true },
  { name: 'name over 128 characters', method: 'POST', path: '/tokens', body: { name: 'n'.repeat(129) }, status: 400, field: 'name' },
  { name: 'email over 254 characters', method: 'POST', path: '/accounts', body: { email: `${'e'.repeat(250)}@x.io`, password: PASSWORD }, status: 400, field: 'email', anonymous: true },

  // Wrong types and values
  { name: 'unknown resource kind', method: 'POST', path: '/resources', body: { ...okVolume, kind: 'disk' }, status: 400, field: 'kind' },
  { name: 'name is a number', method: 'POST', path: '/resources', body: { ...okVolume, name: 5 }, status: 400, field: 'name' },
  { name: 'empty name', method: 'POST', path: '/resources', body: { ...okVolume, name: '' }, status: 400, field: 'name' },
  { name: 'blank name', method: 'POST', path: '/resources', body: { ...okVolume, name: '   ' }, status: 400, field: 'name' },
  { name: 'disks is a string', method: 'POST', path: '/resources', body: { ...okVolume, disks: 'sda' }, status: 400, field: 'disks' },
  { name: 'size is a numeric string (no coercion in bodies)', method: 'POST', path: '/resources', body: { ...okVolume, disks: [{ name: 'd', size: '4096' }] }, status: 400, field: 'disks.0.size' },
  { name: 'fractional size', method: 'POST', path: '/resources', body: { ...okVolume, disks: [{ name: 'd', size: 1.5 }] }, status: 400, field: 'disks.0.size' },
  { name: 'negative size', method: 'POST', path: '/resources', body: { ...okVolume, disks: [{ name: 'd', size: -1 }] }, status: 400, field: 'disks.0.size' },
  { name: 'token name null', method: 'POST', path: '/tokens', body: { name: null }, status: 400, field: 'name' },
  { name: 'sub-account status not active/disabled', method: 'PATCH', path: () => `/subaccounts/${sub.id}`, body: { status: 'deleted' }, status: 400, field: 'status' },
  { name: 'sub-account status a boolean', method: 'PATCH', path: () => `/subaccounts/${sub.id}`, body: { status: false }, status: 400, field: 'status' },
  { name: 'not an email', method: 'POST', path: '/accounts', body: { email: 'not-an-email', password: PASSWORD }, status: 400, field: 'email', anonymous: true },
  { name: 'password too short', method: 'POST', path: '/accounts', body: { email: randomEmail('short'), password: 'short' }, status: 400, field: 'password', anonymous: true },
  { name: 'email a number', method: 'POST', path: '/subaccounts', body: { email: 42, password: PASSWORD }, status: 400, field: 'email' },
  { name: 'missing required fields', method: 'POST', path: '/resources', body: {}, status: 400, mentions: /kind/ },
  { name: 'missing password at sign-in', method: 'POST', path: '/sessions', body: { email: 'a@b.cd' }, status: 400, mentions: /password/, anonymous: true },

  // Unknown fields: refused, never ignored (a silently dropped field is a lost setting)
  { name: 'unknown top-level field', method: 'POST', path: '/resources', body: { ...okVolume, owner: 'usr-aaaaaaaa' }, status: 400, field: 'owner', mentions: /owner/ },
  { name: 'unknown nested field', method: 'POST', path: '/resources', body: { ...okVolume, disks: [{ ...okDisk, path: '/dev/sda' }] }, status: 400, field: 'disks.0.path' },
  { name: 'unknown field on a PATCH', method: 'PATCH', path: vol, body: { name: 'x', account_id: 'usr-aaaaaaaa' }, status: 400, field: 'account_id' },
  { name: 'is_admin at registration', method: 'POST', path: '/accounts', body: { email: randomEmail('sneaky'), password: PASSWORD, is_admin: true }, status: 400, field: 'is_admin', anonymous: true },
  { name: 'parent_id on a new sub-account', method: 'POST', path: '/subaccounts', body: { email: randomEmail('sneaky'), password: PASSWORD, parent_id: 'usr-aaaaaaaa' }, status: 400, field: 'parent_id' },
  { name: 'is_admin on a sub-account PATCH', method: 'PATCH', path: () => `/subaccounts/${sub.id}`, body: { status: 'active', is_admin: true }, status: 400, field: 'is_admin' },

  // Unknown and malformed IDs
  { name: 'unknown volume (GET)', method: 'GET', path: () => `/resources/${unknownId('vol')}`, status: 404, code: 'not_found' },
  { name: 'unknown instance (GET)', method: 'GET', path: () => `/resources/${unknownId('i')}`, status: 404, code: 'not_found' },
  { name: 'unknown volume (PATCH)', method: 'PATCH', path: () => `/resources/${unknownId('vol')}`, body: { name: 'x' }, status: 404 },
  { name: 'unknown volume (DELETE)', method: 'DELETE', path: () => `/resources/${unknownId('vol')}`, status: 404 },
  { name: 'unknown job', method: 'GET', path: () => `/jobs/${unknownId('j')}`, status: 404, code: 'not_found' },
  { name: 'unknown token', method: 'DELETE', path: () => `/tokens/${unknownId('tok')}`, status: 404 },
  { name: 'unknown sub-account (PATCH)', method: 'PATCH', path: () => `/subaccounts/${unknownId('usr')}`, body: { status: 'disabled' }, status: 404 },
  { name: 'unknown sub-account (DELETE)', method: 'DELETE', path: () => `/subaccounts/${unknownId('usr')}`, status: 404 },
  { name: 'lookup of an unknown email', method: 'GET', path: '/accounts/lookup', query: { q: randomEmail('nobody') }, status: 404 },
  { name: 'malformed resource ID', method: 'GET', path: '/resources/xyz', status: 400, field: 'id' },
  { name: 'upper-case resource ID', method: 'GET', path: '/resources/VOL-ABCDEFGH', status: 400, field: 'id' },
  { name: 'job ID with a volume prefix', method: 'GET', path: () => `/jobs/${volume}`, status: 400, field: 'id' },
  { name: 'malformed token ID', method: 'DELETE', path: '/tokens/tok-1', status: 400, field: 'id' },
  { name: 'malformed sub-account ID', method: 'DELETE', path: '/subaccounts/someone', status: 400, field: 'id' },
  { name: 'unknown route', method: 'GET', path: '/nothing-here', status: 404, code: 'not_found' },
  { name: 'unknown method on a known path', method: 'DELETE', path: '/resources', status: 404 },

  // Backups: the upload protocol checks what it is sent
  { name: 'upload with a disk of the wrong size', method: 'POST', path: '/uploads', body: () => ({ resource_id: volume, type: 'full', disks: [{ ...DISK, size: DISK.size + 1 }] }), status: 400, field: 'disks' },
  { name: 'upload naming a disk the resource lacks', method: 'POST', path: '/uploads', body: () => ({ resource_id: volume, type: 'full', disks: [{ name: 'sdb', size: DISK.size }] }), status: 400, field: 'disks' },
  { name: 'upload of an unknown resource', method: 'POST', path: '/uploads', body: () => ({ resource_id: unknownId('vol'), type: 'full', disks: [DISK] }), status: 404 },
  { name: 'unknown backup type', method: 'POST', path: '/uploads', body: () => ({ resource_id: volume, type: 'differential', disks: [DISK] }), status: 400, field: 'type' },
  { name: 'a digest that is not one', method: 'POST', path: () => `/uploads/${upload}/missing`, body: { digests: ['xyz'] }, status: 400, mentions: /digest/ },
  { name: 'too many digests at once', method: 'POST', path: () => `/uploads/${upload}/missing`, body: { digests: Array.from({ length: 1025 }, () => 'a'.repeat(64)) }, status: 400, field: 'digests' },
  { name: 'a corrupt chunk blob', method: 'PUT', path: () => `/uploads/${upload}/chunks/${goodChunk.digest}`, raw: garbage, contentType: octets, status: 400, code: 'chunk_corrupt' },
  { name: 'a chunk sent under another digest', method: 'PUT', path: () => `/uploads/${upload}/chunks/${otherChunk.digest}`, raw: goodChunk.blob, contentType: 'application/octet-stream', status: 400, code: 'chunk_corrupt' },
  { name: 'an upper-case digest', method: 'PUT', path: () => `/uploads/${upload}/chunks/${goodChunk.digest.toUpperCase()}`, raw: goodChunk.blob, contentType: 'application/octet-stream', status: 400, field: 'digest' },
  { name: 'a batch of chunks without their list', method: 'POST', path: () => `/uploads/${upload}/chunks`, raw: batchBody([goodChunk.blob]), contentType: octets, status: 400, field: 'chunks' },
  { name: 'a batch whose list is malformed', method: 'POST', path: () => `/uploads/${upload}/chunks`, query: { chunks: `${goodChunk.digest}:-1` }, raw: batchBody([goodChunk.blob]), contentType: octets, status: 400, field: 'chunks' },
  { name: `a batch of more than ${MAX_BATCH_CHUNKS} chunks`, method: 'POST', path: () => `/uploads/${upload}/chunks`, query: batchQuery(Array.from({ length: MAX_BATCH_CHUNKS + 1 }, (_, i) => encodeChunk(Buffer.alloc(4096, i)))), raw: batchBody([goodChunk.blob]), contentType: octets, status: 400, field: 'chunks' },
  { name: 'a batch naming a chunk twice', method: 'POST', path: () => `/uploads/${upload}/chunks`, query: batchQuery([goodChunk, goodChunk]), raw: batchBody([goodChunk.blob, goodChunk.blob]), contentType: octets, status: 400, field: 'chunks', mentions: /twice/ },
  { name: 'a blob longer than a chunk can be', method: 'POST', path: () => `/uploads/${upload}/chunks`, query: { chunks: `${goodChunk.digest}:99999999` }, raw: batchBody([goodChunk.blob]), contentType: octets, status: 400, field: 'chunks' },
  { name: 'a batch of unpadded blobs', method: 'POST', path: () => `/uploads/${upload}/chunks`, query: batchQuery([goodChunk, otherChunk]), raw: Buffer.concat([goodChunk.blob, otherChunk.blob]), contentType: octets, status: 400, field: 'chunks', mentions: /padded/ },
  { name: 'a batch with a corrupt blob beside a good one', method: 'POST', path: () => `/uploads/${upload}/chunks`, query: batchQuery([goodChunk, { digest: otherChunk.digest, blob: garbage }]), raw: batchBody([goodChunk.blob, garbage]), contentType: octets, status: 400, code: 'chunk_corrupt', mentions: new RegExp(otherChunk.digest) },
  { name: 'a batch sent as JSON', method: 'POST', path: () => `/uploads/${upload}/chunks`, query: batchQuery([goodChunk]), raw: '{}', status: 400, field: 'body' },
  { name: 'chunks read with a malformed list', method: 'GET', path: () => `/points/${point}/chunks`, query: { digests: 'xyz' }, status: 400, field: 'digests' },
  { name: 'a chunk read twice in one request', method: 'GET', path: () => `/points/${point}/chunks`, query: () => ({ digests: `${pointDigest},${pointDigest}` }), status: 400, field: 'digests', mentions: /twice/ },
  { name: 'chunks read beside one the point lacks', method: 'GET', path: () => `/points/${point}/chunks`, query: () => ({ digests: `${pointDigest},${otherChunk.digest}` }), status: 404, mentions: new RegExp(otherChunk.digest) },
  { name: 'a malformed manifest', method: 'PUT', path: () => `/uploads/${upload}/disks/${DISK.name}/manifest`, raw: Buffer.from('not a manifest'), contentType: 'application/octet-stream', status: 400, field: 'manifest' },
  { name: 'a manifest of another size', method: 'PUT', path: () => `/uploads/${upload}/disks/${DISK.name}/manifest`, raw: encodeManifest({ size: 2 * DISK.size, chunkSize: CHUNK_SIZE, chunks: [null] }), contentType: 'application/octet-stream', status: 400, field: 'manifest' },
  { name: 'a manifest for an unknown disk', method: 'PUT', path: () => `/uploads/${upload}/disks/sdb/manifest`, raw: encodeManifest({ size: DISK.size, chunkSize: CHUNK_SIZE, chunks: [null] }), contentType: 'application/octet-stream', status: 404 },
  { name: 'commit before the manifests', method: 'POST', path: () => `/uploads/${upload}/commit`, status: 409, code: 'incomplete_upload' },
  { name: 'a negative progress', method: 'POST', path: () => `/uploads/${upload}/progress`, body: { bytes_done: -1 }, status: 400, field: 'bytes_done' },

  // Sharing and images
  { name: 'share with nobody', method: 'POST', path: () => `/chains/${chain}/shares`, body: { recipients: [] }, status: 400, field: 'recipients' },
  { name: 'share with oneself', method: 'POST', path: () => `/chains/${chain}/shares`, body: () => ({ recipients: [owner.email] }), status: 400, code: 'self' },
  { name: 'share with an unknown email', method: 'POST', path: () => `/chains/${chain}/shares`, body: () => ({ recipients: [randomEmail('nobody')] }), status: 400, code: 'unknown_recipient' },
  { name: 'share with one account twice', method: 'POST', path: () => `/chains/${chain}/shares`, body: () => ({ recipients: [sub.email, sub.id] }), status: 400, code: 'duplicate' },
  { name: 'share until a time that is not one', method: 'POST', path: () => `/chains/${chain}/shares`, body: () => ({ recipients: [sub.email], expires_at: 'tomorrow' }), status: 400, field: 'expires_at' },
  { name: 'share until a past time', method: 'POST', path: () => `/chains/${chain}/shares`, body: () => ({ recipients: [sub.email], expires_at: '2001-01-01T00:00:00Z' }), status: 400, field: 'expires_at' },
  { name: 'cancel a share that does not exist', method: 'POST', path: () => `/chains/${chain}/shares/cancel`, body: () => ({ recipients: [sub.email] }), status: 400 },
  { name: 'an edit that changes nothing', method: 'PATCH', path: () => `/chains/${chain}`, body: {}, status: 400 },
  { name: 'an image from nothing', method: 'POST', path: '/images', body: { name: 'img' }, status: 400, field: 'point_id' },
  { name: 'an image without a name', method: 'POST', path: '/images', body: () => ({ chain_id: chain }), status: 400, mentions: /name/ },
  { name: 'an image from an unknown point', method: 'POST', path: '/images', body: () => ({ point_id: unknownId('ss'), name: 'img' }), status: 404 },
  { name: 'an image of a disk the point lacks', method: 'POST', path: '/images', body: () => ({ chain_id: chain, disk: 'sdb', name: 'img' }), status: 400, field: 'disk' },

  // Filters
  { name: 'unknown job status filter', method: 'GET', path: '/jobs', query: { status: 'done' }, status: 400, field: 'status' },
  { name: 'unknown kind filter', method: 'GET', path: '/resources', query: { kind: 'disk' }, status: 400, field: 'kind' },
  { name: 'lookup without q', method: 'GET', path: '/accounts/lookup', status: 400, mentions: /q/ },
];

// Paging: the same bad offset/limit on every list route.
const LISTS = ['/resources', '/jobs', '/tokens', '/subaccounts'];
const BAD_PAGES: { query: Query; field: string; todo?: string }[] = [
  { query: { offset: -1 }, field: 'offset' },
  { query: { offset: 1.5 }, field: 'offset' },
  { query: { offset: 'abc' }, field: 'offset' },
  { query: { limit: 0 }, field: 'limit' },
  { query: { limit: -5 }, field: 'limit' },
  { query: { limit: 101 }, field: 'limit' },
  { query: { limit: 'ten' }, field: 'limit' },
  { query: { color: 'red' }, field: 'color' },
  {
    query: { offset: '1e20' },
    field: 'offset',
  },
];
for (const list of LISTS) {
  for (const p of BAD_PAGES) {
    CASES.push({ name: `${list}?${new URLSearchParams(p.query as Record<string, string>)}`, method: 'GET', path: list, query: p.query, status: 400, field: p.field, todo: p.todo });
  }
}

test('bad requests get a 4xx with a clear error, and change nothing', async (t) => {
  const before = await snapshot();
  for (const c of CASES) {
    await t.test(`${c.method} ${typeof c.path === 'string' ? c.path : 'ID'}: ${c.name}`, { todo: c.todo }, async () => {
      const client = c.anonymous ? api(server.url) : owner.api;
      const path = typeof c.path === 'function' ? c.path() : c.path;
      const body = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
      let res;
      try {
        const query = typeof c.query === 'function' ? c.query() : c.query;
        res = await client.request(c.method, path, body, { raw: c.raw, contentType: c.contentType, query });
      } catch (err) {
        // Refusing a body that is too large, the server answers 413 and closes the
        // connection at once (Fastify does, so as not to read the rest). A client
        // still sending can see only the broken pipe: the request was refused all the same.
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (c.status === 413 && (code === 'EPIPE' || code === 'ECONNRESET')) return;
        throw err;
      }
      const error = expectError(res, c.status, c.code, c.name);
      if (c.field) assert.equal(error.field, c.field, `field: ${res.text}`);
      if (c.mentions) assert.match(error.message, c.mentions);
    });
  }
  // The repeated GET in a snapshot also proves the server is still healthy after all of that.
  assert.deepEqual(await snapshot(), before, 'a refused request changed something');
});

test('the edges of what is valid are accepted', async () => {
  expectStatus(await owner.api.get('/resources', { limit: 100 }), 200);
  expectStatus(await owner.api.get('/resources', { limit: 1, offset: 0 }), 200);
  const far = expectStatus(await owner.api.get('/jobs', { offset: Number.MAX_SAFE_INTEGER }), 200);
  assert.deepEqual(far.items, []);
  assert.equal(far.total_count, expectStatus(await owner.api.get('/jobs'), 200).total_count);
  expectStatus(await owner.api.get('/resources', { limit: 20, search: '%_' }), 200);
  const name = 'n'.repeat(128);
  expectStatus(await owner.api.patch(vol(), { name }), 200);
  assert.equal(expectStatus(await owner.api.get(vol()), 200).resource.name, name);
  expectStatus(await owner.api.patch(vol(), { name: '  trimmed  ' }), 200);
  assert.equal(expectStatus(await owner.api.get(vol()), 200).resource.name, 'trimmed');
  expectStatus(await owner.api.get(`/jobs/${job}`), 200);
});

test('a batch of chunks is stored as a whole, and says which chunks were new to the account', async () => {
  const chunks = [encodeChunk(Buffer.alloc(4096, 9)), encodeChunk(Buffer.alloc(3 * 4096 + 5, 10)), goodChunk];
  const send = async () =>
    expectStatus(await owner.api.request('POST', `/uploads/${upload}/chunks`, undefined, { query: batchQuery(chunks), raw: batchBody(chunks.map((c) => c.blob)), contentType: octets }), 200);
  const missing = async () => expectStatus(await owner.api.post(`/uploads/${upload}/missing`, { digests: chunks.map((c) => c.digest) }), 200).missing;
  // After all the refused batches above, none of their good chunks is in.
  assert.deepEqual(await missing(), chunks.map((c) => c.digest));
  assert.deepEqual((await send()).chunks, chunks.map((c) => ({ digest: c.digest, stored: true })));
  assert.deepEqual(await missing(), []);
  assert.deepEqual((await send()).chunks, chunks.map((c) => ({ digest: c.digest, stored: false })));
});
