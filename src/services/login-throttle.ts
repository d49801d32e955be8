import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connect.js';
import { tooMany } from '../domain/errors.js';
import { isoPlus, nowIso } from '../domain/time.js';

/** Attempts older than this count for nothing, whatever they counted. */
export const THROTTLE_WINDOW_MS = 60 * 60_000;

/**
 * How many attempts a key gets in the window before it must wait, and how the
 * wait grows: the n-th attempt past `free` waits `baseDelayMs · 2^(n-1)` after
 * the last one, at most `maxDelayMs`.
 */
export interface ThrottleRules {
  free: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Failed sign-ins, per address, per account and per (account, address): docs/architecture.md, "Sign-in limits". */
export const SIGN_IN: ThrottleRules = { free: 10, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 };
/** New accounts per address: a person makes a few, a script hundreds. */
export const SIGN_UP: ThrottleRules = { free: 10, baseDelayMs: 1000, maxDelayMs: 15 * 60_000 };
/** Account lookups per caller: a share dialog names a few recipients at a time, an enumeration thousands. */
export const LOOKUP: ThrottleRules = { free: 60, baseDelayMs: 1000, maxDelayMs: 60_000 };

/** The delay a key must have waited since its last attempt, given `n` earlier attempts in the window. */
export function delayAfter(rules: ThrottleRules, n: number): number {
  if (n < rules.free) return 0;
  return Math.min(rules.maxDelayMs, rules.baseDelayMs * 2 ** Math.min(n - rules.free, 30));
}

/**
 * Counts attempts per key in a sliding window, in the database: behind a load
 * balancer each attempt may reach another server, and the limits must hold for
 * all of them together (the rows are in `login_failures`, whatever they count).
 * Past a key's free attempts each one waits exponentially longer since the last
 * one, so a guesser slows to a few tries an hour while its victim, who waits at
 * most `maxDelayMs`, is never locked out for good.
 */
export class Throttle {
  constructor(
    private readonly db: Db,
    private readonly rules: ThrottleRules,
    private readonly now = nowIso,
  ) {}

  /**
   * Records an attempt under `keys` before it is judged, then refuses it when
   * one of `checked` (by default all of them) is still waiting: parallel
   * attempts, on one server or several, each see those recorded before them,
   * so a burst cannot slip past the limit. A refused attempt takes its rows
   * back, so hammering does not lengthen the wait. Returns the attempt's ID.
   */
  async begin(keys: string[], checked: string[] = keys, what = 'Too many attempts'): Promise<string> {
    const attempt = randomUUID();
    const at = this.now();
    const since = isoPlus(at, -THROTTLE_WINDOW_MS);
    await this.db.insertInto('login_failures').values(keys.map((key) => ({ attempt, key, failed_at: at }))).execute();
    const counts = checked.length
      ? await this.db
          .selectFrom('login_failures')
          .select(['key', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('failed_at').as('last')])
          .where('key', 'in', checked)
          .where('failed_at', '>', since)
          .where('attempt', '!=', attempt)
          .groupBy('key')
          .execute()
      : [];
    const nowMs = Date.parse(at);
    // Within its free attempts a key never waits: a concurrent attempt may carry a time a little later
    // than this one's (two lookups of one share dialog, on two connections), which is no reason to refuse.
    const waits = counts.map((c) => {
      const delay = delayAfter(this.rules, Number(c.n));
      return delay === 0 ? 0 : Date.parse(String(c.last)) + delay - nowMs;
    });
    const wait = Math.max(0, ...waits);
    if (wait > 0) {
      await this.db.deleteFrom('login_failures').where('attempt', '=', attempt).execute();
      const seconds = Math.ceil(wait / 1000);
      throw tooMany(`${what}; wait ${seconds} seconds before trying again.`, seconds);
    }
    // Rows past the window count for nothing; attempts are few, so this stays cheap.
    await this.db.deleteFrom('login_failures').where('failed_at', '<=', since).execute();
    return attempt;
  }

  /** Takes one attempt back (a sign-in that worked is no failure). */
  async forget(attempt: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('attempt', '=', attempt).execute();
  }

  /** Takes back every attempt recorded under `key`, with all their other keys. */
  async forgetAll(key: string): Promise<void> {
    await this.db
      .deleteFrom('login_failures')
      .where('attempt', 'in', (eb) => eb.selectFrom('login_failures as f').select('f.attempt').where('f.key', '=', key))
      .execute();
  }
}
