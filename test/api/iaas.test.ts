// QingCloud's action API at /iaas/ (issue 31), through a signing client written from
// QingCloud's documentation (test/helpers/qingcloud.ts): access keys, the signature and
// its freshness, every action, every error code, and the owner / recipient / stranger /
// disabled-key rules, each refusal checked to have changed nothing.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sealSecret } from '../../src/services/secret-seal.js';
import { Cli } from '../helpers/cli.js';
import { backup, expectError, expectStatus, newAccount, newVolume, randomDisk, type TestAccount } from '../helpers/http.js';
import { QingCloudClient, qcTime, type QcReply } from '../helpers/qingcloud.js';
import { startInProcessServer, type InProcessServer } from '../helpers/server.js';

let server: InProcessServer;
let owner: TestAccount;
let recipient: TestAccount;
let stranger: TestAccount;
/** Each account's key, and the owner's through GET and POST alike. */
let qOwner: QingCloudClient;
let qRecipient: QingCloudClient;
let qStranger: QingCloudClient;
/** The owner's volume, its agent, and its chain: the full point (the chain's ID) and an incremental one after it. */
const W = { vol: '', agent: '', full: '', incr: '', instance: '' };

async function newKey(account: TestAccount, name = 'sdk'): Promise<QingCloudClient> {
  const k = expectStatus(await account.api.post('/access-keys', { name }), 201, 'create an access key').access_key;
  return new QingCloudClient(server.url, k.access_key_id, k.secret_access_key);
}

const agentAlive = async () => void expectStatus(await owner.api.post(`/agents/${W.agent}/poll`, undefined, { query: { claim: false } }), 200, 'agent calls in');

/** The owner's chain as the REST API shows it: what a refused action must leave as it was. */
const chainState = async () => expectStatus(await owner.api.get(`/chains/${W.full}`), 200).chain;

before(async () => {
  server = await startInProcessServer();
  [owner, recipient, stranger] = await Promise.all([newAccount(server.url, { tag: 'owner' }), newAccount(server.url, { tag: 'recipient' }), newAccount(server.url, { tag: 'stranger' })]);
  W.vol = await newVolume(owner.api, 'web');
  W.agent = expectStatus(await owner.api.post('/agents', { name: 'host', resources: [W.vol] }), 201).agent.id;
  W.full = (await backup(owner.api, W.vol, [randomDisk('disk0', 1 << 20)], 'full')).id;
  W.incr = (await backup(owner.api, W.vol, [randomDisk('disk0', 1 << 20)])).id;
  W.instance = expectStatus(await owner.api.post('/resources', { kind: 'instance', name: 'db', disks: [{ name: 'sys', size: 1024 ** 3 }, { name: 'data', size: 2 * 1024 ** 3 }] }), 201).resource.id;
  expectStatus(await owner.api.post(`/chains/${W.full}/shares`, { recipients: [recipient.email], note: 'for you' }), 201, 'share');
  [qOwner, qRecipient, qStranger] = await Promise.all([newKey(owner), newKey(recipient), newKey(stranger)]);
});

after(async () => {
  await server?.stop();
});

const fail = async (client: QingCloudClient, retCode: number, action: string, params: Record<string, string | number> = {}, opts = {}) => {
  const r = await client.call(action, params, opts);
  assert.equal(r.ret_code, retCode, `${action} ${JSON.stringify(params)}: ${JSON.stringify(r)}`);
  assert.equal(typeof r.message, 'string');
  assert.ok(r.message.length > 0);
  return r;
};

test('access keys: a 20-character ID and a 40-character secret shown once; listed, disabled and deleted by their owner only', async () => {
  const created = expectStatus(await owner.api.post('/access-keys', { name: 'laptop' }), 201).access_key;
  assert.match(created.access_key_id, /^[A-Z0-9]{20}$/);
  assert.match(created.secret_access_key, /^[A-Za-z0-9]{40}$/);
  const list = expectStatus(await owner.api.get('/access-keys'), 200);
  const listed = list.items.find((k: { access_key_id: string }) => k.access_key_id === created.access_key_id);
  assert.deepEqual({ name: listed.name, status: listed.status }, { name: 'laptop', status: 'active' });
  assert.ok(!JSON.stringify(list).includes(created.secret_access_key), 'a list never shows a secret again');
  assert.ok(!JSON.stringify(expectStatus(await stranger.api.get('/access-keys'), 200)).includes(created.access_key_id));
  expectError(await stranger.api.patch(`/access-keys/${created.access_key_id}`, { status: 'disabled' }), 404, 'not_found');
  expectError(await stranger.api.delete(`/access-keys/${created.access_key_id}`), 404, 'not_found');
  assert.equal(expectStatus(await owner.api.patch(`/access-keys/${created.access_key_id}`, { status: 'disabled' }), 200).access_key.status, 'disabled');
  expectStatus(await owner.api.delete(`/access-keys/${created.access_key_id}`), 204);
  expectError(await owner.api.delete(`/access-keys/${created.access_key_id}`), 404, 'not_found');
});

test('GET and POST, HmacSHA256 and HmacSHA1: DescribeSnapshots in QingCloud\'s fields', async () => {
  for (const method of ['GET', 'POST'] as const) {
    for (const algorithm of ['HmacSHA256', 'HmacSHA1'] as const) {
      const r = await qOwner.ok('DescribeSnapshots', { req_id: 'r-1' }, { method, algorithm });
      assert.equal(r.total_count, 2, `${method} ${algorithm}`);
      assert.deepEqual(r.snapshot_set.map((x: { snapshot_id: string }) => x.snapshot_id).sort(), [W.full, W.incr].sort());
    }
  }
  const [incr] = (await qOwner.ok('DescribeSnapshots', { 'snapshots.1': W.incr, verbose: 1 })).snapshot_set;
  assert.equal(incr.snapshot_type, 0);
  assert.equal(incr.root_id, W.full);
  assert.equal(incr.parent_id, W.full);
  assert.equal(incr.is_head, 1);
  assert.equal(incr.status, 'available');
  assert.equal(incr.size, 1);
  assert.equal(incr.total_count, 2);
  assert.match(incr.create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(incr.resource, { resource_id: W.vol, resource_name: 'web', resource_type: 'volume' });
  const full = await qOwner.ok('DescribeSnapshots', { snapshot_type: 1, search_word: W.vol, limit: 100 });
  assert.deepEqual(full.snapshot_set.map((x: { snapshot_id: string; parent_id: string }) => [x.snapshot_id, x.parent_id]), [[W.full, 'self']]);
  const paged = await qOwner.ok('DescribeSnapshots', { offset: 1, limit: 1 });
  assert.equal(paged.snapshot_set.length, 1);
  assert.equal(paged.total_count, 2);
  assert.equal((await qOwner.ok('DescribeSnapshots', { search_word: 'no such backup' })).total_count, 0);
});

test('authentication: a wrong secret, an unknown key, a disabled key get 1200; stale or expired requests 1300', async () => {
  const before = await chainState();
  await fail(qOwner, 1200, 'DescribeSnapshots', {}, { secret: 'x'.repeat(40) });
  await fail(new QingCloudClient(server.url, 'QYACCESSKEYIDEXAMPLE', 'SECRETACCESSKEY'), 1200, 'DescribeSnapshots');
  // A parameter changed after signing: the signature no longer matches.
  const tampered = qOwner.signedQuery('DescribeSnapshots', { limit: 5 }).replace('limit=5', 'limit=6');
  assert.equal(((await (await fetch(`${server.url}/iaas/?${tampered}`)).json()) as QcReply).ret_code, 1200);

  const key = await newKey(owner, 'to disable');
  await key.ok('DescribeSnapshots');
  expectStatus(await owner.api.patch(`/access-keys/${key.accessKeyId}`, { status: 'disabled' }), 200);
  await fail(key, 1200, 'DescribeSnapshots');
  await fail(key, 1200, 'ModifySnapshotAttributes', { snapshot: W.full, snapshot_name: 'renamed by a disabled key' });
  await fail(key, 1200, 'DeleteSnapshots', { 'snapshots.1': W.incr });
  expectStatus(await owner.api.patch(`/access-keys/${key.accessKeyId}`, { status: 'active' }), 200);
  await key.ok('DescribeSnapshots');
  expectStatus(await owner.api.delete(`/access-keys/${key.accessKeyId}`), 204);
  await fail(key, 1200, 'DescribeSnapshots');

  // A request captured and replayed outside the window, either way; `expires` in the past.
  await fail(qOwner, 1300, 'DeleteSnapshots', { 'snapshots.1': W.incr }, { at: new Date(Date.now() - 20 * 60_000) });
  await fail(qOwner, 1300, 'DescribeSnapshots', {}, { at: new Date(Date.now() + 20 * 60_000), method: 'POST' });
  await fail(qOwner, 1300, 'DescribeSnapshots', {}, { expires: new Date(Date.now() - 1000) });
  await qOwner.ok('DescribeSnapshots', {}, { expires: new Date(Date.now() + 60_000) });
  await qOwner.ok('DescribeSnapshots', {}, { at: new Date(Date.now() - 5 * 60_000) });
  // Replaying a signed GET byte for byte is accepted inside the window (QingCloud has no nonce), refused after it.
  assert.deepEqual(await chainState(), before);
});

test('bad input gets 1100 and changes nothing: unknown action, missing or repeated parameter, limit above 100, gaps in snapshots.N', async () => {
  const before = await chainState();
  await fail(qOwner, 1100, 'DescribeBackupsPlease');
  await fail(qOwner, 1100, 'ModifySnapshotAttributes', { snapshot_name: 'no snapshot named' });
  await fail(qOwner, 1100, 'DeleteSnapshots', {});
  await fail(qOwner, 1100, 'DescribeSnapshots', { limit: 101 });
  await fail(qOwner, 1100, 'DescribeSnapshots', { limit: 0 });
  await fail(qOwner, 1100, 'DeleteSnapshots', { 'snapshots.1': W.incr, 'snapshots.3': W.full });
  await fail(qOwner, 1100, 'DeleteSnapshots', { 'snapshots.2': W.incr });
  await fail(qOwner, 1100, 'DeleteSnapshots', { 'snapshots.1': W.incr }, { extraQuery: `&snapshots.1=${W.full}` });
  await fail(qOwner, 1100, 'DeleteSnapshots', { 'snapshots.1': W.incr }, { method: 'POST', extraQuery: `&snapshots.1=${W.incr}` });
  await fail(qOwner, 1100, 'DescribeSnapshots', { snapshot_type: 2 });
  await fail(qOwner, 1100, 'DescribeSnapshots', { 'status.1': 'sleeping' });
  await fail(qOwner, 1100, 'CreateSnapshots', { 'resources.1': W.vol, is_full: 'yes' });
  await fail(qOwner, 1100, 'GrantSnapshotToUsers', { snapshot: W.full, 'users.1': 'nobody@example.test' });
  await fail(qOwner, 1100, 'GrantSnapshotToUsers', { snapshot: W.full, 'users.1': stranger.email, expires: 'tomorrow' });
  // Signature parameters are parameters too.
  const noVersion = new URLSearchParams(qOwner.signedQuery('DescribeSnapshots', {}));
  noVersion.delete('signature_version');
  assert.equal(((await (await fetch(`${server.url}/iaas/?${noVersion}`)).json()) as QcReply).ret_code, 1100);
  // A POST whose body is not a form.
  const json = await fetch(`${server.url}/iaas/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(json.status, 200);
  assert.equal(((await json.json()) as QcReply).ret_code, 1100);
  assert.deepEqual(await chainState(), before);
  assert.equal((await qOwner.ok('DescribeJobs', { job_action: 'rollback' })).total_count, 0, 'no job was queued');
});

test('a stranger\'s key gets 2100 for anything of the owner\'s, and changes nothing', async () => {
  const before = await chainState();
  await fail(qStranger, 2100, 'DescribeSnapshots', { 'snapshots.1': W.full });
  await fail(qStranger, 2100, 'ModifySnapshotAttributes', { snapshot: W.full, snapshot_name: 'mine now' });
  await fail(qStranger, 2100, 'DeleteSnapshots', { 'snapshots.1': W.incr });
  await fail(qStranger, 2100, 'ApplySnapshots', { 'snapshots.1': W.incr });
  await fail(qStranger, 2100, 'CaptureImageFromSnapshot', { snapshot: W.full });
  await fail(qStranger, 2100, 'CreateVolumeFromSnapshot', { snapshot: W.full });
  await fail(qStranger, 2100, 'CreateSnapshots', { 'resources.1': W.vol });
  await fail(qStranger, 2100, 'DescribeVolumes', { 'volumes.1': W.vol });
  await fail(qStranger, 2100, 'DescribeInstances', { 'instances.1': W.instance });
  await fail(qStranger, 2100, 'GrantSnapshotToUsers', { snapshot: W.full, 'users.1': stranger.email });
  await fail(qStranger, 2100, 'DescribeSnapshotUsers', { snapshot: W.full });
  await fail(qStranger, 2100, 'RevokeSnapshotFromUsers', { snapshot: W.full, 'users.1': recipient.email });
  const ownerJob = (await qOwner.ok('DescribeJobs', { limit: 1 })).job_set[0].job_id;
  await fail(qStranger, 2100, 'DescribeJobs', { 'jobs.1': ownerJob });
  // Its own lists show none of the owner's things.
  const lists = JSON.stringify([
    await qStranger.ok('DescribeSnapshots'),
    await qStranger.ok('DescribeVolumes'),
    await qStranger.ok('DescribeInstances'),
    await qStranger.ok('DescribeJobs'),
    await qStranger.ok('DescribeImages'),
    await qStranger.ok('DescribeSharedSnapshots'),
  ]);
  for (const id of [W.full, W.incr, W.vol, W.instance, ownerJob]) assert.ok(!lists.includes(id), `${id} leaked`);
  // A batch with one snapshot its caller may not touch changes none of it, the owner's own included.
  const unseen = `${W.incr.slice(0, -1)}${W.incr.endsWith('0') ? '1' : '0'}`;
  await fail(qOwner, 2100, 'DeleteSnapshots', { 'snapshots.1': W.incr, 'snapshots.2': unseen });
  await fail(qOwner, 2100, 'ApplySnapshots', { 'snapshots.1': W.incr, 'snapshots.2': unseen });
  assert.deepEqual(await chainState(), before);
  assert.equal((await qOwner.ok('DescribeJobs', { job_action: 'rollback' })).total_count, 0, 'no rollback was queued');
  assert.equal((await qOwner.ok('DescribeSnapshotUsers', { snapshot: W.full })).total_count, 1);
});

test('a recipient\'s key describes the shared chain and captures an image from it; anything that would change it gets 1400', async () => {
  const before = await chainState();
  const shared = await qRecipient.ok('DescribeSharedSnapshots');
  assert.equal(shared.total_count, 1);
  const [root] = shared.snapshot_set;
  assert.equal(root.snapshot_id, W.full);
  assert.equal(root.owner, owner.id);
  assert.equal(root.owner_email, owner.email);
  assert.equal(root.note, 'for you');
  assert.equal(root.total_count, 2);
  assert.equal(root.head_snapshot_id, W.incr);
  assert.equal((await qRecipient.ok('DescribeSharedSnapshots', { search_word: 'nothing like it' })).total_count, 0);
  const described = await qRecipient.ok('DescribeSnapshots', { 'snapshots.1': W.full, 'snapshots.2': W.incr });
  assert.equal(described.total_count, 2);
  // Its own list is its own backups: none.
  assert.equal((await qRecipient.ok('DescribeSnapshots')).total_count, 0);

  const { image_id } = await qRecipient.ok('CaptureImageFromSnapshot', { snapshot: W.incr, image_name: 'from a friend' });
  const [image] = (await qRecipient.ok('DescribeImages', { 'images.1': image_id })).image_set;
  assert.equal(image.image_name, 'from a friend');
  assert.equal(image.snapshot_id, W.incr);
  assert.equal(image.source_owner, owner.id);
  await fail(qOwner, 2100, 'DescribeImages', { 'images.1': image_id });

  await fail(qRecipient, 1400, 'ModifySnapshotAttributes', { snapshot: W.full, snapshot_name: 'hijacked' });
  await fail(qRecipient, 1400, 'DeleteSnapshots', { 'snapshots.1': W.incr });
  await fail(qRecipient, 1400, 'ApplySnapshots', { 'snapshots.1': W.incr });
  await fail(qRecipient, 1400, 'CreateVolumeFromSnapshot', { snapshot: W.incr });
  await fail(qRecipient, 1400, 'GrantSnapshotToUsers', { snapshot: W.full, 'users.1': stranger.email });
  await fail(qRecipient, 1400, 'RevokeSnapshotFromUsers', { snapshot: W.full, 'users.1': recipient.email });
  await fail(qRecipient, 1400, 'DescribeSnapshotUsers', { snapshot: W.full });
  // Not even one of its own snapshots in the batch goes: the batch is refused whole.
  assert.deepEqual(await chainState(), before);
  assert.equal((await qRecipient.ok('DescribeSharedSnapshots')).total_count, 1);
});

test('sharing: grant, describe the users, the recipient\'s list, revoke; the quota gets 2500', async () => {
  const expires = qcTime(new Date(Date.now() + 86_400_000));
  const granted = await qOwner.ok('GrantSnapshotToUsers', { snapshot: W.incr, 'users.1': stranger.id, note: 'have a look', expires });
  assert.equal(granted.snapshot_id, W.full, 'any snapshot of the tree names the tree');
  assert.deepEqual(granted.snapshot_user_set.map((u: { user_id: string }) => u.user_id), [stranger.id]);
  const users = await qOwner.ok('DescribeSnapshotUsers', { snapshot: W.full });
  assert.equal(users.total_count, 2);
  const su = users.snapshot_user_set.find((u: { user_id: string }) => u.user_id === stranger.id);
  assert.deepEqual({ email: su.email, note: su.note, expires: su.expires }, { email: stranger.email, note: 'have a look', expires });
  assert.equal((await qStranger.ok('DescribeSharedSnapshots')).snapshot_set[0].snapshot_id, W.full);
  assert.equal((await qStranger.ok('DescribeSnapshots', { 'snapshots.1': W.full })).total_count, 1);
  // Granted twice: a conflict of state.
  await fail(qOwner, 2400, 'GrantSnapshotToUsers', { snapshot: W.full, 'users.1': stranger.email });

  const revoked = await qOwner.ok('RevokeSnapshotFromUsers', { snapshot: W.full, 'users.1': stranger.email });
  assert.deepEqual(revoked.users, [stranger.id]);
  assert.equal((await qStranger.ok('DescribeSharedSnapshots')).total_count, 0);
  await fail(qStranger, 2100, 'DescribeSnapshots', { 'snapshots.1': W.full });

  // One recipient per chain, for this test: the chain has one, so another is over the quota.
  const settings = server.services.settings;
  const limit = settings.maxRecipientsPerChain;
  settings.maxRecipientsPerChain = 1;
  try {
    await fail(qOwner, 2500, 'GrantSnapshotToUsers', { snapshot: W.full, 'users.1': stranger.email });
  } finally {
    settings.maxRecipientsPerChain = limit;
  }
  assert.equal((await qOwner.ok('DescribeSnapshotUsers', { snapshot: W.full })).total_count, 1);
});

test('resources and jobs: DescribeVolumes, DescribeInstances, CreateSnapshots and ApplySnapshots through the agent, DescribeJobs', async () => {
  const vols = await qOwner.ok('DescribeVolumes');
  assert.deepEqual(vols.volume_set.map((v: { volume_id: string }) => v.volume_id), [W.vol]);
  assert.equal(vols.volume_set[0].volume_name, 'web');
  const inst = await qOwner.ok('DescribeInstances', { 'instances.1': W.instance });
  assert.equal(inst.instance_set[0].instance_name, 'db');
  assert.deepEqual(inst.instance_set[0].volumes.map((v: { size: number; role: string }) => [v.size, v.role]), [[1, 'system'], [2, 'data']]);
  await fail(qOwner, 1100, 'DescribeVolumes', { 'volumes.1': W.instance });

  await agentAlive();
  const created = await qOwner.ok('CreateSnapshots', { 'resources.1': W.vol, snapshot_name: 'nightly', is_full: 1 });
  assert.equal(created.job_ids.length, 1);
  assert.deepEqual(created.snapshots, []);
  const [job] = (await qOwner.ok('DescribeJobs', { 'jobs.1': created.job_id })).job_set;
  assert.deepEqual({ action: job.job_action, status: job.status, resources: job.resource_ids }, { action: 'backup', status: 'pending', resources: W.vol });
  const applied = await qOwner.ok('ApplySnapshots', { 'snapshots.1': W.full });
  const [rollback] = (await qOwner.ok('DescribeJobs', { 'jobs.1': applied.job_id })).job_set;
  assert.equal(rollback.job_action, 'rollback');
  assert.equal((await qOwner.ok('DescribeJobs', { 'status.1': 'pending', 'status.2': 'working' })).total_count, 2);
  const backups = await qOwner.ok('DescribeJobs', { job_action: 'backup', 'status.1': 'successful' });
  assert.equal(backups.total_count, 2, 'the two backups of the setup');
  assert.ok(backups.job_set.every((j: { snapshot_id?: string }) => j.snapshot_id === W.full || j.snapshot_id === W.incr));
  await fail(qOwner, 1100, 'DescribeJobs', { 'status.1': 'sleeping' });
});

test('snapshots and images: modify, a volume and an image from a snapshot, modify and delete the image, delete a snapshot', async () => {
  await qOwner.ok('ModifySnapshotAttributes', { snapshot: W.incr, snapshot_name: 'before the upgrade', description: 'kept a month' });
  const [incr] = (await qOwner.ok('DescribeSnapshots', { 'snapshots.1': W.incr })).snapshot_set;
  assert.deepEqual([incr.snapshot_name, incr.description], ['before the upgrade', 'kept a month']);

  const { volume_id } = await qOwner.ok('CreateVolumeFromSnapshot', { snapshot: W.incr, volume_name: 'restored' });
  const [vol] = (await qOwner.ok('DescribeVolumes', { 'volumes.1': volume_id })).volume_set;
  assert.equal(vol.volume_name, 'restored');

  const { image_id } = await qOwner.ok('CaptureImageFromSnapshot', { snapshot: W.full, image_name: 'golden' });
  await qOwner.ok('ModifyImageAttributes', { image: image_id, image_name: 'golden-2', description: 'the base' });
  const images = await qOwner.ok('DescribeImages', { search_word: 'golden' });
  assert.deepEqual(images.image_set.map((i: { image_id: string; image_name: string; description: string }) => [i.image_id, i.image_name, i.description]), [[image_id, 'golden-2', 'the base']]);
  assert.equal((await qOwner.ok('DescribeImages', { provider: 'system' })).total_count, 0);
  await fail(qStranger, 2100, 'ModifyImageAttributes', { image: image_id, image_name: 'mine' });
  await fail(qStranger, 2100, 'DeleteImages', { 'images.1': image_id });
  // A batch naming an image that is not the caller's deletes none of it.
  const stray = (await qStranger.ok('DescribeImages')).image_set.map((i: { image_id: string }) => i.image_id);
  await fail(qOwner, 2100, 'DeleteImages', { 'images.1': image_id, 'images.2': stray[0] ?? 'img-00000000' });
  assert.equal((await qOwner.ok('DescribeImages', { 'images.1': image_id })).total_count, 1);
  const deleted = await qOwner.ok('DeleteImages', { 'images.1': image_id });
  assert.deepEqual(deleted.images, [image_id]);
  await fail(qOwner, 2100, 'DescribeImages', { 'images.1': image_id });

  await qOwner.ok('DeleteSnapshots', { 'snapshots.1': W.incr });
  const left = await qOwner.ok('DescribeSnapshots');
  assert.deepEqual(left.snapshot_set.map((s: { snapshot_id: string }) => s.snapshot_id), [W.full]);
  const binned = await qOwner.ok('DescribeSnapshots', { 'status.1': 'deleted' });
  assert.deepEqual(binned.snapshot_set.map((s: { snapshot_id: string; status: string }) => [s.snapshot_id, s.status]), [[W.incr, 'deleted']]);
  // Deleted already: its state forbids it.
  await fail(qOwner, 2400, 'DeleteSnapshots', { 'snapshots.1': W.incr });
  // The recipient sees the chain without the deleted point, and cannot name it.
  await fail(qRecipient, 2100, 'DescribeSnapshots', { 'snapshots.1': W.incr });
});

test('an internal failure gets 5000 and its cause stays in the log', async () => {
  const key = await newKey(owner, 'sealed by a newer server');
  await key.ok('DescribeSnapshots');
  await server.services.meta.db.updateTable('access_keys').set({ secret_sealed: 'aes256gcm:unknown' }).where('id', '=', key.accessKeyId).execute();
  const r = await fail(key, 5000, 'DescribeSnapshots');
  assert.doesNotMatch(r.message, /aes256gcm|newer Cairn/);
});

test('the CLI: `cairn access-key create --json` prints what QingCloud\'s tools are configured with; list, disable, enable, delete', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-iaas-cli-'));
  try {
    const cli = new Cli(server.url, join(dir, 'config.json'));
    cli.token = owner.token;
    const created = await cli.ok(['access-key', 'create', '--name', 'qingcloud-cli']);
    assert.deepEqual(Object.keys(created).sort(), ['access_key_id', 'secret_access_key']);
    const key = new QingCloudClient(server.url, created.access_key_id, created.secret_access_key);
    assert.ok((await key.ok('DescribeVolumes')).volume_set.some((v: { volume_id: string }) => v.volume_id === W.vol));
    const listed = await cli.ok(['access-key', 'list', '--limit', '100']);
    const row = listed.items.find((k: { access_key_id: string }) => k.access_key_id === created.access_key_id);
    assert.equal(row.name, 'qingcloud-cli');
    assert.ok(!JSON.stringify(listed).includes(created.secret_access_key));
    assert.equal((await cli.ok(['access-key', 'disable', created.access_key_id])).access_key.status, 'disabled');
    await fail(key, 1200, 'DescribeVolumes');
    await cli.ok(['access-key', 'enable', created.access_key_id]);
    await key.ok('DescribeVolumes');
    await cli.ok(['access-key', 'delete', created.access_key_id]);
    await fail(key, 1200, 'DescribeVolumes');
    await cli.fails(['access-key', 'delete', created.access_key_id], 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the issue\'s vector, sent to the server as QingCloud\'s SDK sends it: the signature checks out, and the request is then too old', async () => {
  // The vector's key, held by the owner; its time_stamp lies in the past, so a good signature gets 1300 and a bad one 1200.
  await server.services.meta.db
    .insertInto('access_keys')
    .values({ id: 'QYACCESSKEYIDEXAMPLE', account_id: owner.id, name: 'vector', secret_sealed: sealSecret('SECRETACCESSKEY', null, 'access key QYACCESSKEYIDEXAMPLE'), status: 'active', created_at: new Date().toISOString(), last_used_at: null })
    .execute();
  const query =
    'access_key_id=QYACCESSKEYIDEXAMPLE&action=DescribeSnapshots&limit=20&search_word=web%20backup&signature_method=HmacSHA256&signature_version=1&snapshot_type=1&snapshots.1=ss-abcd1234&time_stamp=2026-12-06T14%3A30%3A10Z&version=1&zone=pek3';
  const send = async (method: 'GET' | 'POST', signature: string): Promise<QcReply> => {
    const signed = `${query}&signature=${encodeURIComponent(signature)}`;
    const res =
      method === 'GET'
        ? await fetch(`${server.url}/iaas/?${signed}`)
        : await fetch(`${server.url}/iaas/`, { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: signed });
    return res.json();
  };
  const fresh = Math.abs(Date.now() - Date.parse('2026-12-06T14:30:10Z')) <= 15 * 60_000;
  assert.equal((await send('GET', 'yEMCwJIkOXNkiw0iyHA+MJxehY+4XenHaMFtJXQAU1A=')).ret_code, fresh ? 2100 : 1300);
  assert.equal((await send('POST', 'a+tqUiXJRa3csytuNdNquJhU5R1hPud818yT8CoCHso=')).ret_code, fresh ? 2100 : 1300);
  // Each method's signature is its own: the GET one does not sign the POST.
  assert.equal((await send('POST', 'yEMCwJIkOXNkiw0iyHA+MJxehY+4XenHaMFtJXQAU1A=')).ret_code, 1200);
  assert.equal((await send('GET', 'a+tqUiXJRa3csytuNdNquJhU5R1hPud818yT8CoCHso=')).ret_code, 1200);
});
