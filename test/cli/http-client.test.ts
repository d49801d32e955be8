import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CairnError } from '../../src/domain/errors.js';
import { CairnClient, ServerUnreachableError, type Job } from '../../src/cli/http-client.js';
import { JobWaitTimeout, waitForJob } from '../../src/cli/jobs.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler = (_req, _body, res) => res.end();

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

describe('CairnClient', () => {
  it('sends the bearer token and query, and parses the answer', async () => {
    let seen: IncomingMessage | undefined;
    handler = (req, _b, res) => {
      seen = req;
      json(res, 200, { total_count: 0, items: [] });
    };
    const page = await new CairnClient({ server: `${base}/`, token: 'cairn_t' }).listResources({ offset: 20, kind: 'volume' });
    assert.deepEqual(page, { total_count: 0, items: [] });
    assert.equal(seen?.headers.authorization, 'Bearer cairn_t');
    assert.equal(seen?.url, '/api/v1/resources?offset=20&kind=volume');
  });

  it('turns an error body into a CairnError with the server\'s status, code, message and field', async () => {
    handler = (_r, _b, res) => json(res, 409, { error: { code: 'email_taken', message: 'An account with the email a@b.co already exists.', field: 'email' } });
    await assert.rejects(new CairnClient({ server: base }).register('a@b.co', 'password1'), (err: unknown) => {
      assert.ok(err instanceof CairnError);
      assert.deepEqual([err.status, err.code, err.message, err.field], [409, 'email_taken', 'An account with the email a@b.co already exists.', 'email']);
      return true;
    });
  });

  it('describes an error answer that is not Cairn\'s', async () => {
    handler = (_r, _b, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
    await assert.rejects(new CairnClient({ server: base, token: 't' }).me(), (err: unknown) =>
      err instanceof CairnError && err.status === 502 && /GET \/api\/v1\/account failed with HTTP 502/.test(err.message),
    );
  });

  it('says how to fix an unreachable server', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(new CairnClient({ server: url, token: 't' }).me(), (err: unknown) => {
      assert.ok(err instanceof ServerUnreachableError);
      assert.equal(err.message, `cannot reach the Cairn server at ${url}: connection refused; start it with \`cairn serve\` or pass --server`);
      return true;
    });
  });

  it('signs in with a session cookie, then writes with the cookie and the CSRF header', async () => {
    const seen: IncomingMessage[] = [];
    handler = (req, _b, res) => {
      seen.push(req);
      if (req.url === '/api/v1/sessions')
        return json(res, 200, { account: { id: 'usr-aaaaaaaa' }, csrf_token: 'csrf_x' }, { 'set-cookie': ['other=1; Path=/', 'cairn_session=cs_secret; Path=/; HttpOnly; SameSite=Strict'] });
      if (req.url === '/api/v1/tokens') return json(res, 201, { token: { id: 'tok-aaaaaaaa', token: 'cairn_new' } });
      res.writeHead(204).end();
    };
    const anonymous = new CairnClient({ server: base });
    const { account, session } = await anonymous.login('a@b.co', 'password1');
    assert.equal(account.id, 'usr-aaaaaaaa');
    assert.deepEqual(session, { cookie: 'cairn_session=cs_secret', csrf: 'csrf_x' });
    const browser = anonymous.with({ session });
    assert.equal((await browser.createToken('cli')).token.token, 'cairn_new');
    await browser.logoutSession();
    assert.equal(seen[1]?.headers.cookie, 'cairn_session=cs_secret');
    assert.equal(seen[1]?.headers['x-csrf-token'], 'csrf_x');
    assert.equal(seen[1]?.headers.authorization, undefined);
    assert.equal(seen[2]?.method, 'DELETE');
  });

  it('puts and streams binary bodies', async () => {
    let received: Buffer | undefined;
    handler = (req, body, res) => {
      if (req.method === 'PUT') {
        received = body;
        return json(res, 201, { stored: body.length });
      }
      res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-3/8' }).end(Buffer.from([1, 2, 3, 4]));
    };
    const client = new CairnClient({ server: base, token: 't' });
    const data = Buffer.from([9, 8, 7, 6, 5]);
    assert.deepEqual(await client.putBinary('/api/v1/chunks/x', data), { stored: 5 });
    assert.deepEqual(received, data);
    const res = await client.getStream('/api/v1/images/x/export', { headers: { range: 'bytes=0-3' } });
    assert.equal(res.status, 206);
    const parts: Buffer[] = [];
    for await (const c of res.body) parts.push(c as Buffer);
    assert.deepEqual(Buffer.concat(parts), Buffer.from([1, 2, 3, 4]));
  });
});

describe('waitForJob', () => {
  const job = (status: Job['status'], extra: Partial<Job> = {}): Job => ({
    id: 'j-aaaaaaaa', action: 'backup', status, resource_id: null, target_id: null, runner: 'client', progress: 0, bytes_done: 0, bytes_total: 0,
    error: null, result: null, created_at: '', started_at: null, finished_at: null, updated_at: '', ...extra,
  });

  function clock() {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms) };
  }

  it('polls until the job finishes', async () => {
    const answers = [job('pending'), job('working', { progress: 50 }), job('successful', { progress: 100 })];
    const polled: string[] = [];
    const done = await waitForJob(async () => ({ job: answers.shift()! }), 'j-aaaaaaaa', { ...clock(), onPoll: (j) => polled.push(j.status) });
    assert.equal(done.status, 'successful');
    assert.deepEqual(polled, ['pending', 'working', 'successful']);
  });

  it('returns a failed job for the caller to report', async () => {
    const done = await waitForJob(async () => ({ job: job('failed', { error: 'disk unreadable' }) }), 'j-aaaaaaaa', clock());
    assert.equal(done.error, 'disk unreadable');
  });

  it('gives up at the timeout with the last state seen', async () => {
    await assert.rejects(waitForJob(async () => ({ job: job('working', { progress: 10 }) }), 'j-aaaaaaaa', { ...clock(), timeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof JobWaitTimeout);
      assert.match(err.message, /still working \(10%\) after 5 s; wait again with `cairn job wait j-aaaaaaaa`/);
      return true;
    });
  });

  it('rides out a short outage but not a not-found', async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw new ServerUnreachableError('http://x', 'connection refused');
      return { job: job('successful') };
    };
    assert.equal((await waitForJob(flaky, 'j-aaaaaaaa', clock())).status, 'successful');
    await assert.rejects(waitForJob(async () => Promise.reject(new CairnError(404, 'not_found', 'Job j-aaaaaaaa was not found.')), 'j-aaaaaaaa', clock()), /was not found/);
    await assert.rejects(
      waitForJob(async () => Promise.reject(new ServerUnreachableError('http://x', 'connection refused')), 'j-aaaaaaaa', { ...clock(), outageMs: 3000 }),
      ServerUnreachableError,
    );
  });
});
