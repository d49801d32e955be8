// Every route of the API, called by every kind of caller, with the status each must get.
//
// The route list comes from the server's own /api/v1/openapi.json, so a route added
// without a row here fails the first test below. To cover a new route, add one row to
// ROUTES: its OpenAPI key, the owner's object its {id} names (if any), a body if it
// takes one, and the status per caller. Rules the walk enforces for every row:
//   - anon gets 401 unless the route is public;
//   - another account, the owner's sub-account and an administrator get 404 for the
//     owner's IDs, never 403, and exactly what an unknown ID gets (existence never leaks);
//   - no response to anyone but the owner contains an ID of the owner's private objects.
// Callers run in the order anon, other, sub, admin, owner: the owner goes last so that
// a row may delete what its `id` made.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTestStore, type TestStore } from '../helpers/db.js';
import { api, expectStatus, newAccount, newSubaccount, newVolume, PASSWORD, randomEmail, signIn, unknownId, type Api, type Reply, type TestAccount } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

type Who = 'anon' | 'owner' | 'other' | 'sub' | 'admin';
const ORDER: Who[] = ['anon', 'other', 'sub', 'admin', 'owner'];

/** What the rows act on: the owner's objects, and fresh ones for rows that destroy. */
interface World {
  owner: TestAccount;
  other: TestAccount;
  sub: TestAccount;
  admin: TestAccount;
  volume: string;
  instance: string;
  job: string;
  freshVolume(): Promise<string>;
  freshToken(): Promise<string>;
  freshSubaccount(): Promise<string>;
}

interface Row {
  /** `METHOD /path` exactly as the OpenAPI document spells it. */
  route: string;
  expect: Record<Who, number>;
  /** The owner's object that `{id}` stands for; called once per row, before any caller. */
  id?: (w: World) => string | Promise<string>;
  body?: (w: World) => unknown;
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
const OWNER_ONLY_204 = { anon: 401, owner: 204, other: 404, sub: 404, admin: 404 };
const ADMIN_ONLY = { anon: 401, owner: 403, other: 403, sub: 403, admin: 200 };

const newVolumeBody = () => ({ kind: 'volume', name: 'authz', disks: [{ name: 'd0', size: 4096 }] });
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
  // Anyone signed in may resolve an email to an ID: the share dialog names recipients so.
  { route: 'GET /api/v1/accounts/lookup', query: (w) => ({ q: w.owner.email }), expect: ANY_ACCOUNT },

  // Tokens
  { route: 'POST /api/v1/tokens', body: () => ({ name: 'authz' }), expect: ANY_ACCOUNT_CREATES },
  { route: 'GET /api/v1/tokens', ownerSees: (w) => w.owner.tokenId, expect: ANY_ACCOUNT },
  { route: 'DELETE /api/v1/tokens/{id}', id: (w) => w.freshToken(), expect: OWNER_ONLY },

  // Sub-accounts: the parent manages them; a sub-account manages nothing, not even itself
  { route: 'POST /api/v1/subaccounts', body: credentials, expect: { anon: 401, owner: 201, other: 201, sub: 403, admin: 201 } },
  { route: 'GET /api/v1/subaccounts', ownerSees: (w) => w.sub.id, expect: ANY_ACCOUNT },
  { route: 'PATCH /api/v1/subaccounts/{id}', id: (w) => w.sub.id, body: () => ({ status: 'active' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/subaccounts/{id}', id: (w) => w.freshSubaccount(), expect: OWNER_ONLY_204 },

  // Server administration
  { route: 'GET /api/v1/admin/accounts', expect: ADMIN_ONLY },
  { route: 'PATCH /api/v1/admin/accounts/{id}', id: (w) => w.owner.id, body: () => ({ status: 'active' }), expect: ADMIN_ONLY },

  // Resources
  { route: 'POST /api/v1/resources', body: newVolumeBody, expect: ANY_ACCOUNT_CREATES },
  { route: 'GET /api/v1/resources', ownerSees: (w) => w.volume, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/resources/{id}', id: (w) => w.instance, expect: OWNER_ONLY },
  { route: 'PATCH /api/v1/resources/{id}', id: (w) => w.volume, body: () => ({ name: 'renamed' }), expect: OWNER_ONLY },
  { route: 'DELETE /api/v1/resources/{id}', id: (w) => w.freshVolume(), expect: OWNER_ONLY_204 },

  // Jobs
  { route: 'GET /api/v1/jobs', ownerSees: (w) => w.job, expect: ANY_ACCOUNT },
  { route: 'GET /api/v1/jobs/{id}', id: (w) => w.job, expect: OWNER_ONLY },
];

let server: TestServer;
let store: TestStore;
let world: World;
let routesInSpec: string[] = [];
/** IDs of the owner's private objects: none may appear in a reply to anyone else. */
const secrets = new Set<string>();

before(async () => {
  const adminEmail = randomEmail('admin');
  server = await startServer({ adminEmail, adminPassword: PASSWORD });
  // The test's own connection to the server's database: no route makes jobs yet.
  store = await openTestStore({ database: server.database });
  const [owner, other, admin] = await Promise.all([
    newAccount(server.url, { tag: 'owner' }),
    newAccount(server.url, { tag: 'other' }),
    signIn(server.url, adminEmail, PASSWORD),
  ]);
  const sub = await newSubaccount(owner);
  const volume = await newVolume(owner.api, 'owner volume');
  const instance = expectStatus(
    await owner.api.post('/resources', { kind: 'instance', name: 'owner vm', disks: [{ name: 'sys', size: 8192 }, { name: 'data', size: 4096 }] }),
    201,
  ).resource.id;
  const job = (await store.services.jobs.create({ accountId: owner.id, action: 'backup', runner: 'server', resourceId: volume })).id;
  world = {
    owner, other, sub, admin, volume, instance, job,
    freshVolume: async () => {
      const id = await newVolume(owner.api, 'doomed');
      secrets.add(id);
      return id;
    },
    freshToken: async () => {
      const id = expectStatus(await owner.api.post('/tokens', { name: 'doomed' }), 201).token.id;
      secrets.add(id);
      return id;
    },
    freshSubaccount: async () => expectStatus(await owner.api.post('/subaccounts', credentials()), 201).account.id,
  };
  for (const id of [owner.tokenId, owner.token, volume, instance, job]) secrets.add(id);

  const spec = expectStatus(await api(server.url).get('/openapi.json'), 200);
  routesInSpec = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
});

after(async () => {
  await store?.close();
  await server?.stop();
});

test('every route in the OpenAPI document has a row in this test', () => {
  assert.ok(routesInSpec.length > 10, `the OpenAPI document lists only ${routesInSpec.length} routes`);
  const rows = new Set(ROUTES.map((r) => r.route));
  const uncovered = routesInSpec.filter((r) => !rows.has(r));
  assert.deepEqual(uncovered, [], `Routes without a row in ROUTES (test/api/authz.test.ts); add one each:\n  ${uncovered.join('\n  ')}`);
  const stale = ROUTES.filter((r) => !r.hidden && !routesInSpec.includes(r.route)).map((r) => r.route);
  assert.deepEqual(stale, [], `Rows for routes the server no longer has; remove or fix them:\n  ${stale.join('\n  ')}`);
  const twice = ROUTES.map((r) => r.route).filter((r, i, all) => all.indexOf(r) !== i);
  assert.deepEqual(twice, [], 'one row per route');
});

function clientFor(who: Who): Api {
  return who === 'anon' ? api(server.url) : world[who].api;
}

function send(client: Api, method: string, path: string, row: Row): Promise<Reply> {
  const body = row.body?.(world);
  return client.request(method, path, body, { query: row.query?.(world) });
}

test('every route, called by anon, owner, another account, a sub-account and an admin', async (t) => {
  for (const row of ROUTES) {
    await t.test(row.route, async () => {
      const [method, template] = row.route.split(' ') as [string, string];
      const id = row.id ? await row.id(world) : undefined;
      assert.equal(template.includes('{id}'), id !== undefined, 'a row for a route with {id} says which object it names');
      const path = id ? template.replace('{id}', id) : template;

      for (const who of ORDER) {
        const want = row.expect[who];
        const res = await send(clientFor(who), method, path, row);
        assert.equal(res.status, want, `${who}: ${row.route} → expected ${want}, got ${res.status}: ${res.text.slice(0, 300)}`);
        if (res.status >= 400) {
          assert.equal(typeof res.body?.error?.code, 'string', `${who}: error body shape: ${res.text}`);
          assert.equal(typeof res.body?.error?.message, 'string', `${who}: error body shape: ${res.text}`);
        }
        if (who !== 'owner') {
          for (const secret of secrets)
            assert.ok(!res.text.includes(secret), `${who}: the reply to ${row.route} reveals the owner's ${secret}: ${res.text.slice(0, 300)}`);
        }
        if (want === 404 && id) {
          // Someone else's ID must look exactly like one that does not exist.
          const unknown = unknownId(id.slice(0, id.indexOf('-')));
          const ghost = await send(clientFor(who), method, template.replace('{id}', unknown), row);
          assert.equal(ghost.status, 404, `${who}: unknown ID: ${ghost.text}`);
          assert.equal(res.body.error.code, ghost.body.error.code);
          assert.equal(res.body.error.message.replaceAll(id, '<id>'), ghost.body.error.message.replaceAll(unknown, '<id>'));
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
  for (const who of ['owner', 'other', 'sub', 'admin'] as const) {
    const me = expectStatus(await world[who].api.get('/account'), 200).account;
    assert.equal(me.id, world[who].id, who);
  }
  assert.equal(expectStatus(await world.sub.api.get('/account'), 200).account.parent_id, world.owner.id);
});

test('a sub-account is a tenant of its own: parent and sub-account see none of each other\'s resources', async () => {
  const subVolume = await newVolume(world.sub.api, 'sub volume');
  const parentList = expectStatus(await world.owner.api.get('/resources', { limit: 100 }), 200);
  assert.ok(!parentList.items.some((r: { id: string }) => r.id === subVolume), 'the parent does not list the sub-account\'s volume');
  expectStatus(await world.owner.api.get(`/resources/${subVolume}`), 404);
  expectStatus(await world.owner.api.patch(`/resources/${subVolume}`, { name: 'mine now' }), 404);
  expectStatus(await world.owner.api.delete(`/resources/${subVolume}`), 404);
  const subList = expectStatus(await world.sub.api.get('/resources', { limit: 100 }), 200);
  assert.deepEqual(subList.items.map((r: { id: string }) => r.id), [subVolume]);
  assert.equal(subList.total_count, 1);
});

test('a failed attempt by someone else changed nothing', async () => {
  const vol = expectStatus(await world.owner.api.get(`/resources/${world.volume}`), 200).resource;
  assert.equal(vol.name, 'renamed', 'only the owner\'s rename took effect');
  const subs = expectStatus(await world.owner.api.get('/subaccounts'), 200);
  assert.ok(subs.items.some((s: { id: string; status: string }) => s.id === world.sub.id && s.status === 'active'));
  expectStatus(await world.owner.api.get('/account'), 200);
});
