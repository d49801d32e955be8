/** Which kind of failure an engine's error is, by its code (never its message), on either engine. */

type Coded = { code?: unknown; cause?: unknown } | null | undefined;

/** A write failed on a unique index or key: PostgreSQL's 23505, SQLite's constraint codes. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as Coded)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** SQLite was busy ("database is locked", SQLITE_BUSY and its extended codes), here or in a cause of this error. */
export function isSqliteBusy(err: unknown): boolean {
  for (let e = err as Coded, depth = 0; e && depth < 8; e = e.cause as Coded, depth++) {
    if (typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY')) return true;
  }
  return false;
}
