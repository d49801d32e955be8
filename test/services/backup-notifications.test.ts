import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Caller } from '../../src/domain/caller.js';
import { newId } from '../../src/domain/ids.js';
import { signWebhook, verifyWebhook, SIGNATURE_HEADER } from '../../src/domain/webhook-signature.js';
import { BackupNotifier, MAX_DELIVERY_ATTEMPTS } from '../../src/services/backup-notifier.js';
import { smtpMailer } from '../../src/services/mailer.js';
import { insertAccount, openTestStore, type TestStore } from '../helpers/db.js';
import { mailReceiver, webhookReceiver, type MailReceiver, type WebhookReceiver } from '../helpers/receivers.js';

// A run's end told to a policy's recipients: webhooks signed and retried with growing waits (an
// injected clock moves time), mail in the policy's language, received by real servers on loopback.

const RETRY_MS = 60_000;
let store: TestStore;
let notifier: BackupNotifier;
let mail: MailReceiver;
let now = new Date('2026-07-01T00:00:00.000Z');
const clock = () => now;
const later = (ms: number) => (now = new Date(now.getTime() + ms));

before(async () => {
  store = await openTestStore({ clock });
  mail = await mailReceiver();
  notifier = new BackupNotifier(store.meta.db, store.services.access, smtpMailer({ host: '127.0.0.1', port: mail.port, user: null, password: null, from: 'Cairn <cairn@example.test>', tls: false }), { retryBaseMs: RETRY_MS }, clock);
  store.services.scheduler.onRunFinished(notifier);
});
after(async () => {
  await mail?.close();
  await store?.close();
});

async function owner(): Promise<{ caller: Caller; volume: string }> {
  const db = store.meta.db;
  const at = now.toISOString();
  const caller = await insertAccount(db, { domain: 'notify.test', at });
  const id = caller.accountId;
  const agentId = newId('agent');
  await db.insertInto('agents').values({ id: agentId, account_id: id, name: 'a', last_seen_at: at, created_at: at, version: null, token_id: null }).execute();
  const volume = newId('volume');
  await db.insertInto('resources').values({ id: volume, account_id: id, kind: 'volume', name: 'v', agent_id: agentId, created_at: at }).execute();
  return { caller, volume };
}

/** Runs the task once and ends its job as `outcome`, settling the run. */
async function runOnce(caller: Caller, taskId: string, outcome: 'succeed' | 'fail'): Promise<string> {
  const run = await store.services.tasks.runNow(caller, taskId);
  const jobId = run.items[0]!.job_id!;
  if (outcome === 'succeed') await store.services.jobs.succeed(jobId);
  else await store.services.jobs.fail(jobId, 'disk unreadable');
  await store.services.scheduler.settleRuns();
  return run.id;
}

test('the signature is HMAC-SHA256 of the body under the secret; a changed body or secret does not verify', () => {
  const body = 'The quick brown fox jumps over the lazy dog';
  assert.equal(signWebhook('key', body), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  assert.equal(verifyWebhook('key', body, signWebhook('key', body)), true);
  assert.equal(verifyWebhook('key', `${body}.`, signWebhook('key', body)), false);
  assert.equal(verifyWebhook('other', body, signWebhook('key', body)), false);
  assert.equal(verifyWebhook('key', body, undefined), false);
});

test('a successful run: the webhook is retried after 60 s and 240 s until it answers 2xx, the same signed body each time; the mail arrives in Chinese', async () => {
  const hook: WebhookReceiver = await webhookReceiver([500, 503, 204]);
  try {
    const { caller, volume } = await owner();
    const policy = await store.services.policies.create(caller, {
      name: 'p',
      schedule: { kind: 'daily', times: ['02:00'] },
      notify_on: ['success', 'failure'],
      webhooks: [hook.url],
      emails: ['ops@example.test'],
    });
    // Mails follow the owner's language.
    await store.services.accounts.setPreferences(caller, { language: 'zh' });
    const task = await store.services.tasks.create(caller, { name: '夜间备份', policy_id: policy.id, resource_ids: [volume] });
    const runId = await runOnce(caller, task.id, 'succeed');

    await notifier.deliverDue();
    assert.equal(hook.calls.length, 1);
    assert.equal(mail.mails.length, 1);
    await notifier.deliverDue();
    assert.equal(hook.calls.length, 1, 'not again before its wait');
    later(RETRY_MS);
    await notifier.deliverDue();
    assert.equal(hook.calls.length, 2);
    later(RETRY_MS * 4 - 1);
    await notifier.deliverDue();
    assert.equal(hook.calls.length, 2, 'the second wait is four times the first');
    later(1);
    await notifier.deliverDue();
    assert.equal(hook.calls.length, 3);

    for (const call of hook.calls) {
      assert.equal(call.body, hook.calls[0]!.body, 'the same bytes on every attempt');
      assert.ok(verifyWebhook(policy.webhook_secret, call.body, call.headers[SIGNATURE_HEADER] as string), 'signed with the policy\'s secret');
    }
    const event = JSON.parse(hook.calls[0]!.body);
    assert.equal(event.type, 'backup_task.run.succeeded');
    assert.equal(event.run.id, runId);
    assert.equal(event.task.id, task.id);
    assert.deepEqual(event.resources.map((r: { id: string; status: string }) => [r.id, r.status]), [[volume, 'successful']]);

    const [m] = mail.mails;
    assert.deepEqual(m!.to, ['ops@example.test']);
    assert.equal(m!.subject, '[Cairn] 备份任务「夜间备份」执行成功');
    assert.match(m!.text, new RegExp(`${volume}: 成功`));

    const deliveries = (await notifier.deliveries(caller, policy.id, { offset: 0, limit: 10 })).items;
    const webhook = deliveries.find((d) => d.channel === 'webhook')!;
    assert.equal(webhook.status, 'delivered');
    assert.equal(webhook.attempts, 3);
    assert.equal(webhook.response_status, 204);
    assert.equal(deliveries.find((d) => d.channel === 'email')!.status, 'delivered');
  } finally {
    await hook.close();
  }
});

test('events not asked for are not sent; a webhook that never answers 2xx fails after the last attempt, in English mail too', async () => {
  const hook = await webhookReceiver([500]);
  try {
    const { caller, volume } = await owner();
    const policy = await store.services.policies.create(caller, { name: 'p', schedule: { kind: 'daily', times: ['02:00'] }, notify_on: ['failure'], webhooks: [hook.url], emails: ['en@example.test'] });
    const task = await store.services.tasks.create(caller, { name: 'nightly', policy_id: policy.id, resource_ids: [volume] });
    await runOnce(caller, task.id, 'succeed');
    assert.equal((await notifier.deliveries(caller, policy.id, { offset: 0, limit: 10 })).total_count, 0, 'success was not asked for');

    const before = mail.mails.length;
    await runOnce(caller, task.id, 'fail');
    for (let i = 0; i < MAX_DELIVERY_ATTEMPTS + 2; i++) {
      await notifier.deliverDue();
      later(RETRY_MS * 4 ** i);
    }
    assert.equal(hook.calls.length, MAX_DELIVERY_ATTEMPTS);
    const webhook = (await notifier.deliveries(caller, policy.id, { offset: 0, limit: 10 })).items.find((d) => d.channel === 'webhook')!;
    assert.equal(webhook.status, 'failed');
    assert.equal(webhook.response_status, 500);
    assert.match(webhook.last_error!, /HTTP 500/);
    assert.equal(JSON.parse(hook.calls[0]!.body).type, 'backup_task.run.failed');
    const m = mail.mails[before]!;
    assert.equal(m.subject, '[Cairn] Backup task "nightly" failed');
    assert.match(m.text, /disk unreadable/);
  } finally {
    await hook.close();
  }
});
