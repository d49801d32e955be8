// The API's contract (src/contract) against the running server: every operation in
// /api/v1/openapi.json declares its answers, and real answers carry exactly what the
// services return. Fastify serializes by the declared schema, which silently drops a
// field the schema does not name and coerces a value of another type: comparing the
// answer with the service's own value is what catches a schema that drifted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Caller } from '../../src/domain/caller.js';
import { pageOf } from '../../src/domain/page.js';
import type { Services } from '../../src/services/index.js';
import { api, backup, expectStatus, newAccount, newVolume, randomDisk, unknownId, type Json, type TestAccount } from '../helpers/http.js';
import { startInProcessServer, type InProcessServer } from '../helpers/server.js';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
type Spec = { paths: Record<string, Record<string, Operation>> };

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

let server: InProcessServer;
let alice: TestAccount;
let bob: TestAccount;
let spec: Spec;

before(async () => {
  server = await startInProcessServer();
  [alice, bob] = await Promise.all([newAccount(server.url, { tag: 'alice' }), newAccount(server.url, { tag: 'bob' })]);
  spec = expectStatus(await api(server.url).get('/openapi.json'), 200);
});
after(async () => {
  await server?.stop();
});

const operations = () =>
  Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, responses: op.responses ?? {} })),
  );

const hasSchema = (r: { content?: Record<string, { schema?: object }> } | undefined) => Object.values(r?.content ?? {}).some((c) => c.schema !== undefined);

test('every operation declares the schema of its success answer (a 204 has no body; a chunk stream succeeds with 101)', () => {
  const ops = operations();
  assert.ok(ops.length > 50, `only ${ops.length} operations in the document`);
  const offenders = ops
    .filter(({ responses }) => !Object.entries(responses).some(([code, r]) => (/^2\d\d$/.test(code) && (code === '204' || hasSchema(r))) || code === '101'))
    .map((o) => o.name);
  assert.deepEqual(offenders, [], `operations without a 2xx response schema: ${offenders.join(', ')}`);
});

test('every operation declares its error answers, with the error body', () => {
  const offenders = operations()
    .filter(({ responses }) => !hasSchema(responses['4XX']) || !hasSchema(responses['5XX']))
    .map((o) => o.name);
  assert.deepEqual(offenders, [], `operations without 4XX and 5XX error bodies: ${offenders.join(', ')}`);
});

test('binary answers are declared as such, JSON ones as JSON', () => {
  const kinds = (name: string, code = '200') => Object.keys(operations().find((o) => o.name === name)?.responses[code]?.content ?? {});
  assert.deepEqual(kinds('GET /api/v1/points/{id}/chunks'), ['application/octet-stream']);
  assert.deepEqual(kinds('GET /api/v1/images/{id}/export', '206'), ['application/octet-stream']);
  assert.deepEqual(kinds('GET /api/v1/chains/{id}'), ['application/json']);
  assert.deepEqual(kinds('GET /api/v1/images/{id}', '4XX'), ['application/json']);
});

test('real answers match their declared schema and carry every field the service returns', async () => {
  // OpenAPI 3.0 writes a null as `nullable`, which Ajv knows; `binary` is OpenAPI's own format.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('binary', true);
  const declared = (path: string, method: string, code: string): object => {
    const schema = spec.paths[path]?.[method]?.responses?.[code]?.content?.['application/json']?.schema;
    assert.ok(schema, `${method.toUpperCase()} ${path} declares no JSON ${code} answer`);
    return schema;
  };
  const s: Services = server.services;
  const callerOf = async (who: TestAccount): Promise<Caller> => (await s.accounts.fromToken(who.token))!;

  const vol = await newVolume(alice.api, 'contract vol');
  const full = await backup(alice.api, vol, [randomDisk('disk0', 1 << 20)], 'full');
  const incr = await backup(alice.api, vol, [randomDisk('disk0', 1 << 20)]);
  expectStatus(await alice.api.post(`/chains/${full.chain_id}/shares`, { recipients: [bob.email], note: 'for the contract' }), 201);
  const image = expectStatus(await bob.api.post('/images', { chain_id: full.chain_id, name: 'contract image' }), 201).image;
  const agent = expectStatus(await alice.api.post('/agents', { name: 'contract agent', resources: [vol] }), 201).agent;
  const job = expectStatus(await alice.api.get('/jobs'), 200).items[0];
  assert.ok(job && agent, 'a job and an agent to show');
  expectStatus(await alice.api.delete(`/points/${incr.id}`), 200);
  const [a, b] = [await callerOf(alice), await callerOf(bob)];
  const page = pageOf({});

  // [who asks, the path as the document names it, the request, what the service returns for it]
  const samples: [TestAccount | null, string, string, (() => Promise<unknown>) | null][] = [
    [null, '/api/v1/health', '/health', null],
    [alice, '/api/v1/account', '/account', async () => ({ account: await s.accounts.me(a) })],
    [alice, '/api/v1/tokens', '/tokens', null],
    [alice, '/api/v1/access-keys', '/access-keys', () => s.accessKeys.list(a, page)],
    [alice, '/api/v1/resources', '/resources', () => s.resources.list(a, page)],
    [alice, '/api/v1/resources/{id}', `/resources/${vol}`, async () => ({ resource: await s.resources.get(a, vol) })],
    [alice, '/api/v1/agents', '/agents', async () => ({ total_count: 1, items: await s.agents.list(a) })],
    [alice, '/api/v1/jobs', '/jobs', () => s.jobs.list(a, page)],
    [alice, '/api/v1/jobs/{id}', `/jobs/${job.id}`, async () => ({ job: await s.jobs.get(a, job.id) })],
    [alice, '/api/v1/chains', '/chains', () => s.chains.list(a, page)],
    [alice, '/api/v1/chains/{id}', `/chains/${full.chain_id}`, async () => ({ chain: await s.chains.get(a, full.chain_id) })],
    [alice, '/api/v1/points/{id}', `/points/${full.id}`, async () => ({ point: await s.chains.getPoint(a, full.id) })],
    [alice, '/api/v1/chains/{id}/shares', `/chains/${full.chain_id}/shares`, async () => {
      const items = await s.shares.list(a, full.chain_id);
      return { total_count: items.length, items };
    }],
    [alice, '/api/v1/recycle-bin', '/recycle-bin', () => s.chains.recycleBin(a, page)],
    [alice, '/api/v1/events', '/events', () => s.events.list(a, page)],
    [bob, '/api/v1/shared', '/shared', () => s.shares.received(b, page)],
    [bob, '/api/v1/shared/{id}', `/shared/${full.chain_id}`, async () => ({ chain: await s.shares.receivedOne(b, full.chain_id) })],
    [bob, '/api/v1/images', '/images', () => s.images.list(b, page)],
    [bob, '/api/v1/images/{id}', `/images/${image.id}`, async () => ({ image: await s.images.get(b, image.id) })],
    [bob, '/api/v1/notifications', '/notifications', () => s.events.notifications(b, page)],
  ];
  for (const [who, path, url, service] of samples) {
    const answer: Json = expectStatus(await (who ? who.api : api(server.url)).get(url), 200, url);
    const validate = ajv.compile(declared(path, 'get', '200'));
    assert.ok(validate(answer), `GET ${url} does not match its declared schema: ${ajv.errorsText(validate.errors)}`);
    if (service) assert.deepEqual(answer, JSON.parse(JSON.stringify(await service())), `GET ${url}: the answer differs from what the service returned`);
  }

  const report = expectStatus(await alice.api.post(`/points/${full.id}/verify`), 200);
  const validate = ajv.compile(declared('/api/v1/points/{id}/verify', 'post', '200'));
  assert.ok(validate(report), ajv.errorsText(validate.errors));
  assert.deepEqual(report, { report: await s.data.verifyPoint(a, full.id) });

  const refused = await alice.api.get(`/chains/${unknownId('ss')}`);
  assert.equal(refused.status, 404);
  const error = ajv.compile(declared('/api/v1/chains/{id}', 'get', '4XX'));
  assert.ok(error(refused.body), ajv.errorsText(error.errors));
});
