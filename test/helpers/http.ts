import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { batchBodyParts, formatBatchQuery } from '../../src/wire/chunk-batch.js';
import { CHUNK_SIZE, encodeChunk, isZeroChunk } from '../../src/format/chunk-codec.js';
import { encodeManifest } from '../../src/format/manifest.js';

// Tests read response fields by path; a wrong guess fails the assertion that reads it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Reply {
  status: number;
  /** Parsed JSON, or null when the body is empty or not JSON. */
  body: Json;
  text: string;
  /** The body as received, for binary replies (manifests, chunks). */
  bytes: Buffer;
  headers: Headers;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  headers?: Record<string, string>;
  /** Sent as it is instead of JSON-encoding `body`, for malformed and oversized bodies and binary uploads. */
  raw?: string | Buffer;
  /** The content type of `raw`; JSON unless told. */
  contentType?: string;
}

interface Auth {
  token?: string;
  cookie?: string;
  csrf?: string;
  /** Connects from this loopback address (127.0.0.2…), as a different client machine would. */
  from?: string;
}

const agents = new Map<string, Agent>();
function agentFrom(address: string): Agent {
  let agent = agents.get(address);
  if (!agent) agents.set(address, (agent = new Agent({ localAddress: address })));
  return agent;
}

export interface Session {
  /** `cairn_session=…`, ready for a Cookie header. */
  cookie: string;
  csrf: string;
}

/** A tiny client for /api/v1: paths not starting with /api/ are taken as relative to it. */
export class Api {
  constructor(
    readonly baseUrl: string,
    private readonly auth: Auth = {},
  ) {}

  /** Calls as the holder of this bearer token. */
  as(token: string): Api {
    return new Api(this.baseUrl, { token, from: this.auth.from });
  }

  /** Calls as a browser would: the session cookie, and the CSRF header unless `csrf` is false. */
  withSession(session: Session, opts: { csrf?: boolean } = {}): Api {
    return new Api(this.baseUrl, { cookie: session.cookie, csrf: opts.csrf === false ? undefined : session.csrf, from: this.auth.from });
  }

  anonymous(): Api {
    return new Api(this.baseUrl, { from: this.auth.from });
  }

  /**
   * Calls from another loopback address: what the server counts per client address
   * (sign-in limits) then starts from nothing, without starting another server.
   */
  from(address: string): Api {
    return new Api(this.baseUrl, { ...this.auth, from: address });
  }

  url(path: string, query?: Query): string {
    const u = new URL(path.startsWith('/api/') ? path : `/api/v1${path.startsWith('/') ? '' : '/'}${path}`, this.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.append(k, String(v));
    return u.toString();
  }

  async request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (this.auth.token) headers.authorization = `Bearer ${this.auth.token}`;
    if (this.auth.cookie) headers.cookie = this.auth.cookie;
    if (this.auth.csrf) headers['x-csrf-token'] = this.auth.csrf;
    let payload: string | Buffer | undefined;
    if (opts.raw !== undefined) {
      payload = opts.raw;
      headers['content-type'] = opts.contentType ?? 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    Object.assign(headers, opts.headers);
    const url = this.url(path, opts.query);
    const res = this.auth.from
      ? await undiciFetch(url, { method, headers, body: payload, dispatcher: agentFrom(this.auth.from) })
      : await fetch(url, { method, headers, body: payload });
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    let parsed: Json = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed, text, bytes, headers: res.headers };
  }

  get(path: string, query?: Query, opts: RequestOptions = {}): Promise<Reply> {
    return this.request('GET', path, undefined, { ...opts, query: query ?? opts.query });
  }
  post(path: string, body?: unknown, opts?: RequestOptions): Promise<Reply> {
    return this.request('POST', path, body, opts);
  }
  patch(path: string, body?: unknown, opts?: RequestOptions): Promise<Reply> {
    return this.request('PATCH', path, body, opts);
  }
  delete(path: string, opts?: RequestOptions): Promise<Reply> {
    return this.request('DELETE', path, undefined, opts);
  }
}

export const api = (baseUrl: string): Api => new Api(baseUrl);

/** Asserts the status, showing the body when it differs, and returns the body. */
export function expectStatus(reply: Reply, status: number, what = ''): Json {
  assert.equal(reply.status, status, `${what ? `${what}: ` : ''}expected HTTP ${status}, got ${reply.status}: ${reply.text.slice(0, 500)}`);
  return reply.body;
}

/**
 * Every operation of the server's OpenAPI document, as `METHOD /path`: the route tests
 * walk these, so an operation added to the API cannot be missed by them.
 */
export async function openApiOperations(client: Api): Promise<string[]> {
  const spec = expectStatus(await client.get('/openapi.json'), 200);
  return Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

/** Asserts a 4xx/5xx in the API's error shape, and returns the error object. */
export function expectError(reply: Reply, status: number, code?: string, what = ''): { code: string; message: string; field?: string } {
  expectStatus(reply, status, what);
  const error = reply.body?.error;
  assert.ok(error && typeof error.code === 'string' && typeof error.message === 'string' && error.message.length > 0, `${what}: not an error body: ${reply.text}`);
  if (code) assert.equal(error.code, code, `${what}: error code: ${reply.text}`);
  return error;
}

export const PASSWORD = 'correct horse battery staple';

export function randomEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.test`;
}

/** A well-formed ID of the given prefix that nobody holds (odds of a clash: 36^-8). */
export function unknownId(prefix: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (const b of randomBytes(8)) s += alphabet[b % 36];
  return `${prefix}-${s}`;
}

export interface TestAccount {
  id: string;
  email: string;
  password: string;
  parentId: string | null;
  /** A bearer token of this account, and its ID. */
  token: string;
  tokenId: string;
  /** Calls as this account with its token. */
  api: Api;
  session: Session;
  /** The loopback address it signed up and in from (127.0.0.1 for accounts made otherwise). */
  from: string;
}

export async function login(baseUrl: string, email: string, password: string, from?: string): Promise<{ session: Session; account: Json }> {
  const res = await (from ? api(baseUrl).from(from) : api(baseUrl)).post('/sessions', { email, password });
  const body = expectStatus(res, 200, `sign in as ${email}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const m = /(?:^|[,\s])(cairn_session=[^;]+)/.exec(setCookie);
  assert.ok(m, `no cairn_session cookie in: ${setCookie}`);
  assert.match(setCookie, /HttpOnly/i, 'the session cookie must be HttpOnly');
  return { session: { cookie: m[1]!, csrf: body.csrf_token }, account: body.account };
}

/** Signs in and makes a token: what a user does before using the CLI. */
async function finish(baseUrl: string, email: string, password: string, from?: string): Promise<TestAccount> {
  const { session, account } = await login(baseUrl, email, password, from);
  const t = expectStatus(await api(baseUrl).withSession(session).post('/tokens', { name: 'test' }), 201, 'create a token');
  return {
    id: account.id,
    email,
    password,
    parentId: account.parent_id,
    token: t.token.token,
    tokenId: t.token.id,
    api: api(baseUrl).as(t.token.token),
    session,
    from: from ?? '127.0.0.1',
  };
}

let signUps = 0;
/**
 * Another loopback address for each sign-up: the server slows sign-ups down per
 * address, and a test's accounts stand for people on machines of their own.
 */
function signUpAddress(): string {
  signUps++;
  return `127.1.${(signUps >> 8) & 255}.${signUps & 255}`;
}

/** Registers a new account (open registration), signs in and makes a token. */
export async function newAccount(baseUrl: string, opts: { email?: string; password?: string; tag?: string } = {}): Promise<TestAccount> {
  const email = opts.email ?? randomEmail(opts.tag);
  const password = opts.password ?? PASSWORD;
  const from = signUpAddress();
  expectStatus(await api(baseUrl).from(from).post('/accounts', { email, password }), 201, `register ${email}`);
  return finish(baseUrl, email, password, from);
}

/** An existing account (made by an administrator, say), signed in with a token. */
export function signIn(baseUrl: string, email: string, password: string): Promise<TestAccount> {
  return finish(baseUrl, email, password);
}

/** A sub-account made by `parent`, signed in with a token of its own. */
export async function newSubaccount(parent: TestAccount, opts: { email?: string; password?: string } = {}): Promise<TestAccount> {
  const email = opts.email ?? randomEmail('sub');
  const password = opts.password ?? PASSWORD;
  expectStatus(await parent.api.post('/subaccounts', { email, password }), 201, `create sub-account ${email}`);
  return finish(parent.api.baseUrl, email, password);
}

export const volumeBody = (name = 'vol') => ({ kind: 'volume', name, disks: [{ name: 'disk0', size: 1 << 20 }] });

/** Creates a one-disk volume and returns its ID. */
export async function newVolume(owner: Api, name = 'vol'): Promise<string> {
  return expectStatus(await owner.post('/resources', volumeBody(name)), 201, 'create a volume').resource.id;
}

/** One disk's backup as a client would send it: blobs by digest and the manifest. */
/** The `chunks` query of a batch upload (chunk-batch.ts) of these chunks. */
export function batchQuery(chunks: Iterable<{ digest: string; blob: Buffer }>): { chunks: string } {
  return { chunks: formatBatchQuery([...chunks].map((c) => ({ digest: c.digest, length: c.blob.length }))) };
}

/** The body of a batch upload: the blobs, each padded with zeros to its slot. */
export function batchBody(blobs: Iterable<Buffer>): Buffer {
  return Buffer.concat(batchBodyParts(blobs));
}

export interface DiskData {
  name: string;
  size: number;
  chunks: Map<string, Buffer>;
  manifest: Buffer;
}

export function diskData(name: string, data: Buffer): DiskData {
  const chunks = new Map<string, Buffer>();
  const digests: (string | null)[] = [];
  for (let offset = 0; offset < data.length; offset += CHUNK_SIZE) {
    const piece = data.subarray(offset, offset + CHUNK_SIZE);
    if (isZeroChunk(piece)) {
      digests.push(null);
      continue;
    }
    const { digest, blob } = encodeChunk(piece);
    chunks.set(digest, blob);
    digests.push(digest);
  }
  return { name, size: data.length, chunks, manifest: encodeManifest({ size: data.length, chunkSize: CHUNK_SIZE, chunks: digests }) };
}

/** A disk of random content: every backup of it stores new chunks. */
export const randomDisk = (name = 'd0', size = 4096): DiskData => diskData(name, randomBytes(size));

const octets = { contentType: 'application/octet-stream' };

/** Opens an upload of all of a resource's disks and returns its ID (the future point's). */
export async function openUpload(client: Api, resourceId: string, disks: Pick<DiskData, 'name' | 'size'>[], type: 'full' | 'incremental' = 'incremental'): Promise<string> {
  const body = { resource_id: resourceId, type, disks: disks.map((d) => ({ name: d.name, size: d.size })) };
  return expectStatus(await client.post('/uploads', body), 201, 'open an upload').upload.id;
}

/** Sends what the server is missing of each disk, then each manifest. */
export async function sendDisks(client: Api, uploadId: string, disks: DiskData[]): Promise<void> {
  for (const disk of disks) {
    const missing: string[] = expectStatus(await client.post(`/uploads/${uploadId}/missing`, { digests: [...disk.chunks.keys()] }), 200, 'ask for missing chunks').missing;
    for (const digest of missing) {
      const res = await client.request('PUT', `/uploads/${uploadId}/chunks/${digest}`, undefined, { raw: disk.chunks.get(digest)!, ...octets });
      assert.ok(res.status === 201 || res.status === 200, `put chunk: ${res.status} ${res.text}`);
    }
    expectStatus(await client.request('PUT', `/uploads/${uploadId}/disks/${disk.name}/manifest`, undefined, { raw: disk.manifest, ...octets }), 200, 'put a manifest');
  }
}

/** A whole backup through the upload protocol; returns the new point. */
export async function backup(client: Api, resourceId: string, disks: DiskData[], type: 'full' | 'incremental' = 'incremental'): Promise<{ id: string; chain_id: string; type: string; parent_id: string | null }> {
  const id = await openUpload(client, resourceId, disks, type);
  await sendDisks(client, id, disks);
  return expectStatus(await client.post(`/uploads/${id}/commit`), 200, 'commit').point;
}
