import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newId } from '../../src/domain/ids.js';
import { verifyWebhook, SIGNATURE_HEADER } from '../../src/domain/webhook-signature.js';
import { sealSecret, unsealSecret, unsealWebhookSecret } from '../../src/services/secret-seal.js';
import { MasterKeys } from '../../src/store/master-key.js';
import { insertAccount, openTestStore, type TestStore } from '../helpers/db.js';
import { seededRandom } from '../helpers/disk-images.js';
import { webhookReceiver } from '../helpers/receivers.js';

// Secrets that must be read back (access keys', webhooks') are sealed under the
// master key when the server has one; rows written before still open.

const keys = new MasterKeys([{ id: '0a0b0c0d', key: seededRandom('secrets-master').bytes(32) }]);
let store: TestStore;
before(async () => {
  store = await openTestStore({ masterKeys: keys });
});
after(async () => {
  await store?.close();
});

test('an access key secret is stored sealed (aes256gcm:), opens for signatures, and rows from before (plain:) still open', async () => {
  const db = store.meta.db;
  const caller = await insertAccount(db, { domain: 'sealed.test' });
  const created = await store.services.accessKeys.create(caller, 'sealed');
  const row = await db.selectFrom('access_keys').select('secret_sealed').where('id', '=', created.access_key_id).executeTakeFirstOrThrow();
  assert.match(row.secret_sealed, /^aes256gcm:[A-Za-z0-9+/]+=*$/);
  assert.ok(!row.secret_sealed.includes(created.secret_access_key));
  assert.equal((await store.services.accessKeys.forSignature(created.access_key_id))!.secret, created.secret_access_key);

  const old = 'OLDKEY00000000000000';
  await db.insertInto('access_keys').values({ id: old, account_id: caller.accountId, name: 'old', secret_sealed: sealSecret('an old plain secret', null, `access key ${old}`), status: 'active', created_at: new Date().toISOString(), last_used_at: null }).execute();
  assert.equal((await store.services.accessKeys.forSignature(old))!.secret, 'an old plain secret');

  // Bound to its row: copied to another key's row it does not open; without the key it says what to do.
  assert.throws(() => unsealSecret(row.secret_sealed, keys, `access key ${old}`), /does not open: its authentication tag does not match/);
  assert.throws(() => unsealSecret(row.secret_sealed, null, `access key ${created.access_key_id}`), /encrypted at rest, and this server has no master key: start it with --master-key-file/);
});

test('a webhook secret is stored sealed, shown to its owner as it was made, and signs deliveries; bare rows from before still sign', async () => {
  const db = store.meta.db;
  const caller = await insertAccount(db, { domain: 'hook.test' });
  const at = new Date().toISOString();
  const agentId = newId('agent');
  await db.insertInto('agents').values({ id: agentId, account_id: caller.accountId, name: 'a', last_seen_at: at, created_at: at }).execute();
  const volume = newId('volume');
  await db.insertInto('resources').values({ id: volume, account_id: caller.accountId, kind: 'volume', name: 'v', agent_id: agentId, created_at: at }).execute();
  const hook = await webhookReceiver([200]);
  // The services' own notifier, made with the store's master keys.
  const notifier = store.services.notifier;
  try {
    const policy = await store.services.policies.create(caller, { name: 'p', schedule: { kind: 'daily', times: ['02:00'] }, notify_on: ['success'], webhooks: [hook.url] });
    assert.match(policy.webhook_secret, /^[0-9a-f]{48}$/);
    const row = await db.selectFrom('backup_policies').select('webhook_secret').where('id', '=', policy.id).executeTakeFirstOrThrow();
    assert.match(row.webhook_secret, /^aes256gcm:/);
    assert.equal(unsealWebhookSecret(row.webhook_secret, keys, policy.id), policy.webhook_secret);
    assert.equal((await store.services.policies.list(caller, { offset: 0, limit: 10 })).items[0]!.webhook_secret, policy.webhook_secret);

    const task = await store.services.tasks.create(caller, { name: 'nightly', policy_id: policy.id, resource_ids: [volume] });
    const runOnce = async () => {
      const run = await store.services.tasks.runNow(caller, task.id);
      await store.services.jobs.succeed(run.items[0]!.job_id!);
      await store.services.scheduler.settleRuns();
      await notifier.deliverDue();
    };
    await runOnce();
    assert.equal(hook.calls.length, 1);
    assert.ok(verifyWebhook(policy.webhook_secret, hook.calls[0]!.body, hook.calls[0]!.headers[SIGNATURE_HEADER] as string), 'signed with the secret the owner was shown');

    // A row from before sealing holds the secret bare.
    const bare = 'ab'.repeat(24);
    await db.updateTable('backup_policies').set({ webhook_secret: bare }).where('id', '=', policy.id).execute();
    await runOnce();
    assert.equal(hook.calls.length, 2);
    assert.ok(verifyWebhook(bare, hook.calls[1]!.body, hook.calls[1]!.headers[SIGNATURE_HEADER] as string));
  } finally {
    await hook.close();
  }
});
