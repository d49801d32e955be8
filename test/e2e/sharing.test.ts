import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliUser, makeRawDisk, MiB, overwriteFileData, randomFiles, until, type CliUser } from '../helpers/cli.js';
import { filesEqual, fsckReport, makeExt4Image, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectStatus, PASSWORD, randomEmail, type Json } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The seed page (共享备份), step by step, end to end: a real `cairn serve`, the CLI
// in child processes, three accounts (the owner, the owner's sub-account, another
// account found by email) and a real ext4 disk. The steps build on each other and
// run in order. The server allows 2 recipients per chain, so "too many" is one more
// than the seed's two, and a 1 s GC grace period, so that GC can run at the end.

const GC_GRACE_S = 1;
const MAX_RECIPIENTS = 2;

let dir: string;
let server: TestServer;
let admin: CliUser;
let owner: CliUser;
let other: CliUser;
let sub: CliUser;

/** The shared chain A: an ext4 volume with three points, and the disk as it was at each. */
const A = { vol: '', disk: '', chain: '', points: [] as string[], snaps: [] as string[] };
/** The owner's other data, which no recipient may see: chain B of volume B, and an image of it. */
const B = { vol: '', chain: '', image: '' };
/** Images the recipients make from A: which account, which image, and which snapshot it must equal. */
const images: { user: CliUser; id: string; snap: string }[] = [];

before(async () => {
  dir = await makeTempDir('cairn-e2e-sharing-');
  const adminEmail = randomEmail('admin');
  server = await startServer({ adminEmail, adminPassword: PASSWORD, args: ['--max-recipients', String(MAX_RECIPIENTS), '--gc-grace-seconds', String(GC_GRACE_S)] });
  [admin, owner, other] = await Promise.all([
    cliUser(server.url, dir, 'admin', { email: adminEmail, register: false }),
    cliUser(server.url, dir, 'owner'),
    cliUser(server.url, dir, 'other'),
  ]);
  const subEmail = randomEmail('sub');
  await owner.cli.ok(['subaccount', 'create', '--email', subEmail, '--password', PASSWORD]);
  sub = await cliUser(server.url, dir, 'sub', { email: subEmail, register: false });
});

after(async () => {
  try {
    await server?.stop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

const path = (name: string) => join(dir, name);

async function snapshot(name: string): Promise<string> {
  const copy = path(name);
  await copyFile(A.disk, copy);
  return copy;
}

async function backupA(...extra: string[]): Promise<Json> {
  const point = (await owner.cli.ok(['backup', A.vol, '--disk', A.disk, ...extra])).point;
  A.points.push(point.id);
  A.snaps.push(await snapshot(`a-${A.points.length}.img`));
  return point;
}

// Read-backs that are not themselves what a step checks go over HTTP: each CLI process costs about a second.
const chainOf = async (user: CliUser, id: string): Promise<Json> => expectStatus(await user.api().get(`/chains/${id}`), 200, `chain ${id}`).chain;
const sharesOf = async (id: string): Promise<Json[]> => expectStatus(await owner.api().get(`/chains/${id}/shares`), 200, `shares of ${id}`).items;
const sharedWith = async (user: CliUser): Promise<Json[]> => expectStatus(await user.api().get('/shared', { limit: 100 }), 200, 'shared backups').items;
const eventsOf = async (user: CliUser, chain?: string): Promise<Json[]> => expectStatus(await user.api().get('/events', { limit: 100, chain_id: chain }), 200, 'events').items;
const ownerChainList = async (): Promise<Json[]> => expectStatus(await owner.api().get('/chains', { limit: 100 }), 200, 'chains').items;
const typesOf = (events: Json[]) => new Set(events.map((e: Json) => e.type as string));
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What must hold after a refused share: no recipient, nobody sees the chain, no share event. */
async function nothingShared(what: string): Promise<void> {
  assert.deepEqual(await sharesOf(A.chain), [], `${what}: the chain has no recipient`);
  for (const u of [other, sub, admin]) assert.deepEqual(await sharedWith(u), [], `${what}: ${u.email} sees no shared chain`);
  assert.ok(!typesOf(await eventsOf(owner, A.chain)).has('share.created'), `${what}: no share was recorded`);
}

/** A chain that is unchanged for its owner: same points, same head, available. */
async function ownerChainIntact(what: string): Promise<void> {
  const c = await chainOf(owner, A.chain);
  assert.equal(c.status, 'available', what);
  assert.equal(c.head_point_id, A.points.at(-1), what);
  assert.deepEqual(
    c.points.map((p: Json) => [p.id, p.status]),
    A.points.map((id) => [id, 'available']),
    what,
  );
}

test('the owner backs up an ext4 disk (full, then incremental) and finds its two recipients', async () => {
  // Incompressible files, so each point stores real chunks, in a filesystem e2fsck can check.
  A.disk = await makeExt4Image(dir, { sizeMiB: 32, files: randomFiles(41, 10, MiB), seed: 41, name: 'a.img' });
  const [volA, volB] = await Promise.all([
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'database', '--disk', 'root:32M']),
    owner.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'private', '--disk', 'root:8M']),
  ]);
  A.vol = volA.resource.id;
  B.vol = volB.resource.id;

  const full = await backupA('--full', '--name', 'nightly');
  assert.equal(full.type, 'full');
  A.chain = full.chain_id;
  await overwriteFileData(A.disk, '/data/file-002.bin', { bytes: 64 * 1024, seed: 'sharing-1' });
  const inc = await backupA();
  assert.equal(inc.type, 'incremental');
  assert.equal(inc.chain_id, A.chain);

  const diskB = await makeRawDisk(path('b.img'), 8 * MiB, 2 * MiB, 'sharing-b');
  const pointB = (await owner.cli.ok(['backup', B.vol, '--disk', diskB, '--full'])).point;
  B.chain = pointB.chain_id;
  B.image = (await owner.cli.ok(['image', 'create', '--from', pointB.id, '--name', 'owner-only'])).image.id;

  // Sub-accounts are picked from a list; another account is found by its registered email.
  const [subs, found] = await Promise.all([owner.cli.ok(['subaccount', 'list']), owner.cli.ok(['account', 'lookup', other.email])]);
  assert.deepEqual(
    subs.items.map((a: Json) => [a.id, a.email]),
    [[sub.id, sub.email]],
  );
  assert.deepEqual(found.account, { id: other.id, email: other.email });
});

test('refused shares change nothing: unknown email, oneself, a chain not the caller\'s, too many recipients, a past expiry', async () => {
  // Before any share, A does not exist for the others.
  await Promise.all([other.cli.fails(['chain', 'show', A.chain], 4), sub.cli.fails(['chain', 'show', A.chain], 4), other.cli.fails(['shared', 'show', A.chain], 4)]);

  const nobody = randomEmail('nobody');
  const [unknown, self, mixed, notYours, tooMany, past] = await Promise.all([
    owner.cli.fails(['share', 'add', A.chain, '--to', nobody], 2),
    owner.cli.fails(['share', 'add', A.chain, '--to', owner.email], 2),
    owner.cli.fails(['share', 'add', A.chain, '--to', other.email, '--to', nobody, '--to', owner.id], 2),
    other.cli.fails(['share', 'add', A.chain, '--to', sub.id], 4),
    owner.cli.fails(['share', 'add', A.chain, '--to', other.email, '--to', sub.id, '--to', admin.email], 5),
    owner.cli.fails(['share', 'add', A.chain, '--to', other.email, '--expires', '2020-01-01T00:00:00Z'], 2),
  ]);
  assert.match(unknown.stderr, new RegExp(`${esc(nobody)}.*No active account`));
  assert.match(self.stderr, /cannot share a chain with yourself/);
  // All or none: the valid recipient of a request with bad ones is not added either.
  assert.match(mixed.stderr, new RegExp(`${esc(nobody)}: No active account`));
  assert.match(mixed.stderr, new RegExp(`${owner.id}: You cannot share a chain with yourself`));
  assert.match(notYours.stderr, new RegExp(`${A.chain} was not found`));
  assert.match(tooMany.stderr, new RegExp(`at most ${MAX_RECIPIENTS} accounts`));
  assert.match(past.stderr, /in the past/);
  await nothingShared('after the refused shares');
});

test('a refused share lists each recipient\'s problem on its own line', async () => {
  const nobody = randomEmail('nobody');
  const r = await owner.cli.fails(['share', 'add', A.chain, '--to', nobody, '--to', owner.email], 2);
  assert.match(r.stderr, new RegExp(`^  ${esc(nobody)}: No active account`, 'm'));
  assert.match(r.stderr, new RegExp(`^  ${esc(owner.email)}: You cannot share a chain with yourself`, 'm'));
  await nothingShared('after the refused share');
});

test('the owner shares the chain with both recipients in one request: one by email, the sub-account by ID', async () => {
  const r = await owner.cli.ok(['share', 'add', A.chain, '--to', other.email, '--to', sub.id, '--note', 'the nightly database']);
  assert.deepEqual(
    r.shares.map((s: Json) => [s.chain_id, s.recipient.id, s.recipient.email, s.note, s.expires_at]).sort(),
    [
      [A.chain, other.id, other.email, 'the nightly database', null],
      [A.chain, sub.id, sub.email, 'the nightly database', null],
    ].sort(),
  );

  // Already shared, and one more than the limit: refused, and the two shares stay as they were.
  const [again, third] = await Promise.all([
    owner.cli.fails(['share', 'add', A.chain, '--to', other.email], 5),
    owner.cli.fails(['share', 'add', A.chain, '--to', admin.email], 5),
  ]);
  assert.match(again.stderr, new RegExp(`already shared with ${esc(other.email)}`));
  assert.match(third.stderr, new RegExp(`at most ${MAX_RECIPIENTS} accounts; it has 2`));
  assert.deepEqual(await sharedWith(admin), []);

  // The owner's view: the chain list marks the chain shared with 2; its share list names both.
  const [list, table, shares, sharesTable] = await Promise.all([
    owner.cli.ok(['chain', 'list']),
    owner.cli.run(['chain', 'list'], { json: false }),
    owner.cli.ok(['share', 'list', A.chain]),
    owner.cli.run(['share', 'list', A.chain], { json: false }),
  ]);
  const byId = new Map(list.items.map((c: Json) => [c.id, c]));
  assert.equal((byId.get(A.chain) as Json).share_count, 2);
  assert.equal((byId.get(B.chain) as Json).share_count, 0);
  assert.match(table.stdout, new RegExp(`^${A.chain}\\s+nightly\\s+available\\s.*\\swith 2\\s`, 'm'));
  assert.equal(shares.total_count, 2);
  for (const u of [other, sub]) {
    const s = shares.items.find((x: Json) => x.recipient.id === u.id);
    assert.ok(s, `${u.email} is in the share list`);
    assert.equal(s.recipient.email, u.email);
    assert.ok(Date.parse(s.shared_at) > Date.now() - 600_000);
    assert.match(sharesTable.stdout, new RegExp(`^${esc(u.email)}\\s+${u.id}\\s`, 'm'));
  }
});

test('each recipient sees the chain under Shared backups with the seed\'s columns, its owner and when it was shared', async () => {
  const chain = await chainOf(owner, A.chain);
  for (const u of [other, sub]) {
    const [page, table, found, notFound, notes] = await Promise.all([
      u.cli.ok(['shared', 'list']),
      u.cli.run(['shared', 'list'], { json: false }),
      u.cli.ok(['shared', 'list', '--search', 'NIGHT']),
      u.cli.ok(['shared', 'list', '--search', 'no-such-chain']),
      u.cli.ok(['notifications', '--unread']),
    ]);
    assert.equal(page.total_count, 1, u.email);
    const c = page.items[0];
    // ID / chain name, status, resource, total size, number of points, created time; plus owner and shared-at.
    assert.equal(c.id, A.chain);
    assert.equal(c.name, 'nightly');
    assert.equal(c.status, 'available');
    assert.equal(c.resource_id, A.vol);
    assert.equal(c.total_size, chain.total_size);
    assert.ok(c.total_size > 8 * MiB, `total size ${c.total_size}`);
    assert.equal(c.point_count, 2);
    assert.equal(c.created_at, chain.created_at);
    assert.deepEqual(c.owner, { id: owner.id, email: owner.email });
    assert.ok(Date.parse(c.shared_at) >= Date.parse(c.created_at));
    assert.equal(c.note, 'the nightly database');
    assert.equal(c.share_count, 0, 'a recipient is not told who else the chain is shared with');

    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+NAME\s+STATUS\s+RESOURCE\s+TOTAL SIZE\s+POINTS\s+CREATED\s+OWNER\s+SHARED AT\b/m);
    assert.match(table.stdout, new RegExp(`^${A.chain}\\s+nightly\\s+available\\s+${A.vol} \\(database\\)\\s+[\\d.]+ MiB\\s+2\\s+\\S+ \\S+\\s+${esc(owner.email)} \\(${owner.id}\\)\\s+\\S+ \\S+`, 'm'));
    assert.deepEqual(
      found.items.map((x: Json) => x.id),
      [A.chain],
      'search by name, any case',
    );
    assert.equal(notFound.total_count, 0);

    // The recipient was told: one unread notification of the share, which it then marks read.
    const n = notes.items.filter((x: Json) => x.event.type === 'share.created' && x.event.chain_id === A.chain);
    assert.equal(n.length, 1, `${u.email} has a notification of the share`);
    assert.deepEqual(n[0].event.actor, { id: owner.id, email: owner.email });
    await u.cli.ok(['notifications', 'read', n[0].id]);
    assert.equal((await u.cli.ok(['notifications', '--unread'])).unread_count, 0);
  }
});

test('a recipient sees points added after the share, and the chain is read-only to it', async () => {
  await overwriteFileData(A.disk, '/data/file-006.bin', { bytes: 128 * 1024, seed: 'sharing-2', skipBytes: 256 * 1024 });
  const p3 = await backupA('--name', 'after the share');
  assert.equal(p3.chain_id, A.chain);

  const [shown, tree] = await Promise.all([other.cli.ok(['shared', 'show', A.chain]), other.cli.run(['shared', 'show', A.chain], { json: false })]);
  assert.equal(shown.chain.head_point_id, p3.id);
  assert.equal(shown.chain.point_count, 3);
  assert.deepEqual(
    shown.chain.points.map((p: Json) => p.id),
    A.points,
  );
  assert.match(tree.stdout, new RegExp(`^Owner:\\s+${esc(owner.email)} \\(${owner.id}\\)$`, 'm'));
  assert.match(tree.stdout, new RegExp(`^\\s+\\* ${p3.id}\\s+incremental\\s+available\\s+after the share`, 'm'));

  // Never change, delete, roll back, re-share or back up into the owner's chain: 403 for the chain it can see...
  const [p1, , head] = A.points as [string, string, string];
  const refused = await Promise.all([
    other.cli.fails(['chain', 'delete', A.chain, '--yes'], 3),
    other.cli.fails(['chain', 'edit', A.chain, '--name', 'mine now'], 3),
    other.cli.fails(['point', 'edit', head, '--name', 'mine now'], 3),
    other.cli.fails(['point', 'delete', head, '--yes'], 3),
    other.cli.fails(['rollback', p1], 3),
    other.cli.fails(['share', 'add', A.chain, '--to', admin.email], 3),
    other.cli.fails(['share', 'list', A.chain], 3),
    other.cli.fails(['share', 'cancel', A.chain, '--all'], 3),
    sub.cli.fails(['share', 'cancel', A.chain, '--to', sub.id], 3),
  ]);
  for (const r of refused) assert.match(r.stderr, /shared with you read-only/);
  // ...and 404 for everything else of the owner's, the sub-account included.
  const hidden = await Promise.all([
    other.cli.fails(['backup', A.vol, '--disk', A.disk], 4),
    other.cli.fails(['resource', 'show', A.vol], 4),
    other.cli.fails(['chain', 'show', B.chain], 4),
    other.cli.fails(['image', 'show', B.image], 4),
    other.cli.fails(['image', 'export', B.image, '-o', path('stolen.img')], 4),
    other.cli.fails(['image', 'create', '--chain', B.chain, '--name', 'stolen'], 4),
    sub.cli.fails(['resource', 'show', B.vol], 4),
    sub.cli.fails(['point', 'show', B.chain], 4),
    sub.cli.fails(['image', 'show', B.image], 4),
    sub.cli.fails(['shared', 'show', B.chain], 4),
  ]);
  for (const r of hidden) assert.match(r.stderr, /not found/);
  await ownerChainIntact('after the recipients\' refused changes');
  assert.equal((await chainOf(owner, A.chain)).name, 'nightly');
  assert.equal((await sharesOf(A.chain)).length, 2);
});

test('each recipient makes a new image in its own account, and the owner sees who made which', async () => {
  const [p1, , p3] = A.points as [string, string, string];
  const [fromOther, fromSub, fromSubBase] = await Promise.all([
    other.cli.ok(['image', 'create', '--chain', A.chain, '--name', 'other-copy']),
    sub.cli.ok(['image', 'create', '--chain', A.chain, '--name', 'sub-copy', '--description', 'head of the shared chain']),
    sub.cli.ok(['image', 'create', '--from', p1, '--name', 'sub-base']),
  ]);
  for (const [r, point] of [
    [fromOther, p3],
    [fromSub, p3],
    [fromSubBase, p1],
  ] as const) {
    assert.equal(r.image.status, 'available');
    assert.equal(r.image.size, 32 * MiB);
    assert.deepEqual(r.image.source, { point_id: point, chain_id: A.chain, resource_id: A.vol, disk: 'root', owner: { id: owner.id, email: owner.email } });
  }
  images.push({ user: other, id: fromOther.image.id, snap: A.snaps[2]! }, { user: sub, id: fromSub.image.id, snap: A.snaps[2]! }, { user: sub, id: fromSubBase.image.id, snap: A.snaps[0]! });

  // Images are the maker's own: listed as from a shared chain, invisible to the owner and to the other recipient.
  const [otherImages, subShared, ownerSees, otherSees] = await Promise.all([
    other.cli.ok(['image', 'list', '--source', 'shared']),
    sub.cli.ok(['image', 'list', '--source', 'shared']),
    owner.cli.fails(['image', 'show', fromOther.image.id], 4),
    other.cli.fails(['image', 'show', fromSub.image.id], 4),
  ]);
  assert.deepEqual(
    otherImages.items.map((i: Json) => i.id),
    [fromOther.image.id],
  );
  assert.deepEqual(subShared.items.map((i: Json) => i.id).sort(), [fromSub.image.id, fromSubBase.image.id].sort());
  assert.match(ownerSees.stderr, /not found/);
  assert.match(otherSees.stderr, /not found/);

  // The owner's activity log: which recipient made which image, from which point.
  const [log, table] = await Promise.all([owner.cli.ok(['events', '--chain', A.chain, '--type', 'image.created']), owner.cli.run(['events', '--chain', A.chain], { json: false })]);
  assert.deepEqual(
    log.items.map((e: Json) => [e.actor.id, e.recipient.id, e.data.image_id, e.data.point_id]).sort(),
    [
      [other.id, other.id, fromOther.image.id, p3],
      [sub.id, sub.id, fromSub.image.id, p3],
      [sub.id, sub.id, fromSubBase.image.id, p1],
    ].sort(),
  );
  assert.match(table.stdout, new RegExp(`image\\.created\\s+${A.chain}\\s.*${esc(other.email)} \\(${other.id}\\)\\s.*image ${fromOther.image.id} "other-copy"`));
  // A recipient reads only what concerns it.
  const otherLog = await eventsOf(other, A.chain);
  assert.ok(otherLog.some((e: Json) => e.type === 'image.created' && e.data.image_id === fromOther.image.id));
  assert.ok(!otherLog.some((e: Json) => e.recipient?.id === sub.id), 'the other recipient does not see the sub-account\'s events');
  await ownerChainIntact('after making images');
});

test('the owner cancels the sub-account\'s share: the chain leaves its list, its images stay and still export', async () => {
  const notRecipient = await owner.cli.fails(['share', 'cancel', A.chain, '--to', randomEmail('stranger')], 2);
  assert.match(notRecipient.stderr, /is not shared with/);
  assert.equal((await sharesOf(A.chain)).length, 2, 'a cancel naming a non-recipient changes nothing');

  const r = await owner.cli.ok(['share', 'cancel', A.chain, '--to', sub.id]);
  assert.deepEqual(
    r.cancelled.map((s: Json) => s.recipient.id),
    [sub.id],
  );
  const [list, gone, noImage, noShow] = await Promise.all([
    sub.cli.ok(['shared', 'list']),
    sub.cli.fails(['chain', 'show', A.chain], 4),
    sub.cli.fails(['image', 'create', '--chain', A.chain, '--name', 'too late'], 4),
    sub.cli.fails(['shared', 'show', A.chain], 4),
  ]);
  assert.equal(list.total_count, 0);
  for (const x of [gone, noImage, noShow]) assert.match(x.stderr, /not found/);

  // The other recipient keeps its share; the owner's chain is as it was.
  assert.deepEqual(
    (await sharesOf(A.chain)).map((s: Json) => s.recipient.id),
    [other.id],
  );
  assert.equal((await ownerChainList()).find((c: Json) => c.id === A.chain).share_count, 1);
  assert.deepEqual(
    (await sharedWith(other)).map((c: Json) => c.id),
    [A.chain],
  );
  await ownerChainIntact('after the cancel');

  // The sub-account's images are untouched and whole.
  const subImages = images.filter((i) => i.user === sub);
  const listed = await sub.cli.ok(['image', 'list']);
  assert.deepEqual(listed.items.map((i: Json) => i.id).sort(), subImages.map((i) => i.id).sort());
  const out = path('sub-after-cancel.img');
  const exported = await sub.cli.ok(['image', 'export', subImages[0]!.id, '-o', out]);
  assert.equal(exported.exported.bytes, 32 * MiB);
  assert.ok(await filesEqual(out, subImages[0]!.snap), 'an image made before the cancel exports the disk as it was');

  // Both sides' logs have the cancel; the other recipient's does not.
  const [subLog, ownerLog, otherLog] = await Promise.all([eventsOf(sub, A.chain), eventsOf(owner, A.chain), eventsOf(other, A.chain)]);
  const cancelled = (e: Json) => e.type === 'share.cancelled' && e.recipient?.id === sub.id && e.actor?.id === owner.id;
  assert.ok(subLog.some(cancelled), 'the sub-account sees its share cancelled');
  assert.ok(ownerLog.some(cancelled), 'the owner sees the cancel');
  assert.ok(!otherLog.some((e: Json) => e.type === 'share.cancelled'));
});

test('a share with an expiry stops by itself at its time, and both sides are told', async () => {
  const r = await owner.cli.ok(['share', 'add', B.chain, '--to', sub.email, '--expires', '5s', '--note', 'for a few seconds']);
  const expiresAt = Date.parse(r.shares[0].expires_at);
  assert.ok(expiresAt > Date.now() && expiresAt < Date.now() + 6_000, `expires at ${r.shares[0].expires_at}`);
  // Checked over HTTP: the share must still be live when the check is made.
  const live = await sharedWith(sub);
  if (Date.now() < expiresAt - 200) {
    assert.deepEqual(
      live.map((c: Json) => [c.id, c.note, c.expires_at]),
      [[B.chain, 'for a few seconds', r.shares[0].expires_at]],
    );
  }

  await sleep(Math.max(0, expiresAt - Date.now()) + 300);
  const [gone, list, shares] = await Promise.all([sub.cli.fails(['chain', 'show', B.chain], 4), sub.cli.ok(['shared', 'list']), owner.cli.ok(['share', 'list', B.chain])]);
  assert.match(gone.stderr, /not found/);
  assert.equal(list.total_count, 0);
  assert.equal(shares.total_count, 0);
  assert.equal((await ownerChainList()).find((c: Json) => c.id === B.chain).share_count, 0);

  // The server's housekeeping (every 5 s) records the expiry for both sides and tells the recipient.
  const expired = (e: Json) => e.type === 'share.expired' && e.chain_id === B.chain && e.recipient?.id === sub.id;
  await until('the share.expired event', async () => (await eventsOf(owner, B.chain)).some(expired), 20_000, 250);
  assert.ok((await eventsOf(sub, B.chain)).some(expired));
  const notes = await sub.cli.ok(['notifications']);
  assert.ok(notes.items.some((n: Json) => expired(n.event) && !n.read), 'the recipient is notified of the expiry');
});

test('while the chain is in the recycle bin its recipient sees it as deleted; restored, it is back', async () => {
  await owner.cli.ok(['chain', 'delete', A.chain, '--yes']);
  const [list, refused] = await Promise.all([other.cli.ok(['shared', 'list']), other.cli.fails(['image', 'create', '--chain', A.chain, '--name', 'from the bin'], 5)]);
  assert.deepEqual(
    list.items.map((c: Json) => [c.id, c.status]),
    [[A.chain, 'deleted']],
  );
  assert.match(refused.stderr, /no available head point/);
  const notes = await other.cli.ok(['notifications', '--unread']);
  assert.ok(notes.items.some((n: Json) => n.event.type === 'chain.deleted' && n.event.chain_id === A.chain), 'the recipient is notified of the deletion');

  await owner.cli.ok(['recycle', 'restore', A.chain]);
  const back = await other.cli.ok(['shared', 'list']);
  assert.deepEqual(
    back.items.map((c: Json) => [c.id, c.status, c.point_count]),
    [[A.chain, 'available', 3]],
  );
  const log = typesOf(await eventsOf(other, A.chain));
  assert.ok(log.has('chain.deleted') && log.has('chain.restored'), `the recipient's log: ${[...log].join(', ')}`);
  await ownerChainIntact('after the restore');
});

test('the other recipient deletes its shared entry: only its list changes', async () => {
  const refused = await other.cli.fails(['shared', 'delete', A.chain], 2);
  assert.match(refused.stderr, /--yes/);
  await other.cli.ok(['shared', 'delete', A.chain, '--yes']);
  const [list, gone, again] = await Promise.all([
    other.cli.ok(['shared', 'list']),
    other.cli.fails(['chain', 'show', A.chain], 4),
    other.cli.fails(['shared', 'delete', A.chain, '--yes'], 4),
  ]);
  assert.equal(list.total_count, 0);
  assert.match(gone.stderr, /not found/);
  assert.match(again.stderr, /not found/);

  // The owner's chain, its other data, and every image made from the chain are untouched.
  await ownerChainIntact('after the recipient\'s delete');
  assert.deepEqual(await sharesOf(A.chain), []);
  const chains = await ownerChainList();
  assert.deepEqual(chains.map((c: Json) => [c.id, c.share_count]).sort(), [
    [A.chain, 0],
    [B.chain, 0],
  ].sort());
  assert.equal(expectStatus(await owner.api().get(`/images/${B.image}`), 200).image.status, 'available');
  for (const i of images) assert.equal(expectStatus(await i.user.api().get(`/images/${i.id}`), 200).image.status, 'available');

  const removed = (e: Json) => e.type === 'share.removed' && e.actor?.id === other.id && e.recipient?.id === other.id;
  assert.ok((await eventsOf(owner, A.chain)).some(removed), 'the owner sees the recipient removed the share');
  assert.ok((await eventsOf(other, A.chain)).some(removed));
});

test('the owner deletes the chain, purges it and GC runs: both recipients\' images still export byte-identical and fsck-clean', async () => {
  await owner.cli.ok(['chain', 'delete', A.chain, '--yes']);
  await owner.cli.ok(['recycle', 'purge', A.chain, '--yes']);
  await Promise.all([owner.cli.fails(['chain', 'show', A.chain], 4), owner.cli.fails(['point', 'show', A.points[1]!], 4)]);
  const ownerLog = typesOf(await eventsOf(owner, A.chain));
  for (const t of ['share.created', 'image.created', 'share.cancelled', 'share.removed', 'chain.deleted', 'chain.restored', 'chain.purged'])
    assert.ok(ownerLog.has(t), `the owner's log of the chain has ${t}: ${[...ownerLog].join(', ')}`);

  // Past the grace period, so everything the purge left unreferenced is collectable.
  await sleep(GC_GRACE_S * 1000 + 300);
  const notAdmin = await owner.cli.fails(['gc'], 3);
  assert.match(notAdmin.stderr, /administrator/);
  const report = (await admin.cli.ok(['gc'])).report;
  assert.ok(report.live_manifests >= 3, `GC kept the images' manifests: ${JSON.stringify(report)}`);

  for (const [n, i] of images.entries()) {
    const { user } = i;
    const shown = (await user.cli.ok(['image', 'show', i.id])).image;
    assert.equal(shown.status, 'available');
    assert.equal(shown.source.chain_id, A.chain, 'the image still says where it came from');
    const out = path(`final-${n}.img`);
    await user.cli.ok(['image', 'export', i.id, '-o', out]);
    assert.ok(await filesEqual(out, i.snap), `image ${i.id} of ${user.email} exports the disk as it was when backed up`);
    const fsck = await fsckReport(out);
    assert.ok(fsck.ok, `e2fsck -fn of image ${i.id} failed (exit ${fsck.code}):\n${fsck.output}`);
  }
  // The owner's other chain and image were not touched by any of it.
  assert.equal((await chainOf(owner, B.chain)).point_count, 1);
  const bOut = path('b-final.img');
  await owner.cli.ok(['image', 'export', B.image, '-o', bOut]);
  assert.ok(await filesEqual(bOut, path('b.img')));

  // Each side's log holds what concerned it.
  const [otherLog, subLog] = await Promise.all([eventsOf(other), eventsOf(sub)]);
  const otherTypes = typesOf(otherLog.filter((e: Json) => e.chain_id === A.chain));
  for (const t of ['share.created', 'image.created', 'chain.deleted', 'chain.restored', 'share.removed']) assert.ok(otherTypes.has(t), `other's log has ${t}`);
  assert.ok(!otherTypes.has('share.cancelled') && !otherTypes.has('chain.purged'), 'events of shares it no longer held are not the other recipient\'s');
  const subTypes = typesOf(subLog.filter((e: Json) => e.chain_id === A.chain));
  for (const t of ['share.created', 'image.created', 'share.cancelled']) assert.ok(subTypes.has(t), `the sub-account's log has ${t}`);
  assert.ok(!subTypes.has('chain.deleted') && !subTypes.has('share.removed'));
});
