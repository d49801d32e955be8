import http, { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import { CairnError } from '../domain/errors.js';
import type { Page } from '../domain/page.js';
import { checkSocketReads, checkTlsReads } from '../runtime/index.js';
import { certificateError, Transport } from './transport.js';
import type { AccessKeyStatus, AccessKeyView, AccountLookupView, AccountView, HealthView, NewAccessKeyView, NewTokenView, TokenView, JobStatus, JobView, ResourceView } from '../contract/index.js';

// The CLI speaks only HTTP to the server; these are type-only imports of the
// server's response shapes, so the two cannot drift apart unnoticed.
export type { Page } from '../domain/page.js';
export type Account = AccountView;
export type ApiToken = TokenView;
export type NewApiToken = NewTokenView;
export type AccessKey = AccessKeyView;
export type NewAccessKey = NewAccessKeyView;
export type Resource = ResourceView;
export type Job = JobView;
export type { JobStatus };
export type AccountStatus = AccountView['status'];
export type ResourceKind = ResourceView['kind'];

export interface PageQuery {
  offset?: number;
  limit?: number;
}

export type QueryValue = string | number | boolean | undefined | null;
export type Query = Record<string, QueryValue>;

/** A browser-style session: the CLI uses one only for the moment it takes to mint an API token. */
export interface SessionCredentials {
  cookie: string;
  csrf: string;
}

export interface ClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080. */
  server: string;
  token?: string;
  session?: SessionCredentials;
  /** Limit for JSON requests; raw transfers take a signal instead, since a disk may take hours. */
  timeoutMs?: number;
  /** The CAs to trust and whether plain HTTP may leave this machine (transportFrom); by default Node's CAs, and HTTP to loopback only. */
  transport?: Transport;
}

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RawRequestOptions {
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A response's headers, read from the ones Node parsed. */
export interface ResponseHeaders {
  /** The value, repeated headers joined with ", " as in the Fetch API; null when absent. */
  get(name: string): string | null;
  /** Every Set-Cookie header's value. */
  getSetCookie(): string[];
}

export interface StreamResponse {
  status: number;
  headers: ResponseHeaders;
  /** Empty for 204 and HEAD-like answers. Must be read to its end or destroyed. */
  body: Readable;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
const SESSION_COOKIE = 'cairn_session';

/** The server could not be reached at all: no HTTP status exists, so it is not a 4xx the CLI maps. */
export class ServerUnreachableError extends CairnError {
  constructor(
    readonly server: string,
    reason: string,
  ) {
    super(503, 'unreachable', `cannot reach the Cairn server at ${server}: ${reason}; start it with \`cairn serve\` or pass --server`);
    this.name = 'ServerUnreachableError';
  }
}

/** Checks and normalises a server URL given by a flag, the environment or the config file. */
export function normalizeServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new CairnError(400, 'bad_request', `"${value}" is not a server URL; give one like http://127.0.0.1:8080.`, 'server');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CairnError(400, 'bad_request', `The server URL "${value}" must start with http:// or https://.`, 'server');
  if (url.search || url.hash) throw new CairnError(400, 'bad_request', `The server URL "${value}" must not carry a query or fragment.`, 'server');
  return url.toString().replace(/\/+$/, '');
}

/**
 * A typed client of the Cairn HTTP API. Every failure surfaces as a CairnError
 * carrying the server's status and code, so the CLI's exit codes follow the API's.
 */
export class CairnClient {
  readonly server: string;
  readonly token: string | undefined;
  private readonly session: SessionCredentials | undefined;
  private readonly timeoutMs: number;
  readonly transport: Transport;

  constructor(opts: ClientOptions) {
    this.server = normalizeServerUrl(opts.server);
    this.token = opts.token;
    this.session = opts.session;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.transport = opts.transport ?? Transport.standard;
    // Here, before any request: a token must not go out in the clear even once.
    this.transport.check(new URL(this.server));
  }

  /** The same server, authenticated differently. */
  with(auth: { token?: string; session?: SessionCredentials }): CairnClient {
    return new CairnClient({ server: this.server, timeoutMs: this.timeoutMs, transport: this.transport, ...auth });
  }

  url(path: string, query?: Query): string {
    const url = new URL(this.server + (path.startsWith('/') ? path : `/${path}`));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    return url.toString();
  }

  // ---- generic JSON requests -------------------------------------------------

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const res = await this.send(method, path, { query: opts.query, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await textOf(res.body);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CairnError(502, 'bad_response', `The server at ${this.server} answered ${method} ${path} with something that is not JSON; is --server pointing at a Cairn server?`);
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }

  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  delete<T = void>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  // ---- raw binary transfers ----------------------------------------------------

  /** PUTs bytes as application/octet-stream and returns the parsed JSON answer, if any. */
  putBinary<T = unknown>(path: string, data: Buffer | Uint8Array, opts: RawRequestOptions & { contentType?: string } = {}): Promise<T> {
    return this.sendBinary<T>('PUT', path, data, opts);
  }

  /** POSTs the concatenation of `parts` as application/octet-stream, without copying them into one buffer. */
  postBinary<T = unknown>(path: string, parts: Uint8Array[], opts: RawRequestOptions = {}): Promise<T> {
    return this.sendBinary<T>('POST', path, parts, opts);
  }

  private async sendBinary<T>(method: string, path: string, body: Body, opts: RawRequestOptions & { contentType?: string }): Promise<T> {
    const headers = { accept: 'application/json', 'content-type': opts.contentType ?? 'application/octet-stream', ...opts.headers };
    const res = await this.send(method, path, { query: opts.query, headers, body, signal: opts.signal });
    const text = await textOf(res.body);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** GETs a body as a stream (e.g. an image export, with a Range header), without buffering it. */
  async getStream(path: string, opts: RawRequestOptions = {}): Promise<StreamResponse> {
    return this.send('GET', path, { query: opts.query, headers: opts.headers ?? {}, signal: opts.signal });
  }

  /** GETs a whole binary body into memory; for bounded things such as one chunk. */
  async getBuffer(path: string, opts: RawRequestOptions = {}): Promise<{ status: number; headers: ResponseHeaders; body: Buffer }> {
    const res = await this.send('GET', path, { query: opts.query, headers: opts.headers ?? {}, signal: opts.signal });
    // A fresh ArrayBuffer of its own, so the chunk can be handed to a worker without a copy.
    return { status: res.status, headers: res.headers, body: await bytesOf(res.body) };
  }

  // ---- typed endpoints -------------------------------------------------------

  health(): Promise<HealthView> {
    return this.get('/api/v1/health');
  }

  register(email: string, password: string): Promise<{ account: Account }> {
    return this.post('/api/v1/accounts', { email, password });
  }

  /** Signs in like the console does and returns the session cookie with its CSRF token. */
  async login(email: string, password: string): Promise<{ account: Account; session: SessionCredentials }> {
    const res = await this.send('POST', '/api/v1/sessions', {
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const answer = JSON.parse(await textOf(res.body)) as { account: Account; csrf_token: string };
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!.trim())
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (!cookie) throw new CairnError(502, 'bad_response', `The server at ${this.server} accepted the sign-in but set no session cookie; is it a Cairn server?`);
    return { account: answer.account, session: { cookie, csrf: answer.csrf_token } };
  }

  /** Ends the session this client carries (see `with({ session })`). */
  logoutSession(): Promise<void> {
    return this.delete('/api/v1/sessions/current');
  }

  me(): Promise<{ account: Account }> {
    return this.get('/api/v1/account');
  }

  lookupAccount(q: string): Promise<{ account: AccountLookupView }> {
    return this.get('/api/v1/accounts/lookup', { q });
  }

  listAllAccounts(page: PageQuery = {}): Promise<Page<Account>> {
    return this.get('/api/v1/admin/accounts', { ...page });
  }

  setAccountStatus(id: string, status: AccountStatus): Promise<{ account: Account }> {
    return this.patch(`/api/v1/admin/accounts/${enc(id)}`, { status });
  }

  createToken(name: string, scope?: 'full' | 'agent'): Promise<{ token: NewApiToken }> {
    return this.post('/api/v1/tokens', scope ? { name, scope } : { name });
  }

  listTokens(page: PageQuery = {}): Promise<Page<ApiToken>> {
    return this.get('/api/v1/tokens', { ...page });
  }

  revokeToken(id: string): Promise<{ token: ApiToken }> {
    return this.delete(`/api/v1/tokens/${enc(id)}`);
  }

  createAccessKey(name?: string): Promise<{ access_key: NewAccessKey }> {
    return this.post('/api/v1/access-keys', name === undefined ? {} : { name });
  }

  listAccessKeys(page: PageQuery = {}): Promise<Page<AccessKey>> {
    return this.get('/api/v1/access-keys', { ...page });
  }

  setAccessKeyStatus(id: string, status: AccessKeyStatus): Promise<{ access_key: AccessKey }> {
    return this.patch(`/api/v1/access-keys/${enc(id)}`, { status });
  }

  deleteAccessKey(id: string): Promise<void> {
    return this.delete(`/api/v1/access-keys/${enc(id)}`);
  }

  createSubaccount(email: string, password: string): Promise<{ account: Account }> {
    return this.post('/api/v1/subaccounts', { email, password });
  }

  listSubaccounts(page: PageQuery = {}): Promise<Page<Account>> {
    return this.get('/api/v1/subaccounts', { ...page });
  }

  setSubaccountStatus(id: string, status: AccountStatus): Promise<{ account: Account }> {
    return this.patch(`/api/v1/subaccounts/${enc(id)}`, { status });
  }

  deleteSubaccount(id: string): Promise<void> {
    return this.delete(`/api/v1/subaccounts/${enc(id)}`);
  }

  createResource(input: { kind: ResourceKind; name: string; disks: { name: string; size: number }[] }): Promise<{ resource: Resource }> {
    return this.post('/api/v1/resources', input);
  }

  listResources(page: PageQuery & { kind?: ResourceKind; search?: string } = {}): Promise<Page<Resource>> {
    return this.get('/api/v1/resources', { ...page });
  }

  getResource(id: string): Promise<{ resource: Resource }> {
    return this.get(`/api/v1/resources/${enc(id)}`);
  }

  renameResource(id: string, name: string): Promise<{ resource: Resource }> {
    return this.patch(`/api/v1/resources/${enc(id)}`, { name });
  }

  deleteResource(id: string): Promise<void> {
    return this.delete(`/api/v1/resources/${enc(id)}`);
  }

  listJobs(page: PageQuery & { status?: JobStatus; resource_id?: string } = {}): Promise<Page<Job>> {
    return this.get('/api/v1/jobs', { ...page });
  }

  getJob(id: string): Promise<{ job: Job }> {
    return this.get(`/api/v1/jobs/${enc(id)}`);
  }

  // ---- transport -------------------------------------------------------------

  private async send(
    method: string,
    path: string,
    init: { query?: Query; headers: Record<string, string>; body?: Body; signal?: AbortSignal },
  ): Promise<StreamResponse> {
    let res: IncomingMessage;
    try {
      res = await exchange(this.transport, this.url(path, init.query), method, this.authenticated(init.headers), init.body, init.signal);
    } catch (err) {
      throw this.transportError(init.signal?.aborted ? init.signal.reason : err, method, path);
    }
    const answer: StreamResponse = { status: res.statusCode ?? 0, headers: headersOf(res.headers), body: res };
    if (answer.status >= 400) throw await errorFrom(answer, method, path);
    return answer;
  }

  /**
   * Takes a connection to `path` over for `protocol` (an HTTP Upgrade) and
   * returns it, with any bytes of the protocol that came with the answer
   * (`head`); null when the server answers 426 Upgrade Required, as it does
   * when the Upgrade header did not reach it (a proxy in between dropped it).
   */
  async upgrade(path: string, protocol: string, signal?: AbortSignal): Promise<{ socket: Duplex; head: Buffer } | null> {
    const target = new URL(this.url(path));
    // Once per process, before a socket is taken over (readsInto).
    await (target.protocol === 'https:' ? checkTlsReads() : checkSocketReads());
    const headers = this.authenticated({ connection: 'Upgrade', upgrade: protocol });
    let res: IncomingMessage | undefined;
    try {
      const answer = await new Promise<{ socket: Duplex; head: Buffer } | IncomingMessage>((resolve, reject) => {
        // A connection of its own: once taken over, it never goes back to the agent.
        const req = transportOf(target).request(target, { ...this.transport.tlsOptions, method: 'GET', headers, agent: false, signal });
        req.on('upgrade', (_res, socket: Duplex, head: Buffer) => resolve({ socket, head }));
        req.on('response', resolve);
        req.on('error', reject);
        req.end();
      });
      if (!(answer instanceof IncomingMessage)) return answer;
      res = answer;
    } catch (err) {
      throw this.transportError(signal?.aborted ? signal.reason : err, 'GET', path);
    }
    if (res.statusCode === 426) {
      res.resume();
      return null;
    }
    throw await errorFrom({ status: res.statusCode ?? 0, headers: headersOf(res.headers), body: res }, 'GET', path);
  }

  private authenticated(headers: Record<string, string>): Record<string, string> {
    if (this.token) return { ...headers, authorization: `Bearer ${this.token}` };
    if (this.session) return { ...headers, cookie: this.session.cookie, 'x-csrf-token': this.session.csrf };
    return { ...headers };
  }

  private transportError(err: unknown, method: string, path: string): Error {
    const untrusted = certificateError(err, this.server, this.transport);
    if (untrusted) return untrusted;
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      return err.name === 'TimeoutError'
        ? new CairnError(504, 'timeout', `The server at ${this.server} did not answer ${method} ${path} within ${Math.round(this.timeoutMs / 1000)} s; it may be overloaded, try again.`)
        : err;
    }
    const reason = describeNetworkError(err);
    // What a server of HTTPS does to a request in plain HTTP: it hangs up.
    const hint = reason === 'connection reset' && this.server.startsWith('http:') ? ' (if the server serves HTTPS, use an https:// URL)' : '';
    return new ServerUnreachableError(this.server, reason + hint);
  }
}

const enc = encodeURIComponent;

// Over the transport's kept-alive connections (transport.ts). Node's own HTTP client
// parses responses natively and hands bodies over as Buffers: fetching the 670 MB
// of a 2 GiB disk's chunks took 1.2 CPU-s with it against 1.6 with undici.request
// (a WebAssembly parser), and fetch, on web streams, cost more than either.

const transportOf = (target: URL): typeof http | typeof https => (target.protocol === 'https:' ? https : http);

/** A request body: text, bytes, or bytes in parts sent one after another. */
type Body = string | Uint8Array | Uint8Array[];

function bodyLength(body: Body): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  return Array.isArray(body) ? body.reduce((sum, part) => sum + part.byteLength, 0) : body.byteLength;
}

function exchange(transport: Transport, url: string, method: string, headers: Record<string, string>, body: Body | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  const target = new URL(url);
  const sized = { ...headers };
  // A length even for an empty POST: otherwise Node would announce a chunked body.
  if (body !== undefined || (method !== 'GET' && method !== 'HEAD')) sized['content-length'] = String(body === undefined ? 0 : bodyLength(body));
  return new Promise((resolve, reject) => {
    const req = transportOf(target).request(target, { method, headers: sized, agent: target.protocol === 'https:' ? transport.https : transport.http, signal }, resolve);
    req.on('error', reject);
    if (!Array.isArray(body)) {
      req.end(body);
      return;
    }
    // Corked, the headers and every part leave in one writev.
    req.cork();
    for (const part of body) req.write(part);
    req.end();
  });
}

async function bytesOf(body: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let total = 0;
  for await (const piece of body as AsyncIterable<Buffer>) {
    pieces.push(piece);
    total += piece.length;
  }
  // One buffer of its own (not a slice of Node's pool), so a chunk can go to a worker without a copy.
  const all = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const piece of pieces) at += piece.copy(all, at);
  return all;
}

async function textOf(body: Readable): Promise<string> {
  return (await bytesOf(body)).toString('utf8');
}

// Not the Fetch API's Headers: that class lives in Node's bundled undici, which
// loads at its first use and so cost every command 25-30 ms before it started;
// and this reads Node's parsed headers in place instead of copying every
// response's (each chunk's included) into a new object.
function headersOf(raw: IncomingHttpHeaders): ResponseHeaders {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
    getSetCookie: () => raw['set-cookie'] ?? [],
  };
}

/** Builds the CairnError for an error answer, keeping the server's own message when it sent one. */
async function errorFrom(res: StreamResponse, method: string, path: string): Promise<CairnError> {
  const text = await textOf(res.body).catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; field?: unknown; details?: unknown } };
    const e = parsed.error;
    if (e && typeof e.message === 'string')
      return new CairnError(
        res.status,
        typeof e.code === 'string' ? e.code : 'error',
        e.message,
        typeof e.field === 'string' ? e.field : undefined,
        Array.isArray(e.details) ? (e.details as { item: string; code: string; message: string }[]) : undefined,
      );
  } catch {
    // Not a Cairn error body (a proxy's HTML page, say): describe the status instead.
  }
  return new CairnError(res.status, 'http_error', `${method} ${path} failed with HTTP ${res.status}, and the answer carried no Cairn error; is the server URL right?`);
}

/**
 * What went wrong with a connection, in a few words for an error message. The
 * socket error is on the error itself or, behind a wrapper, in its `cause`.
 */
export function describeNetworkError(err: unknown): string {
  const own = err as { code?: string; message?: string } | undefined;
  const cause = own?.code ? own : err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') return 'unknown host';
  if (cause?.code === 'ECONNRESET') return 'connection reset';
  // OpenSSL's "wrong version number": an answer that is not TLS, from a server of plain HTTP.
  if (cause?.code === 'EPROTO' || cause?.code === 'ERR_SSL_WRONG_VERSION_NUMBER') return `no TLS there (${cause.code}): if the server serves plain HTTP, use an http:// URL`;
  if (cause?.code === 'ETIMEDOUT' || cause?.code === 'UND_ERR_CONNECT_TIMEOUT') return 'connection timed out';
  if (cause?.message) return cause.code ? `${cause.message} (${cause.code})` : cause.message;
  return err instanceof Error ? err.message : String(err);
}
