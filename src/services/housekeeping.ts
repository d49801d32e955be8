import type { Db, Engine } from '../db/connect.js';
import { dbNowMs } from '../db/clock.js';
import type { RowLease } from './lease.js';
import type { Services } from './index.js';

/** One piece of background work. */
export interface HousekeepingTask {
  /** Names the task in logs and its row in `housekeeping_runs`. */
  name: string;
  /** At most this often across all servers (the last run is kept in the database); every round when absent. */
  everyMs?: number;
  run(): Promise<void>;
}

/** What the loop logs through: pino's (Fastify's) logger fits. */
export interface HousekeepingLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The background loop: every round, take or renew the housekeeping lease and,
 * while this server holds it, run the tasks. Of several servers on one
 * database only the holder works; when it dies its lease runs out and the next
 * server to try takes over. Rounds do not wait for each other (a round skips
 * the tasks still under way from an earlier one), so a task longer than the
 * lease (a large garbage collection) neither loses it nor holds up the other
 * tasks. A holder that lost the lease anyway (stalled past the expiry)
 * finishes the task at hand but starts no other: every task is safe beside a
 * second copy of itself (docs/gc.md), but two holders working on is what the
 * lease is there to stop.
 */
export class Housekeeping {
  private timer: NodeJS.Timeout | null = null;
  /** Tasks under way: a round skips them, so a long collection holds up neither the renewal nor the other tasks. */
  private readonly running = new Set<string>();
  private holding = false;
  private stopped = false;
  /** The take-or-renew under way, which stop() lets finish before giving the lease up. */
  private holdInFlight: Promise<boolean> | null = null;

  constructor(
    private readonly db: Db,
    private readonly engine: Engine,
    private readonly lease: RowLease,
    private readonly tasks: HousekeepingTask[],
    private readonly log: HousekeepingLog,
    /** How often the lease is renewed and the tasks run; well under the lease's TTL. */
    private readonly roundMs: number,
  ) {}

  /** Runs a first round to its end (jobs a previous process left working are settled before new work arrives), then keeps going. */
  async start(): Promise<void> {
    const { round } = await this.tick();
    // Renewing from now on: a first round longer than the lease must not lose it.
    this.timer = setInterval(() => void this.tick(), this.roundMs);
    this.timer.unref();
    await round;
  }

  /** Stops the loop and gives the lease up, so another server takes over at once. A task under way is not waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.holdInFlight?.catch(() => false);
    await this.lease.release().catch((err: unknown) => this.log.error({ err }, 'could not give the housekeeping lease up; another server takes it when it expires'));
    this.holding = false;
  }

  /** Takes or renews the lease and, if held, starts a round, handed back unawaited (wrapped: a promise resolved with a promise waits for it). */
  private async tick(): Promise<{ round: Promise<void> }> {
    if (this.stopped) return { round: Promise.resolve() };
    let held: boolean;
    const hold = this.lease.hold();
    try {
      held = await (this.holdInFlight = hold);
    } catch (err) {
      // The local belief (lease.held()) runs out by itself if this goes on.
      this.log.error({ err }, 'could not renew the housekeeping lease');
      return { round: Promise.resolve() };
    } finally {
      if (this.holdInFlight === hold) this.holdInFlight = null;
    }
    if (this.stopped) return { round: Promise.resolve() };
    if (held && !this.holding) this.log.info({ server: this.lease.holder, leaseMs: this.lease.ttlMs }, 'took over housekeeping');
    if (!held && this.holding) this.log.info({ server: this.lease.holder }, 'housekeeping lease lost to another server');
    this.holding = held;
    return { round: held ? this.runTasks() : Promise.resolve() };
  }

  private async runTasks(): Promise<void> {
    for (const task of this.tasks) {
      if (!this.lease.held()) return;
      if (this.running.has(task.name)) continue;
      this.running.add(task.name);
      try {
        if (task.everyMs !== undefined && !(await this.claimRun(task.name, task.everyMs))) continue;
        await task.run();
      } catch (err) {
        this.log.error({ err, task: task.name }, 'housekeeping task failed');
      } finally {
        this.running.delete(task.name);
      }
    }
  }

  /**
   * Whether a periodic task is due, claiming the run if so: one conditional
   * update on the database's clock, so the interval holds across servers and
   * across a change of holder. A task seen for the first time starts its
   * interval now, as a server's start used to.
   */
  private async claimRun(task: string, everyMs: number): Promise<boolean> {
    const now = dbNowMs(this.engine);
    await this.db.insertInto('housekeeping_runs').values({ task, last_run_at: now }).onConflict((oc) => oc.column('task').doNothing()).execute();
    const r = await this.db
      .updateTable('housekeeping_runs')
      .set({ last_run_at: now })
      .where('task', '=', task)
      .where('last_run_at', '<=', (eb) => eb(now, '-', everyMs))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}

/** Cairn's housekeeping, in the order it runs. */
export function housekeepingTasks(services: Services, settings: { agentTimeoutMs: number; gcIntervalMs: number }, log: HousekeepingLog): HousekeepingTask[] {
  return [
    {
      name: 'upload-expiry',
      async run() {
        const expiredUploads = await services.uploads.expireIdle();
        if (expiredUploads) log.info({ expiredUploads }, 'abandoned uploads closed');
      },
    },
    {
      name: 'job-recovery',
      async run() {
        const r = await services.jobs.recover({ pendingTimeoutMs: settings.agentTimeoutMs });
        if (r.retried || r.failed) log.info(r, 'recovered abandoned jobs');
      },
    },
    {
      name: 'share-expiry',
      async run() {
        const expiredShares = await services.shares.expireDue();
        if (expiredShares) log.info({ expiredShares }, 'shares expired');
      },
    },
    {
      name: 'recycle-purge',
      async run() {
        const purged = await services.chains.purgeExpired();
        if (purged) log.info({ purged }, 'purged expired recycle-bin entries');
      },
    },
    {
      name: 'backup-scheduler',
      async run() {
        // Settling first: a run that ended frees its resources for the next one due in the same round.
        const settled = await services.scheduler.settleRuns();
        const started = await services.scheduler.runDue();
        if (settled || started) log.info({ settled, started }, 'backup task runs');
      },
    },
    {
      name: 'notifications',
      async run() {
        const r = await services.notifier.deliverDue();
        if (r.delivered || r.failed) log.info(r, 'backup notifications sent');
      },
    },
    {
      name: 'gc',
      everyMs: settings.gcIntervalMs,
      async run() {
        log.info(await services.gc.run(), 'garbage collection done');
      },
    },
  ];
}
