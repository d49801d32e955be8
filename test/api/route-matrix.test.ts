// Every operation of /api/v1/openapi.json, called by every kind of caller, judged by
// a few rules rather than a status per row: an operation added to the API without an
// entry in FIXTURES fails the first test, and its entry says only what its path
// parameters name and how it needs that object; the rules decide the rest.
//
// Callers (ROLES): anonymous; the owner of the objects (itself a sub-account); a
// recipient of its shared chains; a stranger; another sub-account of the same parent
// (sibling); the owner's parent; a server administrator; the owner's revoked token;
// an account whose share of the chain has expired.
//
// The rules:
//   - anonymous gets 401 on everything but the public operations; a revoked token, everywhere;
//   - an object's holder (the owner, or for a recipient's side of a share, the
//     recipient) gets its `ok` status (2xx unless the entry says otherwise);
//   - a recipient may `read` a shared chain and its points (its `ok` status) and is
//     told 403 when it would `write` them;
//   - anyone else gets 404 for an object, never 2xx, never 403: exactly what an
//     unknown ID gets, so existence never leaks; the parent and the administrator
//     included (administration has routes of its own);
//   - administration routes: the administrator gets 2xx, other accounts 403;
//   - no caller ever gets a 5xx, and no reply to anyone but the holder names one of
//     the owner's private IDs (unless the caller named it itself, or it was shared).
// test/api/authz.test.ts keeps the exact statuses per route for the owner's own sub-account.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTestStore, type TestStore } from '../helpers/db.js';
import {
  api,
  backup,
  batchBody,
  batchQuery,
  expectStatus,
  newAccount,
  newSubaccount,
  openApiOperations,
  openUpload,
  PASSWORD,
  randomDisk,
  randomEmail,
  sendDisks,
  signIn,
  unknownId,
  type Api,
  type DiskData,
  type Reply,
  type TestAccount,
} from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ROLES = ['anonymous', 'revoked', 'stranger', 'sibling', 'parent', 'admin', 'expired', 'recipient', 'owner'] as const;
type Role = (typeof ROLES)[number];

/** Who an operation's object is for. */
type Holder = 'owner' | 'recipient' | 'parent';

interface Fixture {
  /** The object `{id}` names (made fresh for operations that destroy or consume it). */
  id?: (w: World) => string | Promise<string>;
  /** Whose object `{id}` (or the body) names: the owner's unless told. */
  holder?: Holder;
  /** How the operation uses a shared chain or point: `read` it (a recipient may) or `write` it (403 to a recipient). Unset: private to its holder. */
  shared?: 'read' | 'write';
  /** Operations without `{id}` that name the holder's objects in the body or query. */
  names?: boolean;
  /** Public: no account needed. */
  public?: boolean;
  /** Administration: the administrator only. */
  admin?: boolean;
  /** An operation no sub-account may call (making sub-accounts): 403 to them. */
  notForSubaccounts?: boolean;
  /** What those who may call it get, when not a 2xx (an Upgrade needed, no file system in random bytes). */
  ok?: number;
  params?: (w: World) => Record<string, string>;
  body?: (w: World) => unknown;
  raw?: (w: World) => Buffer;
  query?: (w: World) => Record<string, string>;
}

interface World {
  callers: Record<Exclude<Role, 'anonymous'>, Api>;
  owner: TestAccount;
  recipient: TestAccount;
  bystander: TestAccount;
  volume: string;
  instance: string;
  job: string;
  backedUp: string;
  agent: string;
  chain: string;
  point: string;
  incremental: string;
  digest: string;
  image: string;
  notification: string;
  accessKey: string;
  policy: string;
  task: string;
  sibling: TestAccount;
  pending: DiskData;
  upload(): Promise<string>;
  fresh: {
    volume(): Promise<string>;
    token(): Promise<string>;
    accessKey(): Promise<string>;
    subaccount(): Promise<string>;
    incremental(): Promise<string>;
    deletedPoint(): Promise<string>;
    openUpload(): Promise<string>;
    readyUpload(): Promise<string>;
    workingJob(): Promise<string>;
    image(): Promise<string>;
    sharedChain(): Promise<string>;
    policy(): Promise<string>;
    task(): Promise<string>;
  };
  agentAlive(): Promise<void>;
}

const DISK = { name: 'd0', size: 4096 };
const DAILY = { name: 'matrix', schedule: { kind: 'daily', times: ['02:00'] } };
const credentials = () => ({ email: randomEmail('matrix'), password: PASSWORD });

/** One entry per operation of the OpenAPI document, keyed `METHOD /path` as it spells them. */
const FIXTURES: Record<string, Fixture> = {
  'GET /api/v1/health': { public: true },
  'POST /api/v1/accounts': { public: true, body: credentials },
  'POST /api/v1/sessions': { public: true, body: (w) => ({ email: w.owner.email, password: w.owner.password }) },
  'DELETE /api/v1/sessions/current': {},
  'GET /api/v1/account': {},
  'PATCH /api/v1/account': { body: () => ({ timezone: 'UTC' }) },
  'GET /api/v1/accounts/lookup': { query: (w) => ({ q: w.bystander.email }) },

  'POST /api/v1/tokens': { body: () => ({ name: 'matrix' }) },
  'GET /api/v1/tokens': {},
  'DELETE /api/v1/tokens/{id}': { id: (w) => w.fresh.token() },
  'POST /api/v1/access-keys': { body: () => ({ name: 'matrix' }) },
  'GET /api/v1/access-keys': {},
  'PATCH /api/v1/access-keys/{id}': { id: (w) => w.accessKey, body: () => ({ status: 'active' }) },
  'DELETE /api/v1/access-keys/{id}': { id: (w) => w.fresh.accessKey() },

  'POST /api/v1/subaccounts': { body: credentials, notForSubaccounts: true },
  'GET /api/v1/subaccounts': {},
  'PATCH /api/v1/subaccounts/{id}': { holder: 'parent', id: (w) => w.sibling.id, body: () => ({ status: 'active' }) },
  'DELETE /api/v1/subaccounts/{id}': { holder: 'parent', id: (w) => w.fresh.subaccount() },

  'GET /api/v1/admin/accounts': { admin: true },
  'PATCH /api/v1/admin/accounts/{id}': { admin: true, id: (w) => w.owner.id, body: () => ({ status: 'active' }) },
  'POST /api/v1/admin/gc': { admin: true },
  'POST /api/v1/admin/verify': { admin: true },

  'POST /api/v1/resources': { body: () => ({ kind: 'volume', name: 'matrix', disks: [DISK] }) },
  'GET /api/v1/resources': {},
  'GET /api/v1/resources/{id}': { id: (w) => w.instance },
  'PATCH /api/v1/resources/{id}': { id: (w) => w.volume, body: () => ({ name: 'renamed' }) },
  'DELETE /api/v1/resources/{id}': { id: (w) => w.fresh.volume() },
  'POST /api/v1/resources/{id}/backups': { id: async (w) => (await w.agentAlive(), w.backedUp), body: () => ({ type: 'incremental' }) },

  'GET /api/v1/jobs': {},
  'GET /api/v1/jobs/{id}': { id: (w) => w.job },
  'POST /api/v1/jobs/{id}/report': { id: (w) => w.fresh.workingJob(), body: () => ({ bytes_done: 1 }) },
  'POST /api/v1/agents': { names: true, body: (w) => ({ name: 'matrix agent', resources: [w.backedUp] }) },
  'GET /api/v1/agents': {},
  'POST /api/v1/agents/{id}/poll': { id: (w) => w.agent, query: () => ({ claim: 'false' }) },

  'POST /api/v1/uploads': { names: true, body: (w) => ({ resource_id: w.backedUp, type: 'incremental', disks: [DISK] }) },
  'GET /api/v1/uploads/{id}': { id: (w) => w.upload() },
  'POST /api/v1/uploads/{id}/missing': { id: (w) => w.upload(), body: (w) => ({ digests: [...w.pending.chunks.keys()] }) },
  'PUT /api/v1/uploads/{id}/chunks/{digest}': { id: (w) => w.upload(), params: (w) => ({ digest: [...w.pending.chunks.keys()][0]! }), raw: (w) => [...w.pending.chunks.values()][0]! },
  'POST /api/v1/uploads/{id}/chunks': {
    id: (w) => w.upload(),
    query: (w) => batchQuery([...w.pending.chunks].map(([digest, blob]) => ({ digest, blob }))),
    raw: (w) => batchBody(w.pending.chunks.values()),
  },
  'GET /api/v1/uploads/{id}/chunk-stream': { id: (w) => w.upload(), ok: 426 },
  'PUT /api/v1/uploads/{id}/disks/{disk}/manifest': { id: (w) => w.upload(), params: () => ({ disk: DISK.name }), raw: (w) => w.pending.manifest },
  'POST /api/v1/uploads/{id}/progress': { id: (w) => w.upload(), body: () => ({ bytes_done: 100 }) },
  'POST /api/v1/uploads/{id}/commit': { id: (w) => w.fresh.readyUpload() },
  'DELETE /api/v1/uploads/{id}': { id: (w) => w.fresh.openUpload() },

  'GET /api/v1/chains': {},
  'GET /api/v1/chains/{id}': { id: (w) => w.chain, shared: 'read' },
  'PATCH /api/v1/chains/{id}': { id: (w) => w.chain, shared: 'write', body: () => ({ name: 'renamed chain' }) },
  'DELETE /api/v1/chains/{id}': { id: (w) => w.fresh.sharedChain(), shared: 'write' },
  'GET /api/v1/points/{id}': { id: (w) => w.incremental, shared: 'read' },
  'PATCH /api/v1/points/{id}': { id: (w) => w.incremental, shared: 'write', body: () => ({ description: 'edited' }) },
  'DELETE /api/v1/points/{id}': { id: (w) => w.fresh.incremental(), shared: 'write' },
  'GET /api/v1/points/{id}/disks/{disk}/manifest': { id: (w) => w.point, shared: 'read', params: () => ({ disk: DISK.name }) },
  'GET /api/v1/points/{id}/chunks/{digest}': { id: (w) => w.point, shared: 'read', params: (w) => ({ digest: w.digest }) },
  'GET /api/v1/points/{id}/chunks': { id: (w) => w.point, shared: 'read', query: (w) => ({ digests: w.digest }) },
  'GET /api/v1/points/{id}/chunk-stream': { id: (w) => w.point, shared: 'read', ok: 426 },
  'POST /api/v1/points/{id}/verify': { id: (w) => w.point, shared: 'read' },
  'POST /api/v1/points/{id}/rollback': { id: async (w) => (await w.agentAlive(), w.point), shared: 'write' },
  'POST /api/v1/points/{id}/volumes': { id: (w) => w.point, shared: 'write', body: () => ({ name: 'from a point' }) },
  // The disks are random bytes: those who may read get past the access check to "no file system".
  'GET /api/v1/points/{id}/files': { id: (w) => w.point, shared: 'read', ok: 422 },
  'GET /api/v1/points/{id}/files/content': { id: (w) => w.point, shared: 'read', ok: 422, query: () => ({ path: '/etc/hostname' }) },
  'GET /api/v1/points/{id}/files/archive': { id: (w) => w.point, shared: 'read', ok: 422, query: () => ({ path: '/etc' }) },

  'GET /api/v1/recycle-bin': {},
  'POST /api/v1/recycle-bin/{id}/restore': { id: (w) => w.fresh.deletedPoint() },
  'DELETE /api/v1/recycle-bin/{id}': { id: (w) => w.fresh.deletedPoint() },

  'POST /api/v1/chains/{id}/shares': { id: (w) => w.chain, shared: 'write', body: (w) => ({ recipients: [w.bystander.email] }) },
  'GET /api/v1/chains/{id}/shares': { id: (w) => w.chain, shared: 'write' },
  'POST /api/v1/chains/{id}/shares/cancel': { id: (w) => w.chain, shared: 'write', body: (w) => ({ recipients: [w.bystander.email] }) },
  'GET /api/v1/shared': {},
  'GET /api/v1/shared/{id}': { holder: 'recipient', id: (w) => w.chain },
  'DELETE /api/v1/shared/{id}': { holder: 'recipient', id: (w) => w.fresh.sharedChain() },

  // Made from a shared point, an image is its maker's own.
  'POST /api/v1/images': { names: true, shared: 'read', body: (w) => ({ point_id: w.point, name: 'matrix image' }) },
  'GET /api/v1/images': {},
  'GET /api/v1/images/{id}': { id: (w) => w.image },
  'PATCH /api/v1/images/{id}': { id: (w) => w.image, body: () => ({ description: 'edited' }) },
  'DELETE /api/v1/images/{id}': { id: (w) => w.fresh.image() },
  'GET /api/v1/images/{id}/manifest': { id: (w) => w.image },
  'GET /api/v1/images/{id}/chunks/{digest}': { id: (w) => w.image, params: (w) => ({ digest: w.digest }) },
  'GET /api/v1/images/{id}/chunks': { id: (w) => w.image, query: (w) => ({ digests: w.digest }) },
  'GET /api/v1/images/{id}/chunk-stream': { id: (w) => w.image, ok: 426 },
  'GET /api/v1/images/{id}/export': { id: (w) => w.image },
  'GET /api/v1/images/{id}/files': { id: (w) => w.image, ok: 422 },
  'GET /api/v1/images/{id}/files/content': { id: (w) => w.image, ok: 422, query: () => ({ path: '/etc/hostname' }) },
  'GET /api/v1/images/{id}/files/archive': { id: (w) => w.image, ok: 422, query: () => ({ path: '/' }) },

  'POST /api/v1/policies': { body: () => DAILY },
  'POST /api/v1/policies/preview': { body: () => DAILY },
  'GET /api/v1/policies': {},
  'GET /api/v1/policies/{id}': { id: (w) => w.policy },
  'PATCH /api/v1/policies/{id}': { id: (w) => w.policy, body: () => ({ name: 'renamed' }) },
  'DELETE /api/v1/policies/{id}': { id: (w) => w.fresh.policy() },
  'GET /api/v1/policies/{id}/deliveries': { id: (w) => w.policy },
  'POST /api/v1/tasks': { names: true, body: (w) => ({ name: 'matrix', policy_id: w.policy, resource_ids: [w.volume] }) },
  'GET /api/v1/tasks': {},
  'GET /api/v1/tasks/{id}': { id: (w) => w.task },
  'PATCH /api/v1/tasks/{id}': { id: (w) => w.task, body: () => ({ name: 'renamed' }) },
  'DELETE /api/v1/tasks/{id}': { id: (w) => w.fresh.task() },
  'POST /api/v1/tasks/{id}/runs': { id: (w) => w.task },
  'GET /api/v1/tasks/{id}/runs': { id: (w) => w.task },

  'GET /api/v1/events': {},
  'GET /api/v1/notifications': {},
  'POST /api/v1/notifications/{id}/read': { holder: 'recipient', id: (w) => w.notification },
  'POST /api/v1/notifications/read': {},
};

/** What a role is, for the rules. */
const SIGNED_IN = (r: Role) => r !== 'anonymous' && r !== 'revoked';
const IS_SUBACCOUNT = (r: Role) => r === 'owner' || r === 'sibling';

/**
 * The status a role must get, from the rules above: a number, or '2xx'.
 * `hasObject`: the operation names an object (a path {id}, or an object in its body).
 */
function expected(f: Fixture, role: Role, hasObject: boolean): number | '2xx' {
  const ok = f.ok ?? '2xx';
  // A credential that no longer works is refused wherever it is sent, so its holder learns to sign in again.
  if (role === 'revoked') return 401;
  if (f.public) return ok;
  if (!SIGNED_IN(role)) return 401;
  if (f.admin) return role === 'admin' ? ok : 403;
  if (!hasObject) return f.notForSubaccounts && IS_SUBACCOUNT(role) ? 403 : ok;
  const holder: Holder = f.holder ?? 'owner';
  if (role === holder) return ok;
  if (role === 'recipient' && holder === 'owner' && f.shared) return f.shared === 'read' ? ok : 403;
  return 404;
}

let server: TestServer;
let store: TestStore;
let world: World;
let operations: string[] = [];
/** IDs of the owner's: none may appear in a reply to anyone else but the recipient (for the shared ones) or a caller that named it. */
const privateIds = new Set<string>();
const sharedIds = new Set<string>();

before(async () => {
  const adminEmail = randomEmail('admin');
  server = await startServer({ adminEmail, adminPassword: PASSWORD });
  store = await openTestStore({ database: server.database });
  const [parent, stranger, admin, recipient, bystander, expired] = await Promise.all([
    newAccount(server.url, { tag: 'parent' }),
    newAccount(server.url, { tag: 'stranger' }),
    signIn(server.url, adminEmail, PASSWORD),
    newAccount(server.url, { tag: 'recipient' }),
    newAccount(server.url, { tag: 'bystander' }),
    newAccount(server.url, { tag: 'expired' }),
  ]);
  // The owner is a sub-account: its parent is one more caller that must see nothing of it.
  const owner = await newSubaccount(parent);
  const sibling = await newSubaccount(parent);
  const revoked = expectStatus(await owner.api.post('/tokens', { name: 'to revoke' }), 201).token;
  expectStatus(await owner.api.delete(`/tokens/${revoked.id}`), 200, 'revoke');
  const o = owner.api;
  const keep = <T extends string>(id: T): T => (privateIds.add(id), id);
  const keepShared = <T extends string>(id: T): T => (privateIds.add(id), sharedIds.add(id), id);
  const share = async (chain: string, to: TestAccount) => {
    expectStatus(await o.post(`/chains/${chain}/shares`, { recipients: [to.email] }), 201, 'share');
    return chain;
  };
  const backedVolume = async (name: string) => keep(expectStatus(await o.post('/resources', { kind: 'volume', name, disks: [DISK] }), 201).resource.id);

  const volume = keep(expectStatus(await o.post('/resources', { kind: 'volume', name: 'owner volume', disks: [{ name: 'disk0', size: 1 << 20 }] }), 201).resource.id);
  const instance = keep(expectStatus(await o.post('/resources', { kind: 'instance', name: 'owner vm', disks: [{ name: 'sys', size: 8192 }] }), 201).resource.id);
  const job = keep((await store.services.jobs.create({ accountId: owner.id, action: 'gc', runner: 'server', resourceId: volume })).id);
  const backedUp = keepShared(await backedVolume('backed up'));
  const agent = keep(expectStatus(await o.post('/agents', { name: 'matrix agent', resources: [backedUp] }), 201).agent.id);
  const firstDisk = randomDisk();
  const first = await backup(o, backedUp, [firstDisk], 'full');
  keepShared(first.id);
  await share(first.chain_id, recipient);
  // A share that has expired: its recipient is a stranger again.
  await share(first.chain_id, expired);
  await store.meta.db.updateTable('shares').set({ expires_at: '2000-01-01T00:00:00.000Z' }).where('recipient_id', '=', expired.id).execute();
  const digest = keepShared([...firstDisk.chunks.keys()][0]!);
  const incremental = keepShared((await backup(o, backedUp, [randomDisk()])).id);
  const image = keep(expectStatus(await o.post('/images', { point_id: first.id, name: 'owner image' }), 201).image.id);
  const notification = expectStatus(await recipient.api.get('/notifications'), 200).items[0].id;
  const key = expectStatus(await o.post('/access-keys', { name: 'owner key' }), 201).access_key;
  const accessKey = keep(key.access_key_id as string);
  const newPolicy = async () => keep(expectStatus(await o.post('/policies', DAILY), 201).policy.id);
  const policy = await newPolicy();
  const newTask = async () => keep(expectStatus(await o.post('/tasks', { name: 'matrix', policy_id: policy, resource_ids: [volume] }), 201).task.id);
  const task = await newTask();
  const spare = keepShared(await backedVolume('spare'));
  await share(keepShared((await backup(o, spare, [randomDisk()], 'full')).chain_id), recipient);
  let theUpload: Promise<string> | undefined;

  world = {
    callers: { owner: o, recipient: recipient.api, stranger: stranger.api, sibling: sibling.api, parent: parent.api, admin: admin.api, expired: expired.api, revoked: api(server.url).as(revoked.token) },
    owner, recipient, bystander, sibling, volume, instance, job, backedUp, agent, incremental, digest, image, notification, accessKey, policy, task,
    chain: first.chain_id,
    point: first.id,
    pending: randomDisk(),
    upload: () => (theUpload ??= openUpload(o, backedUp, [DISK]).then(keep)),
    agentAlive: async () => void expectStatus(await o.post(`/agents/${agent}/poll`, undefined, { query: { claim: false } }), 200),
    fresh: {
      volume: async () => backedVolume('doomed'),
      token: async () => keep(expectStatus(await o.post('/tokens', { name: 'doomed' }), 201).token.id),
      accessKey: async () => keep(expectStatus(await o.post('/access-keys', { name: 'doomed' }), 201).access_key.access_key_id),
      subaccount: async () => expectStatus(await parent.api.post('/subaccounts', credentials()), 201).account.id,
      incremental: async () => keepShared((await backup(o, spare, [randomDisk()])).id),
      deletedPoint: async () => {
        const id = keepShared((await backup(o, spare, [randomDisk()])).id);
        expectStatus(await o.delete(`/points/${id}`), 200);
        return id;
      },
      openUpload: async () => keep(await openUpload(o, spare, [DISK])),
      readyUpload: async () => {
        const id = keepShared(await openUpload(o, spare, [DISK]));
        await sendDisks(o, id, [randomDisk()]);
        return id;
      },
      workingJob: async () => keep((await store.services.jobs.create({ accountId: owner.id, action: 'backup', runner: agent, resourceId: backedUp, status: 'working' })).id),
      image: async () => keep(expectStatus(await o.post('/images', { point_id: first.id, name: 'doomed image' }), 201).image.id),
      sharedChain: async () => share(keepShared((await backup(o, keepShared(await backedVolume('doomed chain')), [randomDisk()], 'full')).chain_id), recipient),
      policy: newPolicy,
      task: newTask,
    },
  };
  for (const s of [owner.tokenId, owner.token, accessKey]) privateIds.add(s);

  operations = await openApiOperations(api(server.url));
});

after(async () => {
  await store?.close();
  await server?.stop();
});

test('every operation of the OpenAPI document has an entry in the fixture map, and no entry is stale', () => {
  assert.ok(operations.length > 50, `the OpenAPI document lists only ${operations.length} operations`);
  const missing = operations.filter((op) => !(op in FIXTURES));
  assert.deepEqual(missing, [], `Operations without an entry in FIXTURES (test/api/route-matrix.test.ts): add one each:\n  ${missing.join('\n  ')}\n`);
  const stale = Object.keys(FIXTURES).filter((op) => !operations.includes(op));
  assert.deepEqual(stale, [], `Entries for operations the server no longer has:\n  ${stale.join('\n  ')}\n`);
});

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = values[name];
    assert.ok(v !== undefined, `the entry for ${template} gives no value for {${name}}`);
    return v;
  });
}

function call(role: Role, method: string, path: string, f: Fixture): Promise<Reply> {
  const client = role === 'anonymous' ? api(server.url) : world.callers[role];
  const raw = f.raw?.(world);
  return client.request(method, path, f.body?.(world), { query: f.query?.(world), raw, contentType: raw ? 'application/octet-stream' : undefined });
}

const matches = (status: number, want: number | '2xx') => (want === '2xx' ? status >= 200 && status < 300 : status === want);

test('every operation × every role: what the rules allow, 0 leaks, 0 5xx', async () => {
  const wrong: string[] = [];
  const leaks: string[] = [];
  const failures: string[] = [];
  let calls = 0;
  for (const op of operations) {
    const f = FIXTURES[op];
    if (!f) continue; // reported by the test above
    const [method, template] = op.split(' ') as [string, string];
    const id = f.id ? await f.id(world) : undefined;
    assert.equal(template.includes('{id}'), id !== undefined, `${op}: an entry for an operation with {id} says what it names`);
    const params = f.params?.(world) ?? {};
    const path = fill(template, { ...params, ...(id ? { id } : {}) });
    const hasObject = id !== undefined || f.names === true;
    const named = `${path} ${JSON.stringify(f.query?.(world) ?? {})} ${JSON.stringify(f.body?.(world) ?? {})}`;
    // The holder goes last, so that an operation may destroy what its fixture made.
    const holder = f.holder ?? 'owner';
    for (const role of [...ROLES.filter((r) => r !== holder), holder]) {
      const want = expected(f, role, hasObject);
      const res = await call(role, method, path, f);
      calls++;
      const said = `${role}: ${op} → ${res.status} ${res.text.slice(0, 200)}`;
      if (res.status >= 500) failures.push(said);
      if (!matches(res.status, want)) wrong.push(`${said} (the rules say ${want})`);
      // A leak: someone with no business with the object learns it exists, or gets it.
      const outsider = hasObject && role !== holder && !(role === 'recipient' && f.shared && holder === 'owner') && SIGNED_IN(role) && !f.admin;
      if (outsider && ((res.status >= 200 && res.status < 300) || res.status === 403)) leaks.push(said);
      if (role !== holder && role !== 'owner') {
        for (const secret of privateIds) {
          // An expired share's recipient learned the shared IDs while it lasted.
          if (named.includes(secret) || ((role === 'recipient' || role === 'expired') && sharedIds.has(secret))) continue;
          if (res.text.includes(secret)) leaks.push(`${role}: the reply to ${op} names the owner's ${secret}`);
        }
      }
      if (want === 404 && id && res.status === 404 && role !== 'owner') {
        // Exactly what an unknown ID gets (the owner knows its own exist). Access keys' IDs are QingCloud's: 20 capitals and digits.
        const unknown = id.includes('-') ? unknownId(id.slice(0, id.indexOf('-'))) : 'A'.repeat(20);
        const ghost = await call(role, method, fill(template, { ...params, id: unknown }), f);
        if (ghost.status !== 404 || ghost.body?.error?.message?.replaceAll(unknown, '<id>') !== res.body?.error?.message?.replaceAll(id, '<id>'))
          leaks.push(`${role}: ${op} answers another's ID unlike an unknown one: ${res.text.slice(0, 200)} / ${ghost.text.slice(0, 200)}`);
      }
    }
  }
  assert.ok(calls >= operations.length * ROLES.length, `${calls} calls`);
  const report = `5xx answers:\n  ${failures.join('\n  ')}\nleaks:\n  ${leaks.join('\n  ')}\nanswers the rules do not allow:\n  ${wrong.join('\n  ')}\n`;
  assert.deepEqual({ failures: failures.length, leaks: leaks.length, wrong: wrong.length }, { failures: 0, leaks: 0, wrong: 0 }, report);
});
