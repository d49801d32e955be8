import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { Db, Engine } from '../db/connect.js';
import { dbNowMs } from '../db/clock.js';

/**
 * A named lease in the shared database: at most one holder at a time, taken
 * when free or expired and kept by renewing it before it expires. One
 * statement (an upsert whose update is conditional) takes or renews it on both
 * engines, so two servers racing for it cannot both win; a row survives
 * connection pools and PostgreSQL restarts, where a session advisory lock would
 * go with its connection.
 *
 * Expiry is written and compared with the database's clock only (dbNowMs), so
 * servers whose clocks disagree still agree on when a lease runs out. The
 * holder's own belief is measured on its monotonic clock from *before* it sent
 * the statement that renewed the lease, so it always ends before the
 * database's expiry: a holder never believes it holds what another may have taken.
 */
export class RowLease {
  /** performance.now() until which this process may act as the holder. */
  private validUntil = 0;

  constructor(
    private readonly db: Db,
    private readonly engine: Engine,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
  ) {}

  /** Takes the lease if it is free or expired, or renews it if it is ours; true when this process holds it now. */
  async hold(): Promise<boolean> {
    const sent = performance.now();
    const now = dbNowMs(this.engine);
    const row = await this.db
      .insertInto('leases')
      .values({ name: this.name, holder: this.holder, expires_at: sql<number>`${now} + ${this.ttlMs}` })
      .onConflict((oc) =>
        oc
          .column('name')
          .doUpdateSet({ holder: (eb) => eb.ref('excluded.holder'), expires_at: (eb) => eb.ref('excluded.expires_at') })
          .where((eb) => eb.or([eb('leases.holder', '=', this.holder), eb('leases.expires_at', '<', now)])),
      )
      .returning('holder')
      .executeTakeFirst();
    const held = row?.holder === this.holder;
    this.validUntil = held ? sent + this.ttlMs : 0;
    return held;
  }

  /** Whether this process may still act as the holder (without asking the database). */
  held(): boolean {
    return performance.now() < this.validUntil;
  }

  /** Gives the lease up, so another server takes it at its next try rather than after the expiry. */
  async release(): Promise<void> {
    this.validUntil = 0;
    await this.db.deleteFrom('leases').where('name', '=', this.name).where('holder', '=', this.holder).execute();
  }
}
