import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { verifyWebhook, SIGNATURE_HEADER } from '../../src/domain/webhook-signature.js';
import { cliUser, makeRawDisk, MiB, until, type CliProcess, type CliUser } from '../helpers/cli.js';
import { makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { expectError, expectStatus, type Json } from '../helpers/http.js';
import { mailReceiver, webhookReceiver, type MailReceiver, type WebhookReceiver } from '../helpers/receivers.js';
import { startServer, type TestServer } from '../helpers/server.js';

// End to end: a real `cairn serve` with SMTP settings, the CLI, an agent backing a disk up on a
// task's schedule (a cron with seconds), retention trimming, and the mail and the webhook calls
// received by real servers on loopback.

let dir: string;
let server: TestServer;
let mail: MailReceiver;
let hook: WebhookReceiver;
let alice: CliUser;
let bob: CliUser;

before(async () => {
  dir = await makeTempDir('cairn-e2e-tasks-');
  [mail, hook] = await Promise.all([mailReceiver(), webhookReceiver([200])]);
  server = await startServer({ args: ['--smtp-host', '127.0.0.1', '--smtp-port', String(mail.port), '--smtp-from', 'Cairn <cairn@example.test>'] });
  [alice, bob] = await Promise.all([cliUser(server.url, dir, 'alice'), cliUser(server.url, dir, 'bob')]);
});

after(async () => {
  try {
    await server?.stop();
    await Promise.all([mail?.close(), hook?.close()]);
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

async function stopAgent(agent: CliProcess): Promise<void> {
  const force = setTimeout(() => agent.child.kill('SIGKILL'), 5_000);
  try {
    await agent.kill('SIGTERM');
  } finally {
    clearTimeout(force);
  }
}

const chainsOf = async (user: CliUser, resource: string, status: string): Promise<Json[]> =>
  expectStatus(await user.api().get('/chains', { resource_id: resource, status, limit: 100 }), 200).items;

test('an agent backs a volume up on the task\'s schedule; retention keeps the newest 2 automatic chains and never the manual one; mail and signed webhooks arrive', async () => {
  const disk = await makeRawDisk(join(dir, 'vol.img'), 8 * MiB, 2 * MiB, 'tasks');
  const vol = (await alice.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'web', '--disk', 'root:8M'])).resource.id;
  // A backup by hand first: a manual chain, which retention must leave alone.
  const manual = (await alice.cli.ok(['backup', vol, '--disk', disk, '--full'])).point;

  // Mails are written in the account's language.
  assert.equal((await alice.cli.ok(['account', 'set', '--language', 'zh'])).account.language, 'zh');
  const policy = (await alice.cli.ok(['policy', 'create', '--name', 'every 5 s', '--cron', '*/5 * * * * *', '--notify', 'success,failure', '--email', 'ops@example.test', '--webhook', hook.url])).policy;
  assert.equal(policy.description.zh, 'Cron 表达式 */5 * * * * * (UTC)');
  assert.equal(policy.next_runs.length, 3);
  const task = (await alice.cli.ok(['task', 'create', '--name', '夜间备份', '--policy', policy.id, '--resource', vol, '--type', 'full', '--keep', '2'])).task;
  assert.equal(task.enabled, true);
  assert.equal(task.keep_chains, 2);
  assert.ok(task.next_run_at);

  const agent = alice.cli.spawn(['agent', '--name', `host-${vol}`, '--map', `${vol}:${disk}`, '--poll-ms', '200'], { json: false });
  try {
    await agent.waitFor(new RegExp(`hosting ${vol}`));
    const successes = async () => (await alice.cli.ok(['task', 'runs', task.id, '--limit', '100'])).items.filter((r: Json) => r.status === 'successful');
    await until('three successful scheduled runs', async () => (await successes()).length >= 3, 120_000, 1000);
    await alice.cli.ok(['task', 'disable', task.id]);
  } finally {
    await stopAgent(agent);
  }
  // Settled runs have trimmed: whatever ran, at most two automatic chains are left, the newest.
  const runs = (await alice.cli.ok(['task', 'runs', task.id, '--limit', '100'])).items as Json[];
  assert.ok(runs.every((r) => r.trigger === 'schedule'));
  await until('every run settled', async () => (await alice.cli.ok(['task', 'runs', task.id, '--limit', '100'])).items.every((r: Json) => r.status !== 'running'), 60_000, 500);
  const live = await chainsOf(alice, vol, 'available');
  const automatic = live.filter((c) => c.origin === 'automatic');
  assert.equal(automatic.length, 2, 'the newest two automatic chains are kept');
  assert.ok(live.some((c) => c.id === manual.chain_id && c.origin === 'manual'), 'the manual chain is untouched');
  const binned = await chainsOf(alice, vol, 'deleted');
  assert.ok(binned.length >= 1 && binned.every((c) => c.origin === 'automatic'), 'older automatic chains are in the recycle bin');

  const shown = (await alice.cli.ok(['task', 'show', task.id])).task;
  assert.equal(shown.enabled, false);
  assert.equal(shown.next_run_at, null);
  assert.ok(shown.run_count >= 3);

  // Mail in Chinese, and a signed webhook call, for each successful run.
  await until('mail and webhook calls for three successes', async () => {
    const ok = mail.mails.filter((m) => m.subject === '[Cairn] 备份任务「夜间备份」执行成功').length;
    const calls = hook.calls.filter((c) => JSON.parse(c.body).type === 'backup_task.run.succeeded').length;
    return ok >= 3 && calls >= 3;
  }, 30_000, 500);
  assert.deepEqual(mail.mails[0]!.to, ['ops@example.test']);
  assert.equal(mail.mails[0]!.from, 'cairn@example.test');
  for (const call of hook.calls) {
    assert.ok(verifyWebhook(policy.webhook_secret, call.body, call.headers[SIGNATURE_HEADER] as string), 'each call is signed with the policy\'s secret');
    assert.equal(JSON.parse(call.body).task.id, task.id);
  }
  const deliveries = (await alice.cli.ok(['policy', 'deliveries', policy.id, '--limit', '100'])).items as Json[];
  assert.ok(deliveries.filter((d) => d.status === 'delivered').length >= 6);
});

test('bad input: an impossible schedule, an unknown time zone, N = 0 or above the limit, a non-http webhook, another account\'s resource: a clear 4xx, nothing made', async () => {
  const api = alice.api();
  const policiesBefore = expectStatus(await api.get('/policies'), 200).total_count;
  const tasksBefore = expectStatus(await api.get('/tasks'), 200).total_count;
  assert.match(expectError(await api.post('/policies', { name: 'x', schedule: { kind: 'cron', expression: '0 0 30 2 *' } }), 400).message, /never runs/);
  assert.equal(expectError(await api.post('/policies', { name: 'x', schedule: { kind: 'daily', times: ['02:00'] }, timezone: 'Mars/Olympus' }), 400).field, 'timezone');
  assert.equal(expectError(await api.post('/policies', { name: 'x', schedule: { kind: 'daily', times: ['02:00'] }, webhooks: ['file:///etc/passwd'] }), 400).field, 'webhooks.0');
  assert.equal(expectError(await api.post('/policies', { name: 'x', schedule: { kind: 'hourly', every_hours: 0 } }), 400).field, 'schedule.every_hours');

  const policy = (await alice.cli.ok(['policy', 'create', '--name', 'nightly', '--daily', '02:00', '--timezone', 'Asia/Shanghai'])).policy;
  assert.equal(policy.description.zh, '每天 02:00 (Asia/Shanghai)');
  assert.equal(policy.description.en, 'Daily at 02:00 (Asia/Shanghai)');
  const mine = (await alice.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 'm', '--disk', 'root:1M'])).resource.id;
  const theirs = (await bob.cli.ok(['resource', 'create', '--kind', 'volume', '--name', 't', '--disk', 'root:1M'])).resource.id;
  const zero = await alice.cli.run(['task', 'create', '--name', 't', '--policy', policy.id, '--resource', mine, '--keep', '0']);
  assert.notEqual(zero.code, 0);
  assert.match(zero.stderr, /Keep 1 to 100 automatic chains/);
  assert.equal(expectError(await api.post('/tasks', { name: 't', policy_id: policy.id, resource_ids: [mine], keep_chains: 101 }), 400).field, 'keep_chains');
  expectError(await api.post('/tasks', { name: 't', policy_id: policy.id, resource_ids: [mine, theirs] }), 404);
  expectError(await bob.api().get(`/policies/${policy.id}`), 404);
  assert.equal(expectStatus(await api.get('/policies'), 200).total_count, policiesBefore + 1);
  assert.equal(expectStatus(await api.get('/tasks'), 200).total_count, tasksBefore);
});
