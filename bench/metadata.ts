import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import Database from 'better-sqlite3';
import { openMetadataStore } from '../src/db/connect.js';
import { measure } from './meta-measure.js';
import { BENCH_PASSWORD, seed, type SeedReport } from './meta-seed.js';
import { MetaServer } from './meta-server.js';
import { shapeFor, type MetaShape } from './meta-shape.js';
import { postgresSeedDb, sqliteSeedDb } from './meta-sql.js';
import { formatTable, summarize } from './meta-table.js';

const USAGE = `node dist/bench/metadata.js [options]    (npm run bench:metadata -- [options])

Seeds a Cairn metadata database in SQL at the scale of issue 28, starts \`cairn serve\`
on it, and measures the p50 and p99 of the listed operations over HTTP.

  --engine postgres|sqlite  postgres: 100,000 accounts, 1,000,000 chains (default);
                            sqlite: 10,000 accounts, 100,000 chains
  --scale F                 multiply the counts by F (e.g. 0.01 for a quick run)
  --samples N               timed requests per operation (default 300)
  --pg-url URL              PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
  --database NAME           database to (re)create there (default cairn_bench_meta)
  --work DIR                SQLite file and server data folder (default: the temp dir)
  --reuse                   measure an already seeded database of the same shape (kept by --keep):
                            the server's migrations bring it up to date first
  --keep                    keep the database afterwards
  --cairn DIR               run the server of the Cairn build in DIR (its bin/ and dist/src/) instead
                            of this checkout's: measure before and after a change on one database
`;

const BENCH = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../bench');
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Target {
  url: string;
  /** True when the database already holds the shape's rows. */
  seeded(shape: MetaShape): Promise<boolean>;
  /** Empties it (a fresh database or file) and makes the schema with the app's migrations. */
  recreate(): Promise<void>;
  seed(shape: MetaShape): Promise<SeedReport>;
  drop(): Promise<void>;
}

function postgresTarget(base: string, name: string): Target {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`--database must be a plain lowercase name, got "${name}".`);
  const url = `${base.replace(/\/+$/, '')}/${name}`;
  const admin = async <T>(run: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: `${base.replace(/\/+$/, '')}/postgres` });
    await c.connect();
    try {
      return await run(c);
    } finally {
      await c.end();
    }
  };
  return {
    url,
    async seeded(shape) {
      const exists = await admin(async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
      if (!exists) return false;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const r = await c.query<{ a: string; c: string }>(`select (select count(*) from accounts) as a, (select count(*) from chains) as c`);
        return Number(r.rows[0]!.a) === shape.accounts && Number(r.rows[0]!.c) === shape.chains;
      } catch {
        return false;
      } finally {
        await c.end();
      }
    },
    async recreate() {
      await this.drop();
      await admin((c) => c.query(`create database ${name}`));
      await (await openMetadataStore(url)).close();
    },
    async seed(shape) {
      const db = await postgresSeedDb(url);
      try {
        return await seed(db, shape, log);
      } finally {
        await db.close();
      }
    },
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

function sqliteTarget(file: string): Target {
  return {
    url: file,
    async seeded(shape) {
      if (!(await stat(file).catch(() => null))) return false;
      const db = new Database(file, { readonly: true });
      try {
        const r = db.prepare('select (select count(*) from accounts) as a, (select count(*) from chains) as c').get() as { a: number; c: number };
        return r.a === shape.accounts && r.c === shape.chains;
      } catch {
        return false;
      } finally {
        db.close();
      }
    },
    async recreate() {
      await this.drop();
      await mkdir(join(file, '..'), { recursive: true });
      await (await openMetadataStore(file)).close();
    },
    async seed(shape) {
      const db = await sqliteSeedDb(file);
      try {
        return await seed(db, shape, log);
      } finally {
        await db.close();
      }
    },
    async drop() {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) await rm(f, { force: true });
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: 'string', default: 'postgres' },
      scale: { type: 'string', default: '1' },
      samples: { type: 'string', default: '300' },
      'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432' },
      database: { type: 'string', default: 'cairn_bench_meta' },
      work: { type: 'string' },
      reuse: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      cairn: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const engine = values.engine;
  if (engine !== 'postgres' && engine !== 'sqlite') throw new Error(`--engine must be postgres or sqlite, got "${engine}".`);
  const scale = Number(values.scale);
  const samples = Number(values.samples);
  if (!(scale > 0)) throw new Error(`--scale must be a positive number, got "${values.scale}".`);
  if (!Number.isInteger(samples) || samples < 10) throw new Error(`--samples must be an integer of at least 10, got "${values.samples}".`);
  const shape = shapeFor(engine, scale);
  const work = resolve(values.work ?? join(tmpdir(), 'cairn-bench-metadata'));
  const target = engine === 'postgres' ? postgresTarget(values['pg-url'], values.database) : sqliteTarget(join(work, `cairn-${shape.accounts}-${shape.chains}.db`));
  log(`${engine}: ${shape.accounts} accounts, ${shape.chains} chains of ${shape.pointsPerChain} points, ${shape.shares} shares`);

  let seeding: SeedReport | null = null;
  if (values.reuse && (await target.seeded(shape))) log('reusing the seeded database');
  else {
    log('creating the schema and seeding:');
    await target.recreate();
    seeding = await target.seed(shape);
    log(`seeded in ${seeding.seconds.toFixed(0)} s`);
  }

  const started = performance.now();
  const dataDir = join(work, 'server');
  await mkdir(dataDir, { recursive: true });
  const server = await MetaServer.start(join(resolve(values.cairn ?? ROOT), 'bin', 'cairn.js'), target.url, dataDir);
  const startSeconds = (performance.now() - started) / 1000;
  log(`cairn serve up in ${startSeconds.toFixed(1)} s (migrations included) at ${server.url}`);
  try {
    const results = await measure(server.url, shape, BENCH_PASSWORD, samples, log);
    const rows = results.map(summarize);
    const load = loadavg().map((x) => x.toFixed(1)).join(' ');
    process.stdout.write(`\n${engine}, ${shape.accounts} accounts, ${shape.chains} chains, ${shape.shares} shares${seeding ? `, seeded in ${seeding.seconds.toFixed(0)} s` : ''}; load average after: ${load} (${availableParallelism()} cores)\n\n${formatTable(rows)}\n\n`);
    await mkdir(join(BENCH, 'results'), { recursive: true });
    const file = join(BENCH, 'results', `metadata-${engine}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify({ engine, shape, cairn: values.cairn ?? ROOT, seeding, loadAverage: loadavg(), serverStartSeconds: startSeconds, rows, results }, null, 1));
    log(`results in ${file}`);
  } finally {
    await server.stop();
    if (!values.keep) await target.drop();
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
