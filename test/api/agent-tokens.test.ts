// Tokens scoped to agent work (POST /tokens { scope: 'agent' }), what the console's "add an
// agent" makes: such a token does what `cairn agent` does (src/cli/agent.ts) — register,
// poll, read its resource, upload a backup, read a point back for a rollback, report — and
// nothing else: every other route of the API refuses it, and it reads no chain shared with
// its account. Revoked, it stops at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { backup, expectError, expectStatus, newAccount, newVolume, openApiOperations, randomDisk, unknownId, type Api, type TestAccount } from '../helpers/http.js';
import { runCli, startServer, type TestServer } from '../helpers/server.js';

/** The routes `cairn agent` calls: the only ones an agent's token may. */
const AGENT_ROUTES = new Set([
  'POST /api/v1/agents',
  'POST /api/v1/agents/{id}/poll',
  'POST /api/v1/jobs/{id}/report',
  'GET /api/v1/resources/{id}',
  'POST /api/v1/uploads',
  'GET /api/v1/uploads/{id}',
  'POST /api/v1/uploads/{id}/missing',
  'PUT /api/v1/uploads/{id}/chunks/{digest}',
  'POST /api/v1/uploads/{id}/chunks',
  'GET /api/v1/uploads/{id}/chunk-stream',
  'PUT /api/v1/uploads/{id}/disks/{disk}/manifest',
  'POST /api/v1/uploads/{id}/progress',
  'POST /api/v1/uploads/{id}/commit',
  'DELETE /api/v1/uploads/{id}',
  'GET /api/v1/chains',
  'GET /api/v1/points/{id}',
  'GET /api/v1/points/{id}/disks/{disk}/manifest',
  'GET /api/v1/points/{id}/chunks/{digest}',
  'GET /api/v1/points/{id}/chunks',
  'GET /api/v1/points/{id}/chunk-stream',
]);

let server: TestServer;
let owner: TestAccount;
let stranger: TestAccount;
let agentToken: { id: string; token: string; scope: string };
let agentApi: Api;
let volume: string;

before(async () => {
  server = await startServer();
  [owner, stranger] = await Promise.all([newAccount(server.url, { tag: 'agent-owner' }), newAccount(server.url, { tag: 'agent-sharer' })]);
  volume = await newVolume(owner.api, 'web');
  agentToken = expectStatus(await owner.api.post('/tokens', { name: 'agent host-1', scope: 'agent' }), 201, 'make an agent token').token;
  agentApi = owner.api.as(agentToken.token);
});

after(async () => {
  await server?.stop();
});

test('a token is made scoped to agent work, listed as such, and full tokens stay full', async () => {
  assert.equal(agentToken.scope, 'agent');
  const all = expectStatus(await owner.api.get('/tokens'), 200);
  assert.equal(all.items.find((t: { id: string }) => t.id === owner.tokenId).scope, 'full', 'tokens made without a scope are full');
  const agents = expectStatus(await owner.api.get('/tokens', { scope: 'agent' }), 200);
  assert.deepEqual(
    agents.items.map((t: { id: string }) => t.id),
    [agentToken.id],
    'the scope filter lists the agent tokens only',
  );
  expectError(await owner.api.post('/tokens', { name: 'x', scope: 'root' }), 400);
});

test('an agent token does the agent\'s work: register with its version, poll, back up, read the point back, report', async () => {
  const { agent } = expectStatus(await agentApi.post('/agents', { name: 'host-1', resources: [volume], version: '9.9.9' }), 201, 'register');
  assert.equal(agent.version, '9.9.9');
  assert.equal(agent.token_id, agentToken.id, 'the agent records the token it came with, so the console can revoke it');
  expectStatus(await agentApi.get(`/resources/${volume}`), 200, 'read its resource');
  // Backup now from the console: a job for the agent, which takes it and uploads.
  const job = expectStatus(await owner.api.post(`/resources/${volume}/backups`, { type: 'full' }), 202).job;
  const polled = expectStatus(await agentApi.post(`/agents/${agent.id}/poll`), 200).job;
  assert.equal(polled.id, job.id);
  const disk = randomDisk('disk0', 1 << 20);
  const point = await backup(agentApi, volume, [disk], 'full');
  expectStatus(await agentApi.get('/chains', { resource_id: volume }), 200, 'find the head for an incremental');
  expectStatus(await agentApi.get(`/points/${point.id}`), 200);
  const manifest = await agentApi.get(`/points/${point.id}/disks/disk0/manifest`);
  assert.equal(manifest.status, 200);
  assert.ok(manifest.bytes.equals(disk.manifest), 'the manifest reads back as sent');
  const digest = [...disk.chunks.keys()][0]!;
  assert.equal((await agentApi.get(`/points/${point.id}/chunks/${digest}`)).status, 200);
  // A rollback job, reported on by the agent's token.
  const rollback = expectStatus(await owner.api.post(`/points/${point.id}/rollback`), 202).job;
  assert.equal(expectStatus(await agentApi.post(`/agents/${agent.id}/poll`), 200).job.id, rollback.id);
  assert.equal(expectStatus(await agentApi.post(`/jobs/${rollback.id}/report`, { bytes_done: 10, bytes_total: 20 }), 200).job.status, 'working');
  assert.equal(expectStatus(await agentApi.post(`/jobs/${rollback.id}/report`, { status: 'successful' }), 200).job.status, 'successful');
  const listed = expectStatus(await owner.api.get('/agents'), 200).items.find((a: { id: string }) => a.id === agent.id);
  assert.equal(listed.online, true);
  assert.equal(listed.version, '9.9.9');
  assert.deepEqual(listed.resources, [volume]);
});

test('an agent token is refused every other route of the API: it cannot list shares, make tokens, delete resources…', async () => {
  const routes = await openApiOperations(owner.api.anonymous());
  for (const r of AGENT_ROUTES) assert.ok(routes.includes(r), `${r} is in the API`);
  const refused: string[] = [];
  for (const route of routes) {
    const [method, path] = route.split(' ') as [string, string];
    // The check comes before the route's own: any IDs do.
    const url = path.replace(/\{[a-z_]+\}/g, (p) => (p === '{digest}' ? 'a'.repeat(64) : p === '{disk}' ? 'disk0' : unknownId('x')));
    const body = method === 'GET' || method === 'DELETE' ? undefined : {};
    // Public routes (health, sign-up, sign-in) need no token, so none is checked.
    if ((await agentApi.anonymous().request(method, url, body)).status !== 401) continue;
    const res = await agentApi.request(method, url, body);
    if (res.status === 403 && res.body?.error?.message?.includes('cairn agent')) refused.push(route);
    else assert.ok(AGENT_ROUTES.has(route), `${route} answers an agent's token with ${res.status}, not 403: ${res.text.slice(0, 200)}`);
  }
  for (const r of AGENT_ROUTES) assert.ok(!refused.includes(r), `${r} is agent work, yet refused`);
  for (const r of ['GET /api/v1/shared', 'GET /api/v1/chains/{id}/shares', 'POST /api/v1/chains/{id}/shares', 'POST /api/v1/tokens', 'GET /api/v1/tokens', 'DELETE /api/v1/tokens/{id}', 'POST /api/v1/resources', 'DELETE /api/v1/resources/{id}', 'POST /api/v1/access-keys', 'GET /api/v1/account'])
    assert.ok(refused.includes(r), `${r} refuses an agent's token`);
  // The refusal says what to use instead, and changes nothing.
  const e = expectError(await agentApi.post('/tokens', { name: 'escalate' }), 403, 'forbidden');
  assert.match(e.message, /cairn agent/);
  assert.equal(expectStatus(await owner.api.get('/tokens'), 200).total_count, 2, 'no token was made');
  expectError(await agentApi.delete(`/resources/${volume}`), 403);
  expectStatus(await owner.api.get(`/resources/${volume}`), 200, 'the resource is still there');
});

test('an agent token reads no chain shared with its account, though the account may', async () => {
  const theirs = await newVolume(stranger.api, 'theirs');
  const point = await backup(stranger.api, theirs, [randomDisk('disk0', 1 << 20)], 'full');
  expectStatus(await stranger.api.post(`/chains/${point.chain_id}/shares`, { recipients: [owner.email] }), 201, 'share with the owner');
  expectStatus(await owner.api.get(`/points/${point.id}`), 200, 'the account reads the shared point');
  expectError(await agentApi.get(`/points/${point.id}`), 404, 'not_found');
  expectError(await agentApi.get(`/points/${point.id}/disks/disk0/manifest`), 404, 'not_found');
  const chains = expectStatus(await agentApi.get('/chains'), 200);
  assert.ok(!chains.items.some((c: { id: string }) => c.id === point.chain_id));
});

test('a revoked agent token stops at once', async () => {
  const t = expectStatus(await owner.api.post('/tokens', { name: 'agent host-2', scope: 'agent' }), 201).token;
  const a = owner.api.as(t.token);
  expectStatus(await a.post('/agents', { name: 'host-2', resources: [] }), 201);
  expectStatus(await owner.api.delete(`/tokens/${t.id}`), 200, 'revoke it from the console');
  expectError(await a.post('/agents', { name: 'host-2', resources: [] }), 401);
  expectError(await a.get(`/resources/${volume}`), 401);
});

test('`cairn token create --agent` makes an agent token too, and `token list` shows each token\'s scope', async () => {
  const env = { CAIRN_SERVER: server.url, CAIRN_TOKEN: owner.token };
  const made = await runCli(['--json', 'token', 'create', '--name', 'agent from cli', '--agent'], { env });
  assert.equal(made.code, 0, made.stderr);
  const token = JSON.parse(made.stdout).token;
  assert.equal(token.scope, 'agent');
  expectError(await owner.api.as(token.token).get('/tokens'), 403, 'forbidden');
  const listed = await runCli(['token', 'list'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /\bSCOPE\b/);
  assert.match(listed.stdout, new RegExp(`${token.id}\\s+agent from cli\\s+agent`));
});
