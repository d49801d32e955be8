import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { BackupPolicyTable, NotificationDeliveryTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { signWebhook, SIGNATURE_HEADER } from '../domain/webhook-signature.js';
import type { Access } from './access.js';
import type { FinishedRun, RunListener } from './backup-scheduler.js';
import type { Mailer } from './mailer.js';
import type { DeliveryView, NotifyEvent } from '../contract/index.js';
import { unsealWebhookSecret } from './secret-seal.js';
import type { MasterKeys } from '../store/master-key.js';

/** Attempts per delivery; the waits between them grow fourfold from the base (30 s, 2 min, 8 min, 32 min by default). */
export const MAX_DELIVERY_ATTEMPTS = 5;
const WEBHOOK_TIMEOUT_MS = 10_000;

export interface NotifierSettings {
  /** The wait after a first failed attempt. */
  retryBaseMs: number;
  /** Webhook secrets are sealed under these (secret-seal.ts). */
  masterKeys?: MasterKeys | null;
}

/** What a webhook receives (docs/tasks.md): the same JSON, byte for byte, on every attempt. */
export interface RunEvent {
  type: 'backup_task.run.succeeded' | 'backup_task.run.failed';
  task: { id: string; name: string };
  policy: { id: string; name: string };
  run: { id: string; trigger: string; status: string; scheduled_for: string; created_at: string; finished_at: string | null };
  resources: { id: string; status: string; job_id: string | null; error: string | null }[];
  /** Automatic chains retention sent to the recycle bin after this run. */
  trimmed_chains: string[];
}

const view = (d: NotificationDeliveryTable): DeliveryView => ({
  id: d.id,
  run_id: d.run_id,
  channel: d.channel,
  target: d.target,
  event: d.event,
  status: d.status,
  attempts: Number(d.attempts),
  next_attempt_at: d.next_attempt_at,
  response_status: d.response_status === null ? null : Number(d.response_status),
  last_error: d.last_error,
  created_at: d.created_at,
  delivered_at: d.delivered_at,
});

function mailOf(e: RunEvent, lang: 'zh' | 'en'): { subject: string; text: string } {
  const ok = e.type === 'backup_task.run.succeeded';
  const zh = lang === 'zh';
  const subject = zh ? `[Cairn] 备份任务「${e.task.name}」${ok ? '执行成功' : '执行失败'}` : `[Cairn] Backup task "${e.task.name}" ${ok ? 'succeeded' : 'failed'}`;
  const status = (s: string) => (zh ? ({ successful: '成功', failed: '失败', skipped: '跳过', partial: '部分成功', running: '执行中' }[s] ?? s) : s);
  const lines = [
    zh ? `备份任务：${e.task.name} (${e.task.id})` : `Backup task: ${e.task.name} (${e.task.id})`,
    zh ? `备份策略：${e.policy.name}` : `Backup policy: ${e.policy.name}`,
    zh ? `结果：${status(e.run.status)}` : `Result: ${status(e.run.status)}`,
    zh ? `开始时间：${e.run.created_at}` : `Started: ${e.run.created_at}`,
    zh ? `结束时间：${e.run.finished_at ?? ''}` : `Finished: ${e.run.finished_at ?? ''}`,
    '',
    ...e.resources.map((r) => `${r.id}: ${status(r.status)}${r.error ? ` — ${r.error}` : ''}`),
  ];
  if (e.trimmed_chains.length) lines.push('', zh ? `按保留规则移入回收站的备份链：${e.trimmed_chains.join(', ')}` : `Chains moved to the recycle bin by the retention rule: ${e.trimmed_chains.join(', ')}`);
  return { subject, text: lines.join('\n') + '\n' };
}

/**
 * Tells a policy's recipients how a run ended. Each mail and webhook call is a
 * row first (written when the run settles), then sent by `deliverDue` on the
 * housekeeping loop: a failure is retried with growing waits, and the owner
 * sees every attempt's outcome. A delivery is claimed by a conditional update
 * of its attempt count before it is sent, so two servers never both send it.
 */
export class BackupNotifier implements RunListener {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly mailer: Mailer | null,
    private readonly settings: NotifierSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async runFinished({ run, task, items, trimmed }: FinishedRun): Promise<void> {
    const policy = await this.db.selectFrom('backup_policies').selectAll().where('id', '=', task.policy_id).executeTakeFirst();
    if (!policy) return;
    const event: NotifyEvent = run.status === 'successful' ? 'success' : 'failure';
    if (!(JSON.parse(policy.notify_on) as NotifyEvent[]).includes(event)) return;
    const body: RunEvent = {
      type: event === 'success' ? 'backup_task.run.succeeded' : 'backup_task.run.failed',
      task: { id: task.id, name: task.name },
      policy: { id: policy.id, name: policy.name },
      run: { id: run.id, trigger: run.trigger, status: run.status, scheduled_for: run.scheduled_for, created_at: run.created_at, finished_at: run.finished_at },
      resources: items.map((i) => ({ id: i.resource_id, status: i.status, job_id: i.job_id, error: i.error })),
      trimmed_chains: trimmed,
    };
    const at = this.now().toISOString();
    const base = { account_id: policy.account_id, policy_id: policy.id, run_id: run.id, event, status: 'pending' as const, attempts: 0, next_attempt_at: at, response_status: null, last_error: null, created_at: at, delivered_at: null };
    // Mails are written in the policy owner's language as it is when the run ends.
    const owner = await this.db.selectFrom('accounts').select('language').where('id', '=', policy.account_id).executeTakeFirstOrThrow();
    const mail = mailOf(body, owner.language);
    const rows: NotificationDeliveryTable[] = [
      ...(JSON.parse(policy.webhooks) as string[]).map((url) => ({ ...base, id: newId('delivery'), channel: 'webhook' as const, target: url, subject: '', body: JSON.stringify(body) })),
      ...(JSON.parse(policy.emails) as string[]).map((to) => ({ ...base, id: newId('delivery'), channel: 'email' as const, target: to, subject: mail.subject, body: mail.text })),
    ];
    if (rows.length) await this.db.insertInto('notification_deliveries').values(rows).execute();
  }

  async deliveries(caller: Caller, policyId: string, page: PageRequest): Promise<Page<DeliveryView>> {
    await this.access.policy(caller, policyId);
    const q = this.db.selectFrom('notification_deliveries').selectAll().where('policy_id', '=', policyId);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: rows.map(view) };
  }

  /** Sends every delivery whose time has come; returns how many went out. */
  async deliverDue(): Promise<{ delivered: number; failed: number }> {
    const at = this.now();
    const due = await this.db.selectFrom('notification_deliveries').selectAll().where('status', '=', 'pending').where('next_attempt_at', '<=', at.toISOString()).orderBy('next_attempt_at').limit(50).execute();
    let delivered = 0;
    let failed = 0;
    for (const d of due) {
      const attempts = Number(d.attempts) + 1;
      const retryAt = new Date(at.getTime() + this.settings.retryBaseMs * 4 ** (attempts - 1)).toISOString();
      const claimed = await this.db
        .updateTable('notification_deliveries')
        .set({ attempts, next_attempt_at: retryAt })
        .where('id', '=', d.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', d.attempts)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      const policy = await this.db.selectFrom('backup_policies').selectAll().where('id', '=', d.policy_id).executeTakeFirst();
      if (!policy) continue;
      const outcome = await this.send(d, policy);
      if (outcome.ok) {
        delivered++;
        await this.db
          .updateTable('notification_deliveries')
          .set({ status: 'delivered', next_attempt_at: null, response_status: outcome.status, last_error: null, delivered_at: this.now().toISOString() })
          .where('id', '=', d.id)
          .execute();
      } else {
        const final = attempts >= MAX_DELIVERY_ATTEMPTS;
        if (final) failed++;
        await this.db
          .updateTable('notification_deliveries')
          .set({ status: final ? 'failed' : 'pending', next_attempt_at: final ? null : retryAt, response_status: outcome.status, last_error: outcome.error })
          .where('id', '=', d.id)
          .execute();
      }
    }
    return { delivered, failed };
  }

  private async send(d: NotificationDeliveryTable, policy: BackupPolicyTable): Promise<{ ok: boolean; status: number | null; error: string | null }> {
    if (d.channel === 'email') {
      if (!this.mailer) return { ok: false, status: null, error: 'This server sends no mail: start it with --smtp-host and --smtp-from (CAIRN_SMTP_HOST, CAIRN_SMTP_FROM).' };
      try {
        await this.mailer.send({ to: d.target, subject: d.subject, text: d.body });
        return { ok: true, status: null, error: null };
      } catch (err) {
        return { ok: false, status: null, error: `The mail server refused or could not be reached: ${(err as Error).message}` };
      }
    }
    try {
      const res = await fetch(d.target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhook(unsealWebhookSecret(policy.webhook_secret, this.settings.masterKeys, policy.id), d.body), 'x-cairn-delivery': d.id, 'x-cairn-event': (JSON.parse(d.body) as RunEvent).type },
        body: d.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null };
      return { ok: false, status: res.status, error: `The webhook answered HTTP ${res.status}; it must answer 2xx.` };
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return { ok: false, status: null, error: `The webhook could not be called: ${(err as Error).message}${cause ? ` (${cause})` : ''}` };
    }
  }
}
