// Every route of the API, called by every kind of caller, with the status each must get:
// anonymous, the owner of the objects, another account, the owner's sub-account, a
// server administrator, and a recipient of the owner's shared chains.
//
// The route list comes from the server's own /api/v1/openapi.json, so a route added
// without a row here fails the first test below. To cover a new route, add one row to
// ROUTES: its OpenAPI key, the owner's object its {id} names (if any), its other path
// parameters, a body if it takes one, and the status per caller. Rules the walk
// enforces for every row:
//   - anon gets 401 unless the route is public;
//   - another account, the owner's sub-account and an administrator get 404 for the
//     owner's IDs, never 403, and exactly what an unknown ID gets (existence never leaks);
//   - a recipient reads and uses what was shared with it, gets 403 (read-only) when it
//     tries to change it, and is like any other account for everything else
//     (`recipient` defaults to the `other` column);
//   - no reply to anyone but the owner names one of the owner's private objects
//     (unless the caller itself named it in the request, or it was shared).
// Callers run in the order anon, other, sub, admin, recipient, owner: the owner goes
// last so that a row may destroy what its `id` made for it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CHUNK_SIZE, decodeChunk } from '../../src/format/chunk-codec.js';
import { encodeManifest } from '../../src/format/manifest.js';
import { openTestStore, type TestStore } from '../helpers/db.js';
import {
  api,
  backup,
  batchBody,
  batchQuery,
  expectError,
  expectStatus,
  newAccount,
  newSubaccount,
  openApiOperations,
  newVolume,
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

type Who = 'anon' | 'owner' | 'other' | 'sub' | 'admin' | 'recipient';
const ORDER: Who[] = ['anon', 'other', 'sub', 'admin', 'recipient', 'owner'];
type Expect = Record<Exclude<Who, 'recipient'>, number> & { recipient?: number };

/** What the rows act on: the owner's objects, and fresh ones for rows that destroy or consume. */
interface World {
  owner: TestAccount;
  other: TestAccount;
  sub: TestAccount;
  admin: TestAccount;
  /** Holds a live share of `chain` and of the spare volume's chain. */
  recipient: TestAccount;
  /** An account that is never a caller: rows share with it. */
  bystander: TestAccount;
  /** A volume with no backups, renamed by its row. */
  volume: string;
  instance: string;
  job: string;
  /** A volume with one 4 KiB disk "d0", hosted by `agent`, with a shared chain: `point` (full) then `incremental`. */
  backedUp: string;
  agent: string;
  chain: string;
  point: string;
  incremental: string;
  /** A deleted chain, in the recycle bin. */
  binnedChain: string;
  /** The disk backed up in `point`, and a digest stored there. */
  pointDisk: DiskData;
  digest: string;
  /** An open upload of `backedUp`, opened at first use (an idle upload expires), and a chunk and manifest it has not been sent yet. */
  upload(): Promise<string>;
  pending: DiskData;
  /** An image the owner made from `point`. */
  image: string;
  /** A notification of the recipient's (the owner never gets one). */
  notification: string;
  freshVolume(): Promise<string>;
  freshToken(): Promise<string>;
  /** The owner's access key (its access_key_id). */
  accessKey: string;
  freshAccessKey(): Promise<string>;
  freshSubaccount(): Promise<string>;
  freshIncremental(): Promise<string>;
  freshDeletedPoint(): Promise<string>;
  freshOpenUpload(): Promise<string>;
  freshReadyUpload(): Promise<string>;
  freshWorkingJob(): Promise<string>;
  freshImage(): Promise<string>;
  freshSharedChain(): Promise<string>;
  /** Calls in as the agent, so that jobs for it may be queued (it counts as offline after 30 s). */
  agentAlive(): Promise<void>;
  /** A backup policy, and a task of it backing up `volume`. */
  policy: string;
  task: string;
  freshPolicy(): Promise<string>;
  freshTask(): Promise<string>;
}

interface Row {
  /** `METHOD /path` exactly as the OpenAPI document spells it. */
  route: string;
  expect: Expect;
  /** The owner's object that `{id}` stands for; called once per row, before any caller. */
  id?: (w: World) => string | Promise<string>;
  /** Values of the other path parameters ({digest}, {disk}…). */
  params?: (w: World) => Record<string, string>;
  body?: (w: World) => unknown;
  /** A binary body, sent as application/octet-stream. */
  raw?: (w: World) => Buffer;
  query?: (w: World) => Record<string, string>;
  /** An ID the owner's reply must contain: proves the "not in others' replies" check is not vacuous. */
  ownerSees?: (w: World) => string;
  /** Served but kept out of the OpenAPI document on purpose. */
  hidden?: boolean;
}

const PUBLIC = { anon: 200, owner: 200, other: 200, sub: 200, admin: 200 };
const ANY_ACCOUNT = { anon: 401, owner: 200, other: 200, sub: 200, admin: 200 };
const ANY_ACCOUNT_CREATES = { anon: 401, owner: 201, other: 201, sub: 201, admin: 201 };
const OWNER_ONLY = { anon: 401, owner: 200, other: 404, sub: 404, admin: 404 };
const OWNER_ONLY_201 = { anon: 401, owner: 201, other: 404, sub: 404, admin: 404 };
const OWNER_ONLY_202 = { anon: 401, owner: 202, other: 404, sub: 404, admin: 404 };
const OWNER_ONLY_204 = { anon: 401, owner: 204, other: 404, sub: 404, admin: 404 };
const ADMIN_ONLY = { anon: 401, owner: 403, other: 403, sub: 403, admin: 200 };
/** The recipient of a shared chain may read it and use it (images, restores)… */
const SHARED_READ = { ...OWNER_ONLY, recipient: 200 };
/** …but never change it. */
const SHARED_WRITE = { ...OWNER_ONLY, recipient: 403 };
const SHARED_WRITE_201 = { ...OWNER_ONLY_201, recipient: 403 };
const SHARED_WRITE_202 = { ...OWNER_ONLY_202, recipient: 403 };
/** The recipient's own side of a share: nobody else's business, not even the owner's. */
const RECIPIENT_ONLY = { anon: 401, owner: 404, other: 404, sub: 404, admin: 404, recipient: 200 };
const RECIPIENT_ONLY_204 = { ...RECIPIENT_ONLY, recipient: 204 };

const DISK = { name: 'd0', size: 4096 };
const DAILY = { name: 'authz', schedule: { kind: 'daily', times: ['02:00'] } };
const credentials = () => ({ email: randomEmail('authz'), password: PASSWORD });

// One row per route.
const ROUTES: Row[] = [
  { route: 'GET /api/v1/openapi.json', expect: PUBLIC, hidden: true },
  { route: 'GET /api/v1/health', expect: PUBLIC },

  // Accounts and sessions
  { route: 'POST /api/v1/accounts', body: credentials, expect: { anon: 201, owner: 201, other: 201, sub: 201, admin: 201 } },
  { route: 'POST /api/v1/sessions', body: (w) => ({ email: w.owner.email, password: w.owner.password }), expect: PUBLIC },
  { route: 'DELETE /api/v1/sessions/current', expect: { anon: 401, owner: 204, other: 204, sub: 204, admin: 204 } },
  { route: 'GET /api/v1/account', expect: ANY_ACCOUNT },
  { route: 'PATCH /api/v1/account', body: () => ({ timezone: 'UTC' }), expect: ANY_ACCOUNT },
  // Anyone signed in may resolve an exact email to an ID: the share dialog names recipients so.
  { route: 'GET /api/v1/accounts/lookup', query: (w) => ({ q: w.owner.email }), expect: ANY_ACCOUNT },

  // Tokens
  { route: 'POST /api/v1/tokens', body: () => ({ name: 'authz' }), expect: ANY_ACCOUNT_CREATES },
  { route: 'GET /api/v1/tokens', ownerSees: (w) => w.owner.tokenId, expect: ANY_ACCOUNT },
  { route: 'DELETE /api/v1/tokens/{id}', id: (w) => w.freshToken(), expect: OWNER_ONLY },

  // Access keys of QingCloud's action API (/iaas/ is tested in iaas.test.ts)
  { route: 'POST /api/v1/access-keys', body: () => ({ name: 'authz' }), expect: ANY_ACCOUNT_CREATES },
  { route: 'GET /api/v1/access-keys', ownerSees: (w) => w.accessKey, expect: ANY_ACCOUNT },
  { route: 'PATCH /api/v1/access-keys/{id}', id: (w) => w.accessKey, body: () => ({ status: 'active' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/access-keys/{id}', id: (w) => w.freshAccessKey(), expect: OWNER_ONLY_204 },

  // Sub-accounts: the parent manages them; a sub-account manages nothing, not even itself
  { route: 'POST /api/v1/subaccounts', body: credentials, expect: { anon: 401, owner: 201, other: 201, sub: 403, admin: 201 } },
  { route: 'GET /api/v1/subaccounts', ownerSees: (w) => w.sub.id, expect: ANY_ACCOUNT },
  { route: 'PATCH /api/v1/subaccounts/{id}', id: (w) => w.sub.id, body: () => ({ status: 'active' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/subaccounts/{id}', id: (w) => w.freshSubaccount(), expect: OWNER_ONLY_204 },

  // Server administration
  { route: 'GET /api/v1/admin/accounts', expect: ADMIN_ONLY },
  { route: 'PATCH /api/v1/admin/accounts/{id}', id: (w) => w.owner.id, body: () => ({ status: 'active' }), expect: ADMIN_ONLY },
  { route: 'POST /api/v1/admin/gc', expect: ADMIN_ONLY },
  { route: 'POST /api/v1/admin/verify', expect: ADMIN_ONLY },

  // Resources
  { route: 'POST /api/v1/resources', body: () => ({ kind: 'volume', name: 'authz', disks: [DISK] }), expect: ANY_ACCOUNT_CREATES },
  { route: 'GET /api/v1/resources', ownerSees: (w) => w.volume, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/resources/{id}', id: (w) => w.instance, expect: OWNER_ONLY },
  { route: 'PATCH /api/v1/resources/{id}', id: (w) => w.volume, body: () => ({ name: 'renamed' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/resources/{id}', id: (w) => w.freshVolume(), expect: OWNER_ONLY_204 },
  { route: 'POST /api/v1/resources/{id}/backups', id: async (w) => (await w.agentAlive(), w.backedUp), body: () => ({ type: 'incremental' }), expect: OWNER_ONLY_202 },

  // Jobs
  { route: 'GET /api/v1/jobs', ownerSees: (w) => w.job, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/jobs/{id}', id: (w) => w.job, expect: OWNER_ONLY },
  { route: 'POST /api/v1/jobs/{id}/report', id: (w) => w.freshWorkingJob(), body: () => ({ bytes_done: 1 }), expect: OWNER_ONLY },

  // Agents
  { route: 'POST /api/v1/agents', body: (w) => ({ name: 'authz agent', resources: [w.backedUp] }), expect: OWNER_ONLY_201 },
  { route: 'GET /api/v1/agents', ownerSees: (w) => w.agent, expect: ANY_ACCOUNT },
  { route: 'POST /api/v1/agents/{id}/poll', id: (w) => w.agent, query: () => ({ claim: 'false' }), expect: OWNER_ONLY },

  // The upload protocol
  { route: 'POST /api/v1/uploads', body: (w) => ({ resource_id: w.backedUp, type: 'incremental', disks: [DISK] }), expect: OWNER_ONLY_201 },
  { route: 'GET /api/v1/uploads/{id}', id: (w) => w.upload(), expect: OWNER_ONLY },
  { route: 'POST /api/v1/uploads/{id}/missing', id: (w) => w.upload(), body: (w) => ({ digests: [...w.pending.chunks.keys()] }), expect: OWNER_ONLY },
  { route: 'PUT /api/v1/uploads/{id}/chunks/{digest}', id: (w) => w.upload(), params: (w) => ({ digest: [...w.pending.chunks.keys()][0]! }), raw: (w) => [...w.pending.chunks.values()][0]!, expect: OWNER_ONLY_201 },
  // After the PUT above: the owner's chunk is in, and this one says so (200 either way).
  { route: 'POST /api/v1/uploads/{id}/chunks', id: (w) => w.upload(), query: (w) => batchQuery([...w.pending.chunks].map(([digest, blob]) => ({ digest, blob }))), raw: (w) => batchBody(w.pending.chunks.values()), expect: OWNER_ONLY },
  // As a plain request (the stream itself is tested in chunk-stream.test.ts): only the owner learns it needs an Upgrade.
  { route: 'GET /api/v1/uploads/{id}/chunk-stream', id: (w) => w.upload(), expect: { ...OWNER_ONLY, owner: 426 } },
  { route: 'PUT /api/v1/uploads/{id}/disks/{disk}/manifest', id: (w) => w.upload(), params: () => ({ disk: DISK.name }), raw: (w) => w.pending.manifest, expect: OWNER_ONLY },
  { route: 'POST /api/v1/uploads/{id}/progress', id: (w) => w.upload(), body: () => ({ bytes_done: 100 }), expect: OWNER_ONLY_204 },
  { route: 'POST /api/v1/uploads/{id}/commit', id: (w) => w.freshReadyUpload(), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/uploads/{id}', id: (w) => w.freshOpenUpload(), expect: OWNER_ONLY_204 },

  // Chains and points: shared ones are read-only for their recipient
  { route: 'GET /api/v1/chains', ownerSees: (w) => w.chain, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/chains/{id}', id: (w) => w.chain, expect: SHARED_READ },
  { route: 'PATCH /api/v1/chains/{id}', id: (w) => w.chain, body: () => ({ name: 'renamed chain' }), expect: SHARED_WRITE },
  { route: 'DELETE /api/v1/chains/{id}', id: (w) => w.freshSharedChain(), expect: SHARED_WRITE },
  { route: 'GET /api/v1/points/{id}', id: (w) => w.incremental, expect: SHARED_READ },
  { route: 'PATCH /api/v1/points/{id}', id: (w) => w.incremental, body: () => ({ description: 'edited' }), expect: SHARED_WRITE },
  { route: 'DELETE /api/v1/points/{id}', id: (w) => w.freshIncremental(), expect: SHARED_WRITE },
  { route: 'GET /api/v1/points/{id}/disks/{disk}/manifest', id: (w) => w.point, params: () => ({ disk: DISK.name }), expect: SHARED_READ },
  { route: 'GET /api/v1/points/{id}/chunks/{digest}', id: (w) => w.point, params: (w) => ({ digest: w.digest }), expect: SHARED_READ },
  { route: 'GET /api/v1/points/{id}/chunks', id: (w) => w.point, query: (w) => ({ digests: w.digest }), expect: SHARED_READ },
  // As plain requests (the streams themselves are tested in chunk-stream.test.ts): only those who may read learn they need an Upgrade.
  { route: 'GET /api/v1/points/{id}/chunk-stream', id: (w) => w.point, expect: { ...SHARED_READ, owner: 426, recipient: 426 } },
  { route: 'POST /api/v1/points/{id}/verify', id: (w) => w.point, expect: SHARED_READ },
  { route: 'POST /api/v1/points/{id}/rollback', id: async (w) => (await w.agentAlive(), w.point), expect: SHARED_WRITE_202 },
  { route: 'POST /api/v1/points/{id}/volumes', id: (w) => w.point, body: () => ({ name: 'from a point' }), expect: SHARED_WRITE_201 },
  // Files read in place (docs/files.md): this world's disks are random bytes, so those who may read get
  // past the access check to "no file system" (422); everyone else gets what an unknown point gets.
  { route: 'GET /api/v1/points/{id}/files', id: (w) => w.point, expect: { ...SHARED_READ, owner: 422, recipient: 422 } },
  { route: 'GET /api/v1/points/{id}/files/content', id: (w) => w.point, query: () => ({ path: '/etc/hostname' }), expect: { ...SHARED_READ, owner: 422, recipient: 422 } },
  { route: 'GET /api/v1/points/{id}/files/archive', id: (w) => w.point, query: () => ({ path: '/etc' }), expect: { ...SHARED_READ, owner: 422, recipient: 422 } },

  // Recycle bin
  { route: 'GET /api/v1/recycle-bin', ownerSees: (w) => w.binnedChain, expect: ANY_ACCOUNT },
  // A deleted point is not found for its chain's recipient, as for anyone but the owner.
  { route: 'POST /api/v1/recycle-bin/{id}/restore', id: (w) => w.freshDeletedPoint(), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/recycle-bin/{id}', id: (w) => w.freshDeletedPoint(), expect: OWNER_ONLY_204 },

  // Sharing: the owner's side, then the recipient's (共享备份)
  { route: 'POST /api/v1/chains/{id}/shares', id: (w) => w.chain, body: (w) => ({ recipients: [w.bystander.email], note: 'authz' }), expect: SHARED_WRITE_201 },
  { route: 'GET /api/v1/chains/{id}/shares', id: (w) => w.chain, ownerSees: (w) => w.recipient.id, expect: SHARED_WRITE },
  { route: 'POST /api/v1/chains/{id}/shares/cancel', id: (w) => w.chain, body: (w) => ({ recipients: [w.bystander.email] }), expect: SHARED_WRITE },
  { route: 'GET /api/v1/shared', expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/shared/{id}', id: (w) => w.chain, expect: RECIPIENT_ONLY },
  { route: 'DELETE /api/v1/shared/{id}', id: (w) => w.freshSharedChain(), expect: RECIPIENT_ONLY_204 },

  // Images: made from an owned or a shared point, then private to whoever made them
  { route: 'POST /api/v1/images', body: (w) => ({ point_id: w.point, name: 'authz image' }), expect: { ...OWNER_ONLY_201, recipient: 201 } },
  { route: 'GET /api/v1/images', ownerSees: (w) => w.image, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/images/{id}', id: (w) => w.image, expect: OWNER_ONLY },
  { route: 'PATCH /api/v1/images/{id}', id: (w) => w.image, body: () => ({ description: 'edited' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/images/{id}', id: (w) => w.freshImage(), expect: OWNER_ONLY_204 },
  { route: 'GET /api/v1/images/{id}/manifest', id: (w) => w.image, expect: OWNER_ONLY },
  { route: 'GET /api/v1/images/{id}/chunks/{digest}', id: (w) => w.image, params: (w) => ({ digest: w.digest }), expect: OWNER_ONLY },
  { route: 'GET /api/v1/images/{id}/chunks', id: (w) => w.image, query: (w) => ({ digests: w.digest }), expect: OWNER_ONLY },
  { route: 'GET /api/v1/images/{id}/chunk-stream', id: (w) => w.image, expect: { ...OWNER_ONLY, owner: 426 } },
  { route: 'GET /api/v1/images/{id}/export', id: (w) => w.image, expect: OWNER_ONLY },
  { route: 'GET /api/v1/images/{id}/files', id: (w) => w.image, expect: { ...OWNER_ONLY, owner: 422 } },
  { route: 'GET /api/v1/images/{id}/files/content', id: (w) => w.image, query: () => ({ path: '/etc/hostname' }), expect: { ...OWNER_ONLY, owner: 422 } },
  { route: 'GET /api/v1/images/{id}/files/archive', id: (w) => w.image, query: () => ({ path: '/' }), expect: { ...OWNER_ONLY, owner: 422 } },

  // Backup policies and tasks
  { route: 'POST /api/v1/policies', body: () => DAILY, expect: ANY_ACCOUNT_CREATES },
  { route: 'POST /api/v1/policies/preview', body: () => DAILY, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/policies', ownerSees: (w) => w.policy, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/policies/{id}', id: (w) => w.policy, expect: OWNER_ONLY },
  { route: 'PATCH /api/v1/policies/{id}', id: (w) => w.policy, body: () => ({ name: 'renamed' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/policies/{id}', id: (w) => w.freshPolicy(), expect: OWNER_ONLY_204 },
  { route: 'GET /api/v1/policies/{id}/deliveries', id: (w) => w.policy, expect: OWNER_ONLY },
  // Another account names the owner's policy and volume: both are "not found" to it.
  { route: 'POST /api/v1/tasks', body: (w) => ({ name: 'authz', policy_id: w.policy, resource_ids: [w.volume] }), expect: OWNER_ONLY_201 },
  { route: 'GET /api/v1/tasks', ownerSees: (w) => w.task, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/tasks/{id}', id: (w) => w.task, expect: OWNER_ONLY },
  { route: 'PATCH /api/v1/tasks/{id}', id: (w) => w.task, body: () => ({ name: 'renamed' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/tasks/{id}', id: (w) => w.freshTask(), expect: OWNER_ONLY_204 },
  { route: 'POST /api/v1/tasks/{id}/runs', id: (w) => w.task, expect: OWNER_ONLY_201 },
  { route: 'GET /api/v1/tasks/{id}/runs', id: (w) => w.task, expect: OWNER_ONLY },

  // Activity
  { route: 'GET /api/v1/events', ownerSees: (w) => w.chain, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/notifications', expect: ANY_ACCOUNT },
  { route: 'POST /api/v1/notifications/read', expect: ANY_ACCOUNT },
  { route: 'POST /api/v1/notifications/{id}/read', id: (w) => w.notification, expect: RECIPIENT_ONLY_204 },
];

let server: TestServer;
let store: TestStore;
let world: World;
let routesInSpec: string[] = [];
/** IDs of the owner's objects: none may appear in a reply to anyone else… */
const secrets = new Set<string>();
/** …except these, which the recipient may see since they were shared with it. */
const sharedIds = new Set<string>();

before(async () => {
  const adminEmail = randomEmail('admin');
  server = await startServer({ adminEmail, adminPassword: PASSWORD });
  // The test's own connection to the server's database: no route makes server jobs.
  store = await openTestStore({ database: server.database });
  const [owner, other, admin, recipient, bystander] = await Promise.all([
    newAccount(server.url, { tag: 'owner' }),
    newAccount(server.url, { tag: 'other' }),
    signIn(server.url, adminEmail, PASSWORD),
    newAccount(server.url, { tag: 'recipient' }),
    newAccount(server.url, { tag: 'bystander' }),
  ]);
  const sub = await newSubaccount(owner);
  const o = owner.api;
  const keep = <T extends string>(id: T): T => (secrets.add(id), id);
  const keepShared = <T extends string>(id: T): T => (secrets.add(id), sharedIds.add(id), id);
  const shareWithRecipient = async (chain: string) => {
    expectStatus(await o.post(`/chains/${chain}/shares`, { recipients: [recipient.email] }), 201, 'share');
    return chain;
  };

  const volume = keep(await newVolume(o, 'owner volume'));
  const instance = keep(expectStatus(await o.post('/resources', { kind: 'instance', name: 'owner vm', disks: [{ name: 'sys', size: 8192 }, { name: 'data', size: 4096 }] }), 201).resource.id);
  const job = keep((await store.services.jobs.create({ accountId: owner.id, action: 'gc', runner: 'server', resourceId: volume })).id);
  const newBackedVolume = async (name: string) => keep(expectStatus(await o.post('/resources', { kind: 'volume', name, disks: [DISK] }), 201).resource.id);

  // A shared chain names its resource, so the recipient may see these two volumes' IDs.
  const backedUp = keepShared(await newBackedVolume('backed up'));
  const agent = keep(expectStatus(await o.post('/agents', { name: 'authz agent', resources: [backedUp] }), 201).agent.id);
  const firstDisk = randomDisk();
  const first = await backup(o, backedUp, [firstDisk], 'full');
  keepShared(first.id);
  await shareWithRecipient(first.chain_id);
  const digest = keepShared([...firstDisk.chunks.keys()][0]!);
  const incremental = keepShared((await backup(o, backedUp, [randomDisk()])).id);
  const image = keep(expectStatus(await o.post('/images', { point_id: first.id, name: 'owner image' }), 201).image.id);
  const notification = expectStatus(await recipient.api.get('/notifications'), 200).items[0].id;
  // The recycle bin holds something of the owner's from the start, for the list row.
  const binned = await newBackedVolume('binned');
  const binnedChain = keep((await backup(o, binned, [randomDisk()], 'full')).id);
  expectStatus(await o.delete(`/chains/${binnedChain}`), 200);

  const key = expectStatus(await o.post('/access-keys', { name: 'owner key' }), 201).access_key;
  const accessKey = keep(key.access_key_id as string);
  const accessSecret = key.secret_access_key as string;
  const newPolicy = async () => keep(expectStatus(await o.post('/policies', DAILY), 201).policy.id);
  const policy = await newPolicy();
  const newTask = async () => keep(expectStatus(await o.post('/tasks', { name: 'authz', policy_id: policy, resource_ids: [volume] }), 201).task.id);
  const task = await newTask();

  let theUpload: Promise<string> | undefined;
  const spare = keepShared(await newBackedVolume('spare'));
  await shareWithRecipient(keepShared((await backup(o, spare, [randomDisk()], 'full')).chain_id));

  world = {
    owner, other, sub, admin, recipient, bystander, volume, instance, job, backedUp, agent, incremental, digest, binnedChain, image, notification,
    pointDisk: firstDisk,
    chain: first.chain_id,
    point: first.id,
    upload: () => (theUpload ??= openUpload(o, backedUp, [DISK]).then(keep)),
    pending: randomDisk(),
    freshVolume: () => newVolume(o, 'doomed').then(keep),
    freshToken: async () => keep(expectStatus(await o.post('/tokens', { name: 'doomed' }), 201).token.id),
    accessKey,
    freshAccessKey: async () => keep(expectStatus(await o.post('/access-keys', { name: 'doomed' }), 201).access_key.access_key_id),
    freshSubaccount: async () => expectStatus(await o.post('/subaccounts', credentials()), 201).account.id,
    freshSharedChain: async () => shareWithRecipient(keepShared((await backup(o, keepShared(await newBackedVolume('doomed chain')), [randomDisk()], 'full')).chain_id)),
    freshIncremental: async () => keepShared((await backup(o, spare, [randomDisk()])).id),
    freshDeletedPoint: async () => {
      const id = keepShared((await backup(o, spare, [randomDisk()])).id);
      expectStatus(await o.delete(`/points/${id}`), 200);
      return id;
    },
    freshOpenUpload: async () => keep(await openUpload(o, spare, [DISK])),
    freshReadyUpload: async () => {
      const id = keepShared(await openUpload(o, spare, [DISK]));
      await sendDisks(o, id, [randomDisk()]);
      return id;
    },
    freshWorkingJob: async () => keep((await store.services.jobs.create({ accountId: owner.id, action: 'backup', runner: agent, resourceId: backedUp, status: 'working' })).id),
    freshImage: async () => keep(expectStatus(await o.post('/images', { point_id: first.id, name: 'doomed image' }), 201).image.id),
    agentAlive: async () => void expectStatus(await o.post(`/agents/${agent}/poll`, undefined, { query: { claim: false } }), 200),
    policy,
    task,
    freshPolicy: newPolicy,
    freshTask: newTask,
  };
  for (const s of [owner.tokenId, owner.token, digest, accessKey, accessSecret]) secrets.add(s);

  routesInSpec = await openApiOperations(api(server.url));
});

after(async () => {
  await store?.close();
  await server?.stop();
});

test('every route in the OpenAPI document has a row in this test', () => {
  assert.ok(routesInSpec.length > 10, `the OpenAPI document lists only ${routesInSpec.length} routes`);
  const rows = new Set(ROUTES.map((r) => r.route));
  const uncovered = routesInSpec.filter((r) => !rows.has(r));
  assert.deepEqual(uncovered, [], `Routes without a row in ROUTES (test/api/authz.test.ts); add one each:\n  ${uncovered.join('\n  ')}\n`);
  const stale = ROUTES.filter((r) => !r.hidden && !routesInSpec.includes(r.route)).map((r) => r.route);
  assert.deepEqual(stale, [], `Rows for routes the server no longer has; remove or fix them:\n  ${stale.join('\n  ')}\n`);
  const twice = ROUTES.map((r) => r.route).filter((r, i, all) => all.indexOf(r) !== i);
  assert.deepEqual(twice, [], 'one row per route');
});

function clientFor(who: Who): Api {
  return who === 'anon' ? api(server.url) : world[who].api;
}

interface Sent {
  res: Reply;
  /** Everything the caller put in the request: it may come back in the reply. */
  named: string;
}

async function send(who: Who, method: string, path: string, row: Row): Promise<Sent> {
  const body = row.body?.(world);
  const query = row.query?.(world);
  const raw = row.raw?.(world);
  const res = await clientFor(who).request(method, path, body, { query, raw, contentType: raw ? 'application/octet-stream' : undefined });
  return { res, named: `${path} ${JSON.stringify(query ?? {})} ${JSON.stringify(body ?? {})}` };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = values[name];
    assert.ok(v !== undefined, `the row for ${template} gives no value for {${name}}`);
    return v;
  });
}

test('every route, called by anon, owner, another account, a sub-account and an admin', async (t) => {
  for (const row of ROUTES) {
    await t.test(row.route, async () => {
      const [method, template] = row.route.split(' ') as [string, string];
      const id = row.id ? await row.id(world) : undefined;
      assert.equal(template.includes('{id}'), id !== undefined, 'a row for a route with {id} says which object it names');
      const params = row.params?.(world) ?? {};
      const path = fill(template, { ...params, ...(id ? { id } : {}) });

      for (const who of ORDER) {
        const want = row.expect[who] ?? row.expect.other;
        const { res, named } = await send(who, method, path, row);
        assert.equal(res.status, want, `${who}: ${row.route} → expected ${want}, got ${res.status}: ${res.text.slice(0, 300)}`);
        if (res.status >= 400) {
          assert.equal(typeof res.body?.error?.code, 'string', `${who}: error body shape: ${res.text}`);
          assert.equal(typeof res.body?.error?.message, 'string', `${who}: error body shape: ${res.text}`);
        }
        if (who !== 'owner') {
          for (const secret of secrets) {
            if (named.includes(secret) || (who === 'recipient' && sharedIds.has(secret))) continue;
            assert.ok(!res.text.includes(secret), `${who}: the reply to ${row.route} reveals the owner's ${secret}: ${res.text.slice(0, 300)}`);
          }
        }
        if (want === 404 && id && who !== 'owner') {
          // Someone else's ID must look exactly like one that does not exist (the owner knows its own exist).
          // Access keys' IDs are QingCloud's: 20 uppercase letters and digits, no prefix.
          const unknown = id.includes('-') ? unknownId(id.slice(0, id.indexOf('-'))) : Array.from({ length: 20 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(Math.random() * 36)]).join('');
          const ghost = await send(who, method, fill(template, { ...params, id: unknown }), row);
          assert.equal(ghost.res.status, 404, `${who}: unknown ID: ${ghost.res.text}`);
          assert.equal(res.body.error.code, ghost.res.body.error.code);
          assert.equal(res.body.error.message.replaceAll(id, '<id>'), ghost.res.body.error.message.replaceAll(unknown, '<id>'));
        }
        if (who === 'owner' && row.ownerSees) {
          const mine = row.ownerSees(world);
          assert.ok(res.text.includes(mine), `owner: ${row.route} should list ${mine}: ${res.text.slice(0, 300)}`);
        }
      }
    });
  }
});

test('GET /account answers with the caller\'s own account, whoever asks', async () => {
  for (const who of ['owner', 'other', 'sub', 'admin', 'recipient'] as const) {
    const me = expectStatus(await world[who].api.get('/account'), 200).account;
    assert.equal(me.id, world[who].id, who);
  }
  assert.equal(expectStatus(await world.sub.api.get('/account'), 200).account.parent_id, world.owner.id);
});

test('a sub-account is a tenant of its own: parent and sub-account see none of each other\'s resources', async () => {
  const subVolume = await newVolume(world.sub.api, 'sub volume');
  const parentList = expectStatus(await world.owner.api.get('/resources', { limit: 100 }), 200);
  assert.ok(!parentList.items.some((r: { id: string }) => r.id === subVolume), 'the parent does not list the sub-account\'s volume');
  expectError(await world.owner.api.get(`/resources/${subVolume}`), 404);
  expectError(await world.owner.api.patch(`/resources/${subVolume}`, { name: 'mine now' }), 404);
  expectError(await world.owner.api.delete(`/resources/${subVolume}`), 404);
  const subList = expectStatus(await world.sub.api.get('/resources', { limit: 100 }), 200);
  assert.ok(subList.items.some((r: { id: string }) => r.id === subVolume));
  for (const secret of secrets) assert.ok(!JSON.stringify(subList).includes(secret), `the sub-account lists the parent's ${secret}`);
});

test('failed attempts by others changed nothing', async () => {
  const o = world.owner.api;
  assert.equal(expectStatus(await o.get(`/resources/${world.volume}`), 200).resource.name, 'renamed', 'only the owner\'s rename took effect');
  assert.equal(expectStatus(await o.get(`/chains/${world.chain}`), 200).chain.name, 'renamed chain');
  assert.equal(expectStatus(await o.get(`/points/${world.incremental}`), 200).point.description, 'edited');
  const subs = expectStatus(await o.get('/subaccounts'), 200);
  assert.ok(subs.items.some((s: { id: string; status: string }) => s.id === world.sub.id && s.status === 'active'));
  const others = expectStatus(await world.other.api.get('/resources', { limit: 100 }), 200);
  assert.ok(others.items.every((r: { name: string }) => r.name === 'authz'), 'the other account has only what it made itself');
});

test('content addressing reveals nothing across accounts: a digest alone opens no one else\'s data', async () => {
  const { other } = world;
  const theirs = expectStatus(await other.api.post('/resources', { kind: 'volume', name: 'probe', disks: [DISK] }), 201).resource.id;
  const ownPoint = (await backup(other.api, theirs, [randomDisk()], 'full')).id;
  expectError(await other.api.get(`/points/${ownPoint}/chunks/${world.digest}`), 404, undefined, 'the owner\'s chunk through the other\'s own point');

  const upload = await openUpload(other.api, theirs, [DISK]);
  const missing = expectStatus(await other.api.post(`/uploads/${upload}/missing`, { digests: [world.digest] }), 200).missing;
  assert.deepEqual(missing, [world.digest], 'a chunk only another account holds is reported missing');
  // A manifest that names the owner's chunk without sending it must not commit.
  const forged = encodeManifest({ size: DISK.size, chunkSize: CHUNK_SIZE, chunks: [world.digest] });
  expectStatus(await other.api.request('PUT', `/uploads/${upload}/disks/${DISK.name}/manifest`, undefined, { raw: forged, contentType: 'application/octet-stream' }), 200);
  expectError(await other.api.post(`/uploads/${upload}/commit`), 409, 'missing_chunks');
});

test('a share that ends takes the recipient back to 404, and leaves what it made intact', async () => {
  const { owner, recipient } = world;
  const volume = expectStatus(await owner.api.post('/resources', { kind: 'volume', name: 'short share', disks: [DISK] }), 201).resource.id;
  const disk = randomDisk();
  const point = await backup(owner.api, volume, [disk], 'full');
  expectStatus(await owner.api.post(`/chains/${point.chain_id}/shares`, { recipients: [recipient.id] }), 201);
  const image = expectStatus(await recipient.api.post('/images', { chain_id: point.chain_id, name: 'kept' }), 201).image;
  assert.equal(image.source.owner.id, owner.id);
  expectStatus(await recipient.api.get(`/chains/${point.chain_id}`), 200);

  const cancelled = expectStatus(await owner.api.post(`/chains/${point.chain_id}/shares/cancel`, { recipients: [recipient.email] }), 200).cancelled;
  assert.deepEqual(cancelled.map((c: { recipient: { id: string } }) => c.recipient.id), [recipient.id]);
  for (const path of [`/chains/${point.chain_id}`, `/shared/${point.chain_id}`, `/points/${point.id}`, `/points/${point.id}/chunks/${[...disk.chunks.keys()][0]}`])
    expectError(await recipient.api.get(path), 404, 'not_found', path);
  expectError(await recipient.api.post('/images', { point_id: point.id, name: 'too late' }), 404);
  assert.ok(!JSON.stringify(expectStatus(await recipient.api.get('/shared'), 200)).includes(point.chain_id));

  const exported = await recipient.api.get(`/images/${image.id}/export`);
  expectStatus(exported, 200, 'the image made during the share is still the recipient\'s');
  const [digest, blob] = [...disk.chunks][0]!;
  assert.deepEqual(exported.bytes, decodeChunk(blob, digest), 'the export is the disk as backed up');
  expectStatus(await owner.api.get(`/chains/${point.chain_id}`), 200, 'the owner\'s chain is untouched');
});

test(
  'uploading a chunk that only another account holds answers as for a new chunk',
  async () => {
    const { other, pointDisk } = world;
    const theirs = expectStatus(await other.api.post('/resources', { kind: 'volume', name: 'dedup probe', disks: [DISK] }), 201).resource.id;
    const upload = await openUpload(other.api, theirs, [DISK]);
    const [digest, blob] = [...pointDisk.chunks][0]!;
    const res = await other.api.request('PUT', `/uploads/${upload}/chunks/${digest}`, undefined, { raw: blob, contentType: 'application/octet-stream' });
    assert.deepEqual([res.status, res.body], [201, { stored: true }]);
  },
);

test("a deleted point of a shared chain is not found for its recipient, whatever the route, exactly like an unknown one", async () => {
  const { owner, recipient, digest } = world;
  const point = await world.freshDeletedPoint();
  const ghost = unknownId(point.slice(0, point.indexOf('-')));
  const calls = (id: string): [string, string, Record<string, string>?][] => [
    ['GET', `/points/${id}`],
    ['GET', `/points/${id}/disks/${DISK.name}/manifest`],
    ['POST', `/points/${id}/verify`],
    ['GET', `/points/${id}/chunks`, { digests: digest }],
    ['GET', `/points/${id}/chunks/${digest}`],
    ['POST', `/recycle-bin/${id}/restore`],
    ['DELETE', `/recycle-bin/${id}`],
  ];
  const real = calls(point);
  const unknown = calls(ghost);
  for (const [i, [method, path, query]] of real.entries()) {
    const res = await recipient.api.request(method, path, undefined, { query });
    const error = expectError(res, 404, 'not_found', `recipient: ${method} ${path}`);
    const [, ghostPath, ghostQuery] = unknown[i]!;
    const other = expectError(await recipient.api.request(method, ghostPath, undefined, { query: ghostQuery }), 404, 'not_found', `recipient: ${method} ${ghostPath}`);
    assert.equal(error.message.replaceAll(point, '<id>'), other.message.replaceAll(ghost, '<id>'), `${method} ${path}: the same answer as for an unknown point`);
  }
  // The owner still has it, and once restored the recipient sees it again.
  expectStatus(await owner.api.post(`/recycle-bin/${point}/restore`), 200, 'owner restores');
  expectStatus(await recipient.api.get(`/points/${point}`), 200, 'restored: shared again');

  // A deleted chain stays listed to its recipient, as deleted; its points, in the bin with it, are not found.
  const chain = await world.freshSharedChain();
  expectStatus(await owner.api.delete(`/chains/${chain}`), 200, 'owner deletes the chain');
  assert.equal(expectStatus(await recipient.api.get(`/chains/${chain}`), 200, 'the deleted chain').chain.status, 'deleted');
  for (const [method, path] of [['GET', `/points/${chain}`], ['GET', `/points/${chain}/disks/${DISK.name}/manifest`], ['POST', `/recycle-bin/${chain}/restore`], ['DELETE', `/recycle-bin/${chain}`]] as const)
    expectError(await recipient.api.request(method, path), 404, 'not_found', `recipient of a deleted chain: ${method} ${path}`);
});
