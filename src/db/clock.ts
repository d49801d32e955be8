import { sql, type RawBuilder } from 'kysely';
import type { Engine } from './schema.js';

/**
 * The database's clock, in milliseconds since 1970, as an SQL expression. Leases
 * and schedules shared by several servers are written and compared with this
 * clock alone, so clock skew between the servers plays no part in them. With
 * SQLite the "database's clock" is the host's, which every process sharing the
 * file shares. Both engines give one value per statement, so a statement that
 * names it twice compares like with like.
 */
export function dbNowMs(engine: Engine): RawBuilder<number> {
  return engine === 'postgres'
    ? sql<number>`(extract(epoch from now()) * 1000)::bigint`
    : sql<number>`cast(round((julianday('now') - 2440587.5) * 86400000) as integer)`;
}
