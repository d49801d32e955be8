import assert from 'node:assert/strict';
import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { needBalancer, startCluster, type Cluster } from '../helpers/balancer.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { serverStoreEnv, TEST_STORE } from '../helpers/s3.js';
import { cliUser, fillRandom, makeRawDisk, MiB, storedChunks, until, type CliUser } from '../helpers/cli.js';
import { filesEqual, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { api, expectError, expectStatus, login, PASSWORD, randomEmail, type Json } from '../helpers/http.js';

// The scale-out deployment of docs/deploy.md, end to end: two `cairn serve`
// processes on one PostgreSQL database and one chunk folder, behind nginx run from
// scripts/nginx-balancer.conf, round-robin. Every request of the CLI goes through
// nginx, so consecutive requests of one backup, restore or share land on
// different servers; nginx's access log shows which server took which.

const GC_GRACE_S = 1;

let dir: string;
let cluster: Cluster | undefined;
let admin: CliUser;
let owner: CliUser;
let other: CliUser;

/** The owner's volume: a full and an incremental point, and the disk as it was at each. */
const V = { vol: '', disk: '', chain: '', points: [] as string[], snaps: [] as string[] };
const images: { id: string; snap: string }[] = [];

before(async () => {
  dir = await makeTempDir('cairn-e2e-balancer-');
});

after(async () => {
  try {
    await cluster?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

/** The cluster and its users, made by the first test that runs (the file's tests are skipped on SQLite or without nginx). */
async function ready(t: TestContext): Promise<boolean> {
  if (!(await needBalancer(t))) return false;
  if (!cluster) {
    const adminEmail = randomEmail('admin');
    cluster = await startCluster(2, { adminEmail, adminPassword: PASSWORD, args: ['--gc-grace-seconds', String(GC_GRACE_S)] });
    [admin, owner, other] = await Promise.all([
      cliUser(cluster.url, dir, 'admin', { email: adminEmail, register: false }),
      cliUser(cluster.url, dir, 'owner'),
      cliUser(cluster.url, dir, 'other'),
    ]);
  }
  return true;
}

interface Logged {
  request: string;
  status: number;
  upstream: string;
}

/** nginx's access log: each request, its status, and the server that answered it. */
async function logged(): Promise<Logged[]> {
  const text = await cluster!.balancer.accessLog();
  return [...text.matchAll(/^\S+ "([^"]*)" (\d+) upstream=(\S+) /gm)].map((m) => ({ request: m[1]!, status: Number(m[2]), upstream: m[3]! }));
}

const serverAddrs = () => cluster!.servers.map((s) => new URL(s.url).host);
const path = (name: string) => join(dir, name);

async function backup(...extra: string[]): Promise<Json> {
  const point = (await owner.cli.ok(['backup', V.vol, '--disk', V.disk, ...extra])).point;
  V.points.push(point.id);
  const snap = path(`v-${V.points.length}.img`);
  await copyFile(V.disk, snap);
  V.snaps.push(snap);
  return point;
}

test('full and incremental backups through the balancer: one upload\'s requests and chunk streams are served by both servers', async (t) => {
  if (!(await ready(t))) return;
  V.disk = await makeRawDisk(path('v.img'), 48 * MiB, 24 * MiB, 'balancer-v');
  V.vol = (await owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'behind-nginx', '--disk', 'root:48M'])).resource.id;

  const full = await backup('--full', '--name', 'base');
  assert.equal(full.type, 'full');
  V.chain = full.chain_id;
  await fillRandom(V.disk, 8 * MiB, 2 * MiB, 'balancer-v-change');
  const inc = await backup();
  assert.equal(inc.type, 'incremental');
  assert.equal(inc.parent_id, full.id);
  assert.ok(inc.stored_bytes > 0 && inc.stored_bytes < full.stored_bytes / 4, `the increment stored ${inc.stored_bytes} bytes against the full point's ${full.stored_bytes}`);

  const log = await logged();
  const both = serverAddrs();
  // Every upload of the two backups: its requests (open, chunk streams, manifest, commit) by which servers.
  const byUpload = new Map<string, Set<string>>();
  for (const l of log) {
    const m = /\/api\/v1\/uploads\/([^/ ?]+)/.exec(l.request);
    if (m) byUpload.set(m[1]!, (byUpload.get(m[1]!) ?? new Set()).add(l.upstream));
  }
  assert.ok(byUpload.size >= 2, `the access log names the backups' uploads:\n${log.map((l) => l.request).join('\n')}`);
  for (const [id, servers] of byUpload) assert.deepEqual([...servers].sort(), [...both].sort(), `upload ${id} was served by both servers`);
  const streams = log.filter((l) => /\/uploads\/[^/]+\/chunk-stream /.test(l.request));
  assert.ok(streams.length > 0, 'the uploads used chunk streams');
  assert.ok(streams.every((l) => l.status === 101), `chunk streams were upgraded through nginx: ${streams.map((l) => l.status).join(' ')}`);
  assert.ok(log.every((l) => l.status < 500), `no request failed in the balancer:\n${log.filter((l) => l.status >= 500).map((l) => `${l.status} ${l.request}`).join('\n')}`);
});

test('both points restore bit-exact through the balancer, over chunk streams to either server', async (t) => {
  if (!(await ready(t))) return;
  for (const [i, point] of V.points.entries()) {
    const target = path(`restore-${i}.img`);
    assert.equal((await owner.cli.ok(['restore', point, '--to', target])).restored.point_id, point);
    assert.ok(await filesEqual(target, V.snaps[i]!), `point ${point} restores to the disk it was taken from`);
  }
  const reads = (await logged()).filter((l) => /\/points\/[^/]+\/chunk-stream /.test(l.request));
  assert.ok(reads.length > 0 && reads.every((l) => l.status === 101), `restores read over chunk streams: ${reads.map((l) => l.status).join(' ')}`);
});

test('the owner shares the chain; the recipient sees it and makes an image of it, which exports bit-exact', async (t) => {
  if (!(await ready(t))) return;
  const shared = await owner.cli.ok(['share', 'add', V.chain, '--to', other.email]);
  assert.deepEqual(
    shared.shares.map((s: Json) => s.recipient.id),
    [other.id],
  );
  // Read back many times: any of the servers answers the same.
  for (let i = 0; i < 4; i++) {
    const list = expectStatus(await other.api().get('/shared', { limit: 10 }), 200, 'shared backups').items;
    assert.deepEqual(
      list.map((c: Json) => c.id),
      [V.chain],
    );
  }
  const [head, base] = await Promise.all([
    other.cli.ok(['image', 'create', '--chain', V.chain, '--name', 'from-head']),
    other.cli.ok(['image', 'create', '--from', V.points[0]!, '--name', 'from-base']),
  ]);
  images.push({ id: head.image.id, snap: V.snaps[1]! }, { id: base.image.id, snap: V.snaps[0]! });
  for (const i of images) {
    const out = path(`image-${i.id}.img`);
    await other.cli.ok(['image', 'export', i.id, '-o', out]);
    assert.ok(await filesEqual(out, i.snap), `image ${i.id} exports the disk it was made from`);
  }
});

test('the owner deletes and purges the chain, GC runs on whichever server nginx picks: the recipient\'s images still export bit-exact', async (t) => {
  if (!(await ready(t))) return;
  await owner.cli.ok(['chain', 'delete', V.chain, '--yes']);
  await owner.cli.ok(['recycle', 'purge', V.chain, '--yes']);
  await owner.cli.fails(['chain', 'show', V.chain], 4);
  await sleep(GC_GRACE_S * 1000 + 300);
  const report = (await admin.cli.ok(['gc'])).report;
  assert.ok(report.live_manifests >= 2, `GC kept the images' manifests: ${JSON.stringify(report)}`);
  for (const i of images) {
    const out = path(`after-gc-${i.id}.img`);
    await other.cli.ok(['image', 'export', i.id, '-o', out]);
    assert.ok(await filesEqual(out, i.snap), `image ${i.id} still exports the disk it was made from after GC`);
  }
});

test('the console\'s session works on every server, and sign-in limits count the client behind nginx, not nginx', async (t) => {
  if (!(await ready(t))) return;
  const { session } = await login(cluster!.url, owner.email, PASSWORD);
  const browser = api(cluster!.url).withSession(session);
  const before = (await logged()).length;
  // One request at a time, so that round-robin hands them to the servers in turn.
  for (let i = 0; i < 4; i++) assert.equal(expectStatus(await browser.get('/account'), 200, `request ${i} with the session cookie`).account.id, owner.id);
  const served = new Set((await logged()).slice(before).filter((l) => l.request.includes('/api/v1/account ')).map((l) => l.upstream));
  assert.equal(served.size, 2, 'the session was honoured by both servers');

  // Ten wrong passwords from one client machine block that machine, not every client of the balancer.
  const guesser = api(cluster!.url).from('127.0.0.9');
  for (let i = 0; i < 10; i++) expectError(await guesser.post('/sessions', { email: randomEmail('nobody'), password: `guess ${i}` }), 401);
  expectError(await guesser.post('/sessions', { email: owner.email, password: PASSWORD }), 429, 'too_many_requests', 'the guessing machine is blocked');
  await login(cluster!.url, owner.email, PASSWORD);
});

test('an agent works through the balancer: registered on one server, polling both, its rollback job claimed once and carried out', async (t) => {
  if (!(await ready(t))) return;
  const disk = await makeRawDisk(path('r.img'), 16 * MiB, 8 * MiB, 'balancer-r');
  const vol = (await owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'agent-hosted', '--disk', 'root:16M'])).resource.id;
  const p0 = (await owner.cli.ok(['backup', vol, '--disk', disk])).point;
  const snap0 = path('r-0.img');
  await copyFile(disk, snap0);
  await fillRandom(disk, 2 * MiB, 4 * MiB, 'balancer-r-change');
  const agent = owner.cli.spawn(['agent', '--name', `host-${vol}`, '--map', `${vol}:${disk}`, '--poll-ms', '200'], { json: false });
  try {
    await agent.waitFor(new RegExp(`hosting ${vol}`));
    // Whichever server takes the request sees the agent online (its presence is in the database) and queues the job.
    const job = (await owner.cli.ok(['rollback', p0.id], { timeoutMs: 60_000 })).job;
    assert.equal(job.status, 'successful');
    await agent.waitFor(new RegExp(`rolled back to ${p0.id}`));
    assert.ok(await filesEqual(disk, snap0), 'the agent put the disk back as it was at the point');
    assert.equal(agent.stdout().split(`agent: job ${job.id} rollback`).length - 1, 1, 'the job was handed to the agent once');
    // While the job ran, the CLI's own requests could fall in step with the polls and take every other turn of the
    // round-robin; alone on the balancer now, the agent's next polls go to each server in turn.
    const pollers = async () => new Set((await logged()).filter((l) => /\/api\/v1\/agents\/[^/]+\/poll/.test(l.request)).map((l) => l.upstream));
    for (const deadline = Date.now() + 10_000; (await pollers()).size < 2 && Date.now() < deadline; ) await sleep(200);
    assert.deepEqual(await pollers(), new Set(serverAddrs()), 'the agent\'s polls went to both servers');
  } finally {
    const force = setTimeout(() => agent.child.kill('SIGKILL'), 5_000);
    await agent.kill('SIGTERM');
    clearTimeout(force);
  }
});

test('a server killed with SIGKILL in the middle of a restore: the restore carries on through the other and is bit-exact', async (t) => {
  if (!(await ready(t))) return;
  const victim = cluster!.servers[0]!;
  const size = 160 * MiB;
  const disk = await makeRawDisk(path('r.img'), size, size, 'balancer-r');
  const vol = (await owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'killed-mid-restore', '--disk', `root:${size / MiB}M`])).resource.id;
  const point = (await owner.cli.ok(['backup', vol, '--disk', disk])).point;
  const target = path('r-restored.img');
  const proc = owner.cli.spawn(['restore', point.id, '--to', target]);
  try {
    // Cut it once a few chunks have landed: the file's allocated blocks grow as the restore writes.
    await until('a few chunks of the restore to be written', async () => ((await stat(target).catch(() => undefined))?.blocks ?? 0) * 512 >= 12 * MiB, 60_000, 10);
    assert.equal((await victim.kill('SIGKILL')).signal, 'SIGKILL');
    const exit = await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the restore client hung after a server died')), 120_000).unref()),
    ]);
    assert.equal(exit.code, 0, `the restore carries on through the other server:\n${exit.stderr}`);
    assert.ok(await filesEqual(target, disk), 'the restore is bit-exact after the server died');
    const served = new Set((await logged()).filter((l) => l.request.includes(`/points/${point.id}/`)).map((l) => l.upstream));
    assert.ok(served.has(new URL(victim.url).host), `the server that died served part of the restore (served by ${[...served].join(', ')})`);
  } finally {
    await proc.kill('SIGKILL');
    // The same server again, on its address, so that the balancer has two once more.
    cluster!.servers[0] = await startServer({
      database: cluster!.database,
      dataDir: cluster!.dataDir,
      args: ['--trust-proxy', '127.0.0.1', '--gc-grace-seconds', String(GC_GRACE_S), '--port', new URL(victim.url).port],
      env: TEST_STORE === 's3' ? serverStoreEnv(cluster!.dataDir) : {},
    });
    // nginx keeps a server that failed out of its pool for fail_timeout (10 s): wait until it is back in.
    const back = new URL(victim.url).host;
    const seen = (await logged()).length;
    await until(
      'the balancer to send requests to the restarted server',
      async () => {
        await fetch(`${cluster!.url}/api/v1/health`).then((r) => r.arrayBuffer());
        return (await logged()).slice(seen).some((l) => l.upstream === back && l.status === 200);
      },
      30_000,
      200,
    );
  }
});

test('a server killed with SIGKILL in the middle of a backup: the client carries on through the other, no half point, every point restores bit-exact', async (t) => {
  if (!(await ready(t))) return;
  const [alive, victim] = cluster!.servers as [TestServer, TestServer];
  const size = 160 * MiB;
  const disk = await makeRawDisk(path('k.img'), size, 8 * MiB, 'balancer-k');
  const vol = (await owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'killed-mid-backup', '--disk', `root:${size / MiB}M`])).resource.id;
  const base = (await owner.cli.ok(['backup', vol, '--disk', disk])).point;
  const baseSnap = path('k-base.img');
  await copyFile(disk, baseSnap);
  // The rest of the disk fills with incompressible data: seconds of sending, to be cut in the middle.
  await fillRandom(disk, 8 * MiB, size - 8 * MiB, 'balancer-k-rest');
  const fullSnap = path('k-full.img');
  await copyFile(disk, fullSnap);

  const before = (await storedChunks(cluster!.dataDir)).size;
  const proc = owner.cli.spawn(['backup', vol, '--disk', disk]);
  try {
    await until('a few chunks of the backup to be stored', async () => (await storedChunks(cluster!.dataDir)).size >= before + 4, 60_000, 20);
    assert.equal((await victim.kill('SIGKILL')).signal, 'SIGKILL');
    const exit = await Promise.race([
      proc.exited,
      // Unref'd: a pending timer would keep the test process alive after the last test.
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the backup client hung after a server died')), 120_000).unref()),
    ]);
    assert.equal(exit.code, 0, `the backup carries on through the other server:\n${exit.stderr}`);
    const point = JSON.parse(exit.stdout).point;
    assert.equal(point.parent_id, base.id);

    // The upload was served by the server that died, and finished on the one left.
    const uploadsOn = new Map<string, Set<string>>();
    for (const l of await logged()) {
      const m = /\/api\/v1\/uploads\/([^/ ?]+)/.exec(l.request);
      if (m) uploadsOn.set(m[1]!, (uploadsOn.get(m[1]!) ?? new Set()).add(l.upstream));
    }
    const victimAddr = new URL(victim.url).host;
    assert.ok([...uploadsOn.values()].some((servers) => servers.has(victimAddr) && servers.has(new URL(alive.url).host)), 'an upload was served by both servers, one of which died');

    // Exactly the two points, both whole.
    const chain = expectStatus(await owner.api().get(`/chains/${base.chain_id}`), 200, 'the chain').chain;
    assert.deepEqual(
      chain.points.map((p: Json) => [p.id, p.status]),
      [
        [base.id, 'available'],
        [point.id, 'available'],
      ],
    );
    for (const [id, snap] of [
      [base.id, baseSnap],
      [point.id, fullSnap],
    ] as const) {
      const target = path(`k-restore-${id}.img`);
      await owner.cli.ok(['restore', id, '--to', target], { timeoutMs: 120_000 });
      assert.ok(await filesEqual(target, snap), `point ${id} restores bit-exact after the server died`);
    }
    // And the next backup goes on, through the balancer, on the server left.
    const next = (await owner.cli.ok(['backup', vol, '--disk', disk])).point;
    assert.equal(next.parent_id, point.id);
  } finally {
    await proc.kill('SIGKILL');
  }
});
