import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { BackupRunTable, BackupTaskTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { checkKeepChains } from '../domain/retention.js';
import { checkName } from '../domain/rules.js';
import { nextRun } from '../domain/schedule.js';
import type { Access } from './access.js';
import type { BackupScheduler } from './backup-scheduler.js';
import { describePolicy, timingOf } from './backup-policies.js';
import type { RunItemView, RunView, TaskView } from '../contract/index.js';

export const MAX_TASK_RESOURCES = 50;

export interface TaskInput {
  name: string;
  policy_id: string;
  resource_ids: string[];
  backup_type?: 'full' | 'incremental';
  chain_length?: number;
  keep_chains?: number | null;
  enabled?: boolean;
}

/**
 * Backup tasks (备份任务): which resources of the account, full or
 * incremental, how long a chain grows and how many automatic chains are kept.
 * A task runs on its policy's schedule (BackupScheduler) or when asked.
 */
export class BackupTasksService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly scheduler: BackupScheduler,
    private readonly settings: { chainMaxLength: number },
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(caller: Caller, input: TaskInput): Promise<TaskView> {
    const at = this.now();
    const policy = await this.access.policy(caller, input.policy_id);
    const resources = await this.checkResources(caller, input.resource_ids);
    const enabled = input.enabled ?? true;
    const row: BackupTaskTable = {
      id: newId('task'),
      account_id: caller.accountId,
      name: checkName(input.name),
      policy_id: policy.id,
      backup_type: input.backup_type ?? 'incremental',
      chain_length: this.checkChainLength(input.chain_length ?? this.settings.chainMaxLength),
      keep_chains: checkKeepChains(input.keep_chains ?? null),
      enabled: enabled ? 1 : 0,
      run_count: 0,
      last_run_at: null,
      last_result: null,
      next_run_at: enabled ? (nextRun(timingOf(policy), at)?.toISOString() ?? null) : null,
      created_at: at.toISOString(),
      updated_at: at.toISOString(),
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('backup_tasks').values(row).execute();
      await tx.insertInto('backup_task_resources').values(resources.map((resource_id) => ({ task_id: row.id, resource_id }))).execute();
    });
    return this.view(row);
  }

  async list(caller: Caller, page: PageRequest): Promise<Page<TaskView>> {
    const q = this.db.selectFrom('backup_tasks').selectAll().where('account_id', '=', caller.accountId);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: await Promise.all(rows.map((r) => this.view(r))) };
  }

  async get(caller: Caller, id: string): Promise<TaskView> {
    return this.view(await this.access.task(caller, id));
  }

  async update(caller: Caller, id: string, input: Partial<TaskInput>): Promise<TaskView> {
    const old = await this.access.task(caller, id);
    const at = this.now();
    const policy = await this.access.policy(caller, input.policy_id ?? old.policy_id);
    const resources = input.resource_ids ? await this.checkResources(caller, input.resource_ids) : null;
    const enabled = input.enabled ?? old.enabled === 1;
    const reschedule = input.policy_id !== undefined || input.enabled !== undefined;
    const row: BackupTaskTable = {
      ...old,
      name: input.name !== undefined ? checkName(input.name) : old.name,
      policy_id: policy.id,
      backup_type: input.backup_type ?? old.backup_type,
      chain_length: input.chain_length !== undefined ? this.checkChainLength(input.chain_length) : old.chain_length,
      keep_chains: input.keep_chains !== undefined ? checkKeepChains(input.keep_chains) : old.keep_chains,
      enabled: enabled ? 1 : 0,
      // Enabling counts from now: a task switched off for a month does not owe the runs it missed.
      next_run_at: !enabled ? null : reschedule || old.next_run_at === null ? (nextRun(timingOf(policy), at)?.toISOString() ?? null) : old.next_run_at,
      updated_at: at.toISOString(),
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('backup_tasks').set(row).where('id', '=', id).execute();
      if (resources) {
        await tx.deleteFrom('backup_task_resources').where('task_id', '=', id).execute();
        await tx.insertInto('backup_task_resources').values(resources.map((resource_id) => ({ task_id: id, resource_id }))).execute();
      }
    });
    return this.view(row);
  }

  /** Deletes the task and its run history; its chains, jobs and their backups stay. */
  async delete(caller: Caller, id: string): Promise<void> {
    await this.access.task(caller, id);
    await this.db.deleteFrom('backup_tasks').where('id', '=', id).execute();
  }

  /** "Run now": a run outside the schedule, which leaves the next scheduled run where it was. */
  async runNow(caller: Caller, id: string): Promise<RunView> {
    const task = await this.access.task(caller, id);
    const runId = await this.scheduler.startRun(task, 'manual', this.now());
    return this.runView((await this.db.selectFrom('backup_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow()));
  }

  async runs(caller: Caller, id: string, page: PageRequest): Promise<Page<RunView>> {
    await this.access.task(caller, id);
    const q = this.db.selectFrom('backup_runs').selectAll().where('task_id', '=', id);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: await Promise.all(rows.map((r) => this.runView(r))) };
  }

  private async runView(r: BackupRunTable): Promise<RunView> {
    const items = await this.db.selectFrom('backup_run_items').selectAll().where('run_id', '=', r.id).orderBy('resource_id').execute();
    return {
      id: r.id,
      task_id: r.task_id,
      trigger: r.trigger,
      scheduled_for: r.scheduled_for,
      status: r.status,
      items: items.map((i): RunItemView => ({ resource_id: i.resource_id, job_id: i.job_id, status: i.status, error: i.error })),
      created_at: r.created_at,
      finished_at: r.finished_at,
    };
  }

  /** The account's own resources, each once; another account's is not found (404), as if it did not exist. */
  private async checkResources(caller: Caller, ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0 || unique.length > MAX_TASK_RESOURCES) throw badRequest(`A task backs up 1 to ${MAX_TASK_RESOURCES} resources.`, 'resource_ids');
    const mine = await this.access.resources(caller, new Set(unique), 'write');
    const stranger = unique.find((id) => !mine.has(id));
    if (stranger) throw notFound('Resource', stranger);
    return unique;
  }

  private checkChainLength(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > this.settings.chainMaxLength)
      throw badRequest(`A chain's length is 1 to ${this.settings.chainMaxLength} points on this server; ${n} is not allowed.`, 'chain_length');
    return n;
  }

  private async view(t: BackupTaskTable): Promise<TaskView> {
    const policy = await this.db.selectFrom('backup_policies').selectAll().where('id', '=', t.policy_id).executeTakeFirstOrThrow();
    const resources = await this.db
      .selectFrom('backup_task_resources')
      .innerJoin('resources', 'resources.id', 'backup_task_resources.resource_id')
      .select(['resources.id', 'resources.name', 'resources.kind'])
      .where('backup_task_resources.task_id', '=', t.id)
      .orderBy('resources.id')
      .execute();
    return {
      id: t.id,
      name: t.name,
      enabled: t.enabled === 1,
      resources,
      backup_type: t.backup_type,
      chain_length: t.chain_length,
      keep_chains: t.keep_chains,
      policy: { id: policy.id, name: policy.name, description: describePolicy(policy) },
      run_count: Number(t.run_count),
      last_run_at: t.last_run_at,
      last_result: t.last_result,
      next_run_at: t.next_run_at,
      created_at: t.created_at,
      updated_at: t.updated_at,
    };
  }
}
