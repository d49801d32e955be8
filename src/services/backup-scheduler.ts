import type { Db } from '../db/connect.js';
import type { BackupRunItemTable, BackupRunTable, BackupTaskTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { CairnError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { chainsToTrim } from '../domain/retention.js';
import { nextRun } from '../domain/schedule.js';
import type { Access } from './access.js';
import type { TaskBackupParams } from './backup-job-params.js';
import { timingOf } from './backup-policies.js';
import type { ChainsService } from './chains.js';
import { JobsService } from './jobs.js';

/** What happened when a run ended, for whoever tells the policy's recipients (backup-notifier.ts). */
export interface FinishedRun {
  run: BackupRunTable;
  task: BackupTaskTable;
  items: BackupRunItemTable[];
  /** Chains retention sent to the recycle bin. */
  trimmed: string[];
}

export interface RunListener {
  runFinished(r: FinishedRun): Promise<void>;
}

/** Acting for the owner of a task: the scheduler has no request, but deletes through the owner's rights. */
const ownerOf = (accountId: string): Caller => ({ accountId, email: '', isAdmin: false, parentId: null, via: 'local' });

/**
 * Turns due tasks into backup jobs and settles runs whose jobs ended. Runs on
 * the housekeeping holder (one server at a time), but each step is safe beside
 * a second copy of itself: a run is claimed by moving the task's
 * `next_run_at` from the value that was read (a conditional update, in the
 * transaction that makes the run), and a run is settled by moving its status
 * from `running`; whoever loses either update does nothing.
 */
export class BackupScheduler {
  private listener: RunListener | null = null;

  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly chains: ChainsService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  onRunFinished(listener: RunListener): void {
    this.listener = listener;
  }

  /**
   * Starts every run that is due. The next run is counted from now, not from
   * the missed time: a task whose runs were missed while every server was
   * down runs once when one comes back, never once per missed run.
   */
  async runDue(): Promise<number> {
    const at = this.now();
    const due = await this.db.selectFrom('backup_tasks').selectAll().where('enabled', '=', 1).where('next_run_at', '<=', at.toISOString()).orderBy('next_run_at').limit(100).execute();
    let started = 0;
    for (const task of due) {
      const policy = await this.db.selectFrom('backup_policies').selectAll().where('id', '=', task.policy_id).executeTakeFirstOrThrow();
      const timing = timingOf(policy);
      const next = timing.repeat === 'once' ? null : (nextRun(timing, at)?.toISOString() ?? null);
      const runId = await this.db.transaction().execute(async (tx) => {
        const claimed = await tx
          .updateTable('backup_tasks')
          .set({ next_run_at: next })
          .where('id', '=', task.id)
          .where('enabled', '=', 1)
          .where('next_run_at', '=', task.next_run_at)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) return null;
        return this.startRunIn(tx, task, 'schedule', task.next_run_at!, at);
      });
      if (runId) started++;
    }
    return started;
  }

  /** A run now, outside the schedule ("run now"). */
  async startRun(task: BackupTaskTable, trigger: 'schedule' | 'manual', at: Date): Promise<string> {
    return this.db.transaction().execute((tx) => this.startRunIn(tx, task, trigger, at.toISOString(), at));
  }

  /**
   * Makes the run and a backup job for each resource, for the agent that
   * hosts it, in the claim's transaction. A resource with a backup already
   * pending or working is skipped (never two at once); one no agent hosts fails
   * at once with what to do. An offline agent's job waits, then fails as
   * "backup now" does (JobsService.recover).
   */
  private async startRunIn(tx: Db, task: BackupTaskTable, trigger: 'schedule' | 'manual', scheduledFor: string, at: Date): Promise<string> {
    const now = at.toISOString();
    const run: BackupRunTable = { id: newId('run'), task_id: task.id, account_id: task.account_id, trigger, scheduled_for: scheduledFor, status: 'running', created_at: now, finished_at: null };
    await tx.insertInto('backup_runs').values(run).execute();
    const resources = await tx
      .selectFrom('backup_task_resources')
      .innerJoin('resources', 'resources.id', 'backup_task_resources.resource_id')
      .select(['resources.id', 'resources.agent_id', 'resources.account_id'])
      .where('backup_task_resources.task_id', '=', task.id)
      .orderBy('resources.id')
      .execute();
    const jobs = new JobsService(tx, this.access);
    const items: BackupRunItemTable[] = [];
    for (const r of resources) {
      const busy = await tx.selectFrom('jobs').select('id').where('resource_id', '=', r.id).where('action', '=', 'backup').where('status', 'in', ['pending', 'working']).executeTakeFirst();
      if (busy) {
        items.push({ run_id: run.id, resource_id: r.id, job_id: null, status: 'skipped', error: `${r.id} was already being backed up (job ${busy.id}); this run left it alone.` });
        continue;
      }
      if (!r.agent_id) {
        items.push({ run_id: run.id, resource_id: r.id, job_id: null, status: 'failed', error: `No agent hosts ${r.id}; start one with \`cairn agent --map ${r.id}:…\` on the machine with its disks.` });
        continue;
      }
      const params: TaskBackupParams = { type: task.backup_type, name: task.name, task_id: task.id, run_id: run.id, chain_length: task.chain_length };
      const job = await jobs.create({ accountId: task.account_id, action: 'backup', runner: r.agent_id, resourceId: r.id, params });
      items.push({ run_id: run.id, resource_id: r.id, job_id: job.id, status: 'running', error: null });
    }
    if (items.length) await tx.insertInto('backup_run_items').values(items).execute();
    await tx
      .updateTable('backup_tasks')
      .set((eb) => ({ run_count: eb('run_count', '+', 1), last_run_at: now, last_result: 'running' }))
      .where('id', '=', task.id)
      .execute();
    return run.id;
  }

  /** Settles the runs whose jobs all ended: their result, retention, then the listener (notifications). */
  async settleRuns(): Promise<number> {
    const running = await this.db.selectFrom('backup_runs').selectAll().where('status', '=', 'running').orderBy('created_at').limit(100).execute();
    let settled = 0;
    for (const run of running) if (await this.settle(run)) settled++;
    return settled;
  }

  private async settle(run: BackupRunTable): Promise<boolean> {
    const items = await this.db.selectFrom('backup_run_items').selectAll().where('run_id', '=', run.id).execute();
    for (const item of items) {
      if (item.status !== 'running' || !item.job_id) continue;
      const job = await this.db.selectFrom('jobs').select(['status', 'error']).where('id', '=', item.job_id).executeTakeFirst();
      if (!job) {
        item.status = 'failed';
        item.error = `Job ${item.job_id} is gone.`;
      } else if (job.status === 'successful' || job.status === 'failed') {
        item.status = job.status;
        item.error = job.error;
      } else continue;
      await this.db.updateTable('backup_run_items').set({ status: item.status, error: item.error }).where('run_id', '=', run.id).where('resource_id', '=', item.resource_id).execute();
    }
    if (items.some((i) => i.status === 'running')) return false;
    const succeeded = items.filter((i) => i.status === 'successful').length;
    const failed = items.filter((i) => i.status === 'failed').length;
    // Skipped resources (a backup already under way) count neither way; a run that backed nothing up failed.
    const status = succeeded === 0 ? 'failed' : failed === 0 ? 'successful' : 'partial';
    const finishedAt = this.now().toISOString();
    const won = await this.db.updateTable('backup_runs').set({ status, finished_at: finishedAt }).where('id', '=', run.id).where('status', '=', 'running').executeTakeFirst();
    if (Number(won.numUpdatedRows) !== 1) return false;
    await this.db.updateTable('backup_tasks').set({ last_result: status }).where('id', '=', run.task_id).where('last_run_at', '<=', run.created_at).execute();
    const task = await this.db.selectFrom('backup_tasks').selectAll().where('id', '=', run.task_id).executeTakeFirst();
    const trimmed: string[] = [];
    if (task) {
      for (const item of items) if (item.status === 'successful') trimmed.push(...(await this.retain(task, item.resource_id)));
      await this.listener?.runFinished({ run: { ...run, status, finished_at: finishedAt }, task, items, trimmed });
    }
    return true;
  }

  /**
   * Retention after a successful backup of one resource: the automatic chains
   * beyond the task's newest N go to the recycle bin through the ordinary
   * delete, so a shared one's recipients get their event and notification,
   * and images made from it stay whole (they hold their own references).
   */
  private async retain(task: BackupTaskTable, resourceId: string): Promise<string[]> {
    if (task.keep_chains === null) return [];
    const chains = await this.db.selectFrom('chains').select(['id', 'origin', 'created_at']).where('resource_id', '=', resourceId).where('account_id', '=', task.account_id).where('status', '=', 'available').execute();
    const trimmed: string[] = [];
    for (const id of chainsToTrim(chains, task.keep_chains)) {
      try {
        await this.chains.deleteChain(ownerOf(task.account_id), id);
        trimmed.push(id);
      } catch (err) {
        // Deleted by hand in the meantime: nothing left to trim.
        if (!(err instanceof CairnError && (err.status === 409 || err.status === 404))) throw err;
      }
    }
    return trimmed;
  }
}
