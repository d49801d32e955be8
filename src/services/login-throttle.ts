import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connect.js';
import { tooMany } from '../domain/errors.js';
import { isoPlus, nowIso } from '../domain/time.js';

/**
 * Counts failed sign-ins per account and per address in a sliding window, in the
 * database: behind a load balancer each guess may reach another server, and the
 * limit must hold for all of them together.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Db,
    private readonly maxFailures = 10,
    private readonly windowMs = 15 * 60 * 1000,
    private readonly now = nowIso,
  ) {}

  /**
   * Counts an attempt as a failure before it is checked, and refuses it when the
   * window then holds more than the limit: parallel guesses, on one server or
   * several, each see those inserted before them, so at most `maxFailures` pass.
   * A refused attempt takes its rows back, so waiting out the window is enough.
   */
  async begin(keys: string[]): Promise<void> {
    const attempt = randomUUID();
    const at = this.now();
    const since = isoPlus(at, -this.windowMs);
    await this.db.insertInto('login_failures').values(keys.map((key) => ({ attempt, key, failed_at: at }))).execute();
    const counts = await this.db
      .selectFrom('login_failures')
      .select(['key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('key', 'in', keys)
      .where('failed_at', '>', since)
      .groupBy('key')
      .execute();
    if (counts.some((c) => Number(c.n) > this.maxFailures)) {
      await this.db.deleteFrom('login_failures').where('attempt', '=', attempt).execute();
      throw tooMany('Too many failed sign-ins; wait 15 minutes before trying again.');
    }
    // Rows past the window count for nothing; failed sign-ins are few, so this stays cheap.
    await this.db.deleteFrom('login_failures').where('failed_at', '<=', since).execute();
  }

  /** A sign-in that worked clears the failures of its account and address. */
  async succeed(keys: string[]): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', 'in', keys).execute();
  }
}
