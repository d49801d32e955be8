import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * "The share in `alias` is live at `now`": active and not past its expiry. The
 * expiry is checked here, not only by the housekeeping sweep, so a share stops at
 * its time exactly. Times are ISO 8601 text, which compares in time order on both engines.
 */
export function liveShare(alias: string, now: string): RawBuilder<SqlBool> {
  const status = sql.ref(`${alias}.status`);
  const expiresAt = sql.ref(`${alias}.expires_at`);
  return sql<SqlBool>`(${status} = ${'active'} and (${expiresAt} is null or ${expiresAt} > ${now}))`;
}
