import { randomBytes } from 'node:crypto';
import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { BackupPolicyTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { checkName, normalizeEmail } from '../domain/rules.js';
import { checkFires, checkTimezone, describeSchedule, nextRun, nextRuns, normalizeSchedule, type PolicyTiming, type Schedule } from '../domain/schedule.js';
import type { Access } from './access.js';
import { sealSecret, unsealWebhookSecret, webhookSecretName } from './secret-seal.js';
import type { MasterKeys } from '../store/master-key.js';
import type { NotifyEvent, PolicyPreview, PolicyView } from '../contract/index.js';

export const MAX_RECIPIENTS = 10;

export interface PolicyInput {
  name: string;
  repeat?: 'repeating' | 'once';
  schedule: Schedule;
  timezone?: string;
  notify_on?: NotifyEvent[];
  emails?: string[];
  webhooks?: string[];
}

export const timingOf = (p: BackupPolicyTable): PolicyTiming => ({
  repeat: p.repeat,
  schedule: JSON.parse(p.schedule) as Schedule,
  timezone: p.timezone,
  anchor_at: p.anchor_at,
});

export const describePolicy = (p: BackupPolicyTable) => ({ zh: describeSchedule(timingOf(p), 'zh'), en: describeSchedule(timingOf(p), 'en') });

/** Only http(s) URLs: a webhook is a POST the server makes, never a file or another scheme. */
function checkWebhook(url: string, i: number): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badRequest(`"${url}" is not a URL; give an http:// or https:// address.`, `webhooks.${i}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRequest(`Webhook "${url}" is not http(s); only http:// and https:// URLs can be called.`, `webhooks.${i}`);
  return u.toString();
}

function checkList<T>(items: T[] | undefined, field: string, check: (item: T, i: number) => string): string[] {
  const list = items ?? [];
  if (list.length > MAX_RECIPIENTS) throw badRequest(`Give at most ${MAX_RECIPIENTS} ${field}.`, field);
  return [...new Set(list.map(check))];
}

/**
 * Backup policies (备份策略): when a task runs and whom to tell. A change of
 * schedule moves the next run of every enabled task that follows the policy.
 */
export class BackupPoliciesService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly now: () => Date = () => new Date(),
    /** Webhook secrets are sealed under these (secret-seal.ts); null: kept as they are. */
    private readonly keys: MasterKeys | null = null,
  ) {}

  async create(caller: Caller, input: PolicyInput): Promise<PolicyView> {
    const at = this.now();
    const id = newId('policy');
    const row: BackupPolicyTable = {
      id,
      account_id: caller.accountId,
      ...this.checked({ ...input, timezone: input.timezone ?? (await this.accountTimezone(caller)) }, at),
      webhook_secret: sealSecret(randomBytes(24).toString('hex'), this.keys, webhookSecretName(id)),
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
    };
    await this.db.insertInto('backup_policies').values(row).execute();
    return this.view(row);
  }

  /** A schedule in words and its next three runs, checked as create would, storing nothing: the console's preview. */
  async preview(caller: Caller, input: PolicyInput): Promise<PolicyPreview> {
    const at = this.now();
    const f = this.checked({ ...input, timezone: input.timezone ?? (await this.accountTimezone(caller)) }, at);
    const p = { ...f, id: '', account_id: '', webhook_secret: '', created_at: '', updated_at: '' };
    return { description: describePolicy(p), next_runs: nextRuns(timingOf(p), at, 3).map((d) => d.toISOString()) };
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<PolicyView>> {
    const q = this.db.selectFrom('backup_policies').selectAll().where('account_id', '=', caller.accountId);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: await Promise.all(rows.map((r) => this.view(r))) };
  }

  async get(caller: Caller, id: string): Promise<PolicyView> {
    return this.view(await this.access.policy(caller, id));
  }

  async update(caller: Caller, id: string, input: Partial<PolicyInput>): Promise<PolicyView> {
    const old = await this.access.policy(caller, id);
    const at = this.now();
    const oldTiming = timingOf(old);
    const merged: PolicyInput = {
      name: input.name ?? old.name,
      repeat: input.repeat ?? old.repeat,
      schedule: input.schedule ?? oldTiming.schedule,
      timezone: input.timezone ?? old.timezone,
      notify_on: input.notify_on ?? (JSON.parse(old.notify_on) as NotifyEvent[]),
      emails: input.emails ?? (JSON.parse(old.emails) as string[]),
      webhooks: input.webhooks ?? (JSON.parse(old.webhooks) as string[]),
    };
    const fields = this.checked(merged, at);
    const timingChanged = input.schedule !== undefined || input.repeat !== undefined || input.timezone !== undefined;
    const row: BackupPolicyTable = { ...old, ...fields, anchor_at: timingChanged ? fields.anchor_at : old.anchor_at, updated_at: at.toISOString() };
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('backup_policies').set(row).where('id', '=', id).execute();
      if (timingChanged) {
        const next = nextRun(timingOf(row), at)?.toISOString() ?? null;
        await tx.updateTable('backup_tasks').set({ next_run_at: next, updated_at: row.updated_at }).where('policy_id', '=', id).where('enabled', '=', 1).execute();
      }
    });
    return this.view(row);
  }

  async delete(caller: Caller, id: string): Promise<void> {
    const row = await this.access.policy(caller, id);
    const tasks = await this.db.selectFrom('backup_tasks').select('id').where('policy_id', '=', row.id).execute();
    if (tasks.length) throw conflict(`Backup policy ${id} is used by task(s) ${tasks.map((t) => t.id).join(', ')}; give them another policy or delete them first.`, 'policy_in_use');
    await this.db.deleteFrom('backup_policies').where('id', '=', id).execute();
  }

  /** The input checked and normalized, or a 400 before anything is stored. */
  private checked(input: PolicyInput, at: Date): Omit<BackupPolicyTable, 'id' | 'account_id' | 'webhook_secret' | 'created_at' | 'updated_at'> {
    const name = checkName(input.name);
    const timezone = checkTimezone(input.timezone ?? 'UTC');
    const schedule = normalizeSchedule(input.schedule);
    const repeat = input.repeat ?? 'repeating';
    // "Every N hours" counts from the minute the schedule was set.
    const anchor_at = new Date(Math.floor(at.getTime() / 60_000) * 60_000).toISOString();
    checkFires({ repeat, schedule, timezone, anchor_at }, at);
    const notify_on = [...new Set(input.notify_on ?? ['failure'])];
    const emails = checkList(input.emails, 'emails', (e) => normalizeEmail(e));
    const webhooks = checkList(input.webhooks, 'webhooks', checkWebhook);
    return {
      name,
      repeat,
      schedule: JSON.stringify(schedule),
      timezone,
      anchor_at,
      notify_on: JSON.stringify(notify_on),
      emails: JSON.stringify(emails),
      webhooks: JSON.stringify(webhooks),
    };
  }

  /** A policy's time zone when none is given: its account's (0011_account_preferences). */
  private async accountTimezone(caller: Caller): Promise<string> {
    return (await this.db.selectFrom('accounts').select('timezone').where('id', '=', caller.accountId).executeTakeFirstOrThrow()).timezone;
  }

  private async view(p: BackupPolicyTable): Promise<PolicyView> {
    const timing = timingOf(p);
    const n = await this.db.selectFrom('backup_tasks').select((e) => e.fn.countAll<number>().as('n')).where('policy_id', '=', p.id).executeTakeFirstOrThrow();
    return {
      id: p.id,
      name: p.name,
      repeat: p.repeat,
      schedule: timing.schedule,
      timezone: p.timezone,
      description: describePolicy(p),
      next_runs: nextRuns(timing, this.now(), 3).map((d) => d.toISOString()),
      notify_on: JSON.parse(p.notify_on) as NotifyEvent[],
      emails: JSON.parse(p.emails) as string[],
      webhooks: JSON.parse(p.webhooks) as string[],
      webhook_secret: unsealWebhookSecret(p.webhook_secret, this.keys, p.id),
      task_count: Number(n.n),
      created_at: p.created_at,
      updated_at: p.updated_at,
    };
  }
}
