import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import type { JobTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { isoPlus, nowIso } from '../domain/time.js';
import type { Access } from './access.js';
import type { JobStatus, JobView } from '../contract/index.js';

export const jobView = (j: JobTable): JobView => ({
  id: j.id,
  action: j.action,
  status: j.status,
  resource_id: j.resource_id,
  target_id: j.target_id,
  runner: j.runner,
  progress: j.progress,
  bytes_done: j.bytes_done,
  bytes_total: j.bytes_total,
  error: j.error,
  result: j.result ? JSON.parse(j.result) : null,
  created_at: j.created_at,
  started_at: j.started_at,
  finished_at: j.finished_at,
  updated_at: j.updated_at,
});

export const MAX_ATTEMPTS = 3;

export interface NewJob {
  accountId: string;
  action: string;
  runner: string;
  resourceId?: string | null;
  targetId?: string | null;
  params?: unknown;
  status?: JobStatus;
  leaseMs?: number;
}

/**
 * Jobs are rows, so they outlive the process: who runs a job holds a lease that
 * it renews while it works; a job whose lease ran out was abandoned and is
 * retried or failed by `recover`, never left `working`.
 */
export class JobsService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
  ) {}

  async create(j: NewJob): Promise<JobTable> {
    const now = nowIso();
    const working = j.status === 'working';
    const row: JobTable = {
      id: newId('job'),
      account_id: j.accountId,
      action: j.action,
      resource_id: j.resourceId ?? null,
      target_id: j.targetId ?? null,
      status: j.status ?? 'pending',
      runner: j.runner,
      params: JSON.stringify(j.params ?? {}),
      result: null,
      progress: 0,
      bytes_done: 0,
      bytes_total: 0,
      error: null,
      attempts: working ? 1 : 0,
      lease_until: working ? isoPlus(now, j.leaseMs ?? 60_000) : null,
      created_at: now,
      started_at: working ? now : null,
      finished_at: null,
      updated_at: now,
    };
    await this.db.insertInto('jobs').values(row).execute();
    return row;
  }

  async list(caller: Caller, page: PageRequest, filter: { status?: JobStatus | JobStatus[]; resourceId?: string; ids?: string[]; action?: string } = {}): Promise<Page<JobView>> {
    let q = this.db.selectFrom('jobs').selectAll().where('account_id', '=', caller.accountId);
    if (typeof filter.status === 'string') q = q.where('status', '=', filter.status);
    else if (filter.status?.length) q = q.where('status', 'in', filter.status);
    if (filter.ids) q = q.where('id', 'in', filter.ids.length ? filter.ids : ['']);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.resourceId) q = q.where('resource_id', '=', filter.resourceId);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: rows.map(jobView) };
  }

  async get(caller: Caller, id: string): Promise<JobView> {
    return jobView(await this.access.job(caller, id));
  }

  async byId(id: string): Promise<JobTable | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Takes the oldest pending job of a runner; the conditional update makes two takers safe. */
  async claim(runner: string, leaseMs: number, actions?: string[]): Promise<JobTable | null> {
    for (let tries = 0; tries < 5; tries++) {
      let q = this.db.selectFrom('jobs').selectAll().where('runner', '=', runner).where('status', '=', 'pending');
      if (actions) q = q.where('action', 'in', actions);
      const job = await q.orderBy('created_at').limit(1).executeTakeFirst();
      if (!job) return null;
      const now = nowIso();
      const res = await this.db
        .updateTable('jobs')
        .set({ status: 'working', started_at: job.started_at ?? now, attempts: job.attempts + 1, lease_until: isoPlus(now, leaseMs), updated_at: now })
        .where('id', '=', job.id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) return { ...job, status: 'working', attempts: job.attempts + 1 };
    }
    return null;
  }

  async progress(id: string, p: { bytesDone?: number; bytesTotal?: number; leaseMs?: number }): Promise<void> {
    const now = nowIso();
    const job = await this.byId(id);
    if (!job || job.status !== 'working') return;
    const total = p.bytesTotal ?? job.bytes_total;
    const done = p.bytesDone ?? job.bytes_done;
    await this.db
      .updateTable('jobs')
      .set({
        bytes_done: done,
        bytes_total: total,
        progress: total > 0 ? Math.min(99, Math.floor((done * 100) / total)) : job.progress,
        lease_until: isoPlus(now, p.leaseMs ?? 60_000),
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'working')
      .execute();
  }

  async succeed(id: string, result?: unknown): Promise<void> {
    const now = nowIso();
    await this.db
      .updateTable('jobs')
      // Done is all of it: the last throttled progress report may have come a moment before the end.
      .set((eb) => ({ status: 'successful', progress: 100, bytes_done: eb.ref('bytes_total'), result: result === undefined ? null : JSON.stringify(result), lease_until: null, finished_at: now, updated_at: now }))
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'working'])
      .execute();
  }

  async fail(id: string, error: string): Promise<void> {
    const now = nowIso();
    await this.db
      .updateTable('jobs')
      .set({ status: 'failed', error, lease_until: null, finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'working'])
      .execute();
  }

  /**
   * Run at start and then periodically. Server jobs whose lease ran out go back
   * to pending (up to MAX_ATTEMPTS); jobs of agents and clients are failed, since
   * only the one that held them could carry on; pending agent jobs that no agent
   * took within `pendingTimeoutMs` are failed as the agent being offline.
   */
  async recover(opts: { pendingTimeoutMs: number; onFailed?: (job: JobTable) => Promise<void> }): Promise<{ retried: number; failed: number }> {
    const now = nowIso();
    const expired = await this.db.selectFrom('jobs').selectAll().where('status', '=', 'working').where('lease_until', '<', now).execute();
    let retried = 0;
    let failed = 0;
    for (const job of expired) {
      if (job.runner === 'server' && job.attempts < MAX_ATTEMPTS) {
        await this.db.updateTable('jobs').set({ status: 'pending', lease_until: null, updated_at: now }).where('id', '=', job.id).where('status', '=', 'working').execute();
        retried++;
      } else {
        const why =
          job.runner === 'server'
            ? `The server stopped while this job was working, ${job.attempts} times; it was not retried again.`
            : job.runner === 'client'
              ? 'The client carrying out this job stopped reporting (killed or disconnected); start the operation again.'
              : `Agent ${job.runner} stopped reporting while working on this job; check the agent and start the operation again.`;
        await this.fail(job.id, why);
        await opts.onFailed?.(job);
        failed++;
      }
    }
    const stale = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'pending')
      .where('runner', 'not in', ['server', 'client'])
      .where('created_at', '<', isoPlus(now, -opts.pendingTimeoutMs))
      .execute();
    for (const job of stale) {
      await this.fail(job.id, `Agent ${job.runner} did not pick this job up within ${Math.round(opts.pendingTimeoutMs / 1000)} s; it seems offline. Start the agent and try again.`);
      await opts.onFailed?.(job);
      failed++;
    }
    return { retried, failed };
  }
}
