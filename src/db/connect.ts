import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Engine } from './schema.js';
import { migrateToLatest } from './migrations.js';
import { isSqliteBusy } from './engine-errors.js';

export type Db = Kysely<Database>;
export type { Engine };

export interface MetadataStore {
  db: Db;
  engine: Engine;
  close(): Promise<void>;
}

// PostgreSQL returns BIGINT (and COUNT) as strings to be safe past 2^53; our sizes
// stay far below that, so numbers keep one code path for both engines.
pg.types.setTypeParser(20, (v) => Number(v));

/** Opens the metadata store named by a URL (`postgres://…`) or an SQLite file path, and migrates it. */
export async function openMetadataStore(url: string): Promise<MetadataStore> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openOnce(url);
    } catch (err) {
      // Two servers opening one fresh SQLite file at once: in a few places (switching
      // the file to WAL, a lock that could deadlock) SQLite answers "database is locked"
      // at once instead of waiting out busy_timeout; opened again, the file is ready.
      if (attempt >= 5 || !isSqliteBusy(err)) throw err;
      await sleep(100 * attempt);
    }
  }
}

async function openOnce(url: string): Promise<MetadataStore> {
  const engine: Engine = /^postgres(ql)?:\/\//.test(url) ? 'postgres' : 'sqlite';
  let db: Db;
  if (engine === 'postgres') {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection dropped by the server (restart, failover) must not take the process down; the pool reconnects.
    pool.on('error', (err) => process.emitWarning(`PostgreSQL connection lost: ${err.message}`));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else {
    const file = url.replace(/^sqlite:(\/\/)?/, '');
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true });
      // Made here, the owner's alone, before SQLite would make it by the umask (often readable by all); its -wal and -shm files take its mode.
      closeSync(openSync(file, 'a', 0o600));
    }
    const sqlite = new SqliteDatabase(file, { timeout: 10_000 });
    try {
      // WAL lets readers go on while a backup commits; NORMAL is durable in WAL mode across process crashes.
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
    } catch (err) {
      sqlite.close();
      throw err;
    }
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  }
  try {
    await migrateToLatest(db as Kysely<unknown>, engine);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, engine, close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew, which costs more than running the small
 * queries a chunk upload makes. The services issue a bounded set of distinct
 * statements (IN lists of varying length aside), so the most recent ones are
 * kept. Safe because one connection runs one statement at a time, and no
 * query here is streamed (a streamed statement stays busy while iterated).
 */
function withStatementCache(sqlite: SqliteDatabase.Database, max = 256) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteDatabase.Statement {
      let statement = statements.get(sql);
      if (statement) {
        statements.delete(sql); // re-inserted below: the map's order is least recently used first
      } else {
        statement = sqlite.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
