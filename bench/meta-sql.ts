import Database from 'better-sqlite3';
import pg from 'pg';
import { b36 } from './meta-shape.js';

/**
 * The little the seeder needs of either engine: run a statement, insert one row
 * with bound values, and close. The bulk statements are the same text on both
 * engines: they read a table of numbers (`bench_series`) and call two helper
 * functions, `bench_b36(n)` (an ID's 8 characters, as meta-shape.ts's `b36`) and
 * `bench_ts(s)` (an ISO 8601 time s seconds after 2025-01-01, as the app writes
 * them), which each engine defines its own way.
 */
export interface SeedDb {
  readonly engine: 'postgres' | 'sqlite';
  exec(sql: string): Promise<void>;
  insert(table: string, row: Record<string, string | number | Buffer | null>): Promise<void>;
  /** Fills `bench_series` with 0..count-1. */
  series(count: number): Promise<void>;
  /**
   * Drops the helpers and leaves the planner's statistics as a live database
   * would have them: PostgreSQL's autovacuum analyses after big inserts; Cairn
   * never runs ANALYZE on SQLite, so neither does the seed.
   */
  finish(): Promise<void>;
  close(): Promise<void>;
}

const EPOCH_MS = Date.UTC(2025, 0, 1);
export const benchTime = (seconds: number) => new Date(EPOCH_MS + seconds * 1000).toISOString();

export async function postgresSeedDb(url: string): Promise<SeedDb> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Seeding is redone from scratch if it fails, so it need not wait for the disk at each statement.
  await client.query('set synchronous_commit = off');
  await client.query(`set maintenance_work_mem = '512MB'`);
  await client.query(`
    create or replace function bench_b36(n bigint) returns text language plpgsql immutable parallel safe as $$
    declare v bigint := (n * 2654435761) % 2821109907456; s text := ''; i int;
    begin
      for i in 1..8 loop s := substr('abcdefghijklmnopqrstuvwxyz0123456789', (v % 36)::int + 1, 1) || s; v := v / 36; end loop;
      return s;
    end $$`);
  await client.query(`
    create or replace function bench_ts(s bigint) returns text language sql immutable parallel safe as $$
      select to_char(timestamp '2025-01-01 00:00:00' + make_interval(secs => s), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$`);
  return {
    engine: 'postgres',
    async exec(sql) {
      await client.query(sql);
    },
    async insert(table, row) {
      const cols = Object.keys(row);
      await client.query(`insert into ${table} (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
    },
    async series(count) {
      await client.query('drop table if exists bench_series');
      await client.query('create unlogged table bench_series (n bigint primary key)');
      await client.query(`insert into bench_series select generate_series(0, ${count - 1})`);
    },
    async finish() {
      await client.query('drop table if exists bench_series');
      await client.query('drop function if exists bench_b36(bigint)');
      await client.query('drop function if exists bench_ts(bigint)');
      // Autovacuum would get here on its own after such inserts; the benchmark should not time it doing so.
      await client.query('vacuum analyze');
    },
    close: () => client.end(),
  };
}

export async function sqliteSeedDb(file: string): Promise<SeedDb> {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.function('bench_b36', { deterministic: true }, (n) => b36(Number(n)));
  db.function('bench_ts', { deterministic: true }, (s) => benchTime(Number(s)));
  // One transaction for the whole seed: SQLite commits are the slow part of a prepared insert loop.
  db.exec('begin');
  return {
    engine: 'sqlite',
    async exec(sql) {
      db.exec(sql);
    },
    async insert(table, row) {
      const cols = Object.keys(row);
      db.prepare(`insert into ${table} (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`).run(...Object.values(row));
    },
    async series(count) {
      db.exec('drop table if exists bench_series');
      db.exec('create table bench_series (n integer primary key)');
      db.exec(`insert into bench_series with recursive s(n) as (select 0 union all select n + 1 from s where n < ${count - 1}) select n from s`);
    },
    async finish() {
      db.exec('drop table if exists bench_series');
      db.exec('commit');
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      if (db.inTransaction) db.exec('rollback');
      db.close();
    },
  };
}
