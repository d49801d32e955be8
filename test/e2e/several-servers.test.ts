import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { openMetadataStore } from '../../src/db/connect.js';
import { migrationNames } from '../../src/db/migrations.js';
import { assertRestoresBitExact, cliUser, MiB, overwriteFileData, randomFiles, until, type CliUser } from '../helpers/cli.js';
import { testDatabaseUrl, testEngine, type TestDatabase } from '../helpers/db.js';
import { makeExt4Image, makeTempDir, removeTempDir } from '../helpers/disk-images.js';
import { PASSWORD, randomEmail, type Json } from '../helpers/http.js';
import { startServer, type ServerOptions, type TestServer } from '../helpers/server.js';

// Several `cairn serve` processes on one database (issue 28): one housekeeper at
// a time, migrations run once, an old server refuses a newer schema, and GC on
// one server while another takes backups.

let dir: string;
const servers: TestServer[] = [];
const databases: TestDatabase[] = [];

before(async () => {
  dir = await makeTempDir('cairn-e2e-servers-');
});

after(async () => {
  try {
    for (const s of servers) await s.stop();
    for (const d of databases) await d.drop();
  } finally {
    if (dir) await removeTempDir(dir);
  }
});

async function database(): Promise<TestDatabase> {
  const db = await testDatabaseUrl();
  databases.push(db);
  return db;
}

async function serve(opts: ServerOptions): Promise<TestServer> {
  const s = await startServer(opts);
  servers.push(s);
  return s;
}

/** Opens the database beside the servers (it is migrated already: this changes nothing), runs `fn` and closes it. */
async function withDb<T>(db: TestDatabase, fn: (meta: Awaited<ReturnType<typeof openMetadataStore>>) => Promise<T>): Promise<T> {
  const meta = await openMetadataStore(db.url);
  try {
    return await fn(meta);
  } finally {
    await meta.close();
  }
}

/** The pid of the server holding the housekeeping lease (its holder id is host/pid/random), if any. */
async function housekeeper(db: TestDatabase): Promise<number | undefined> {
  const row = await withDb(db, (meta) => meta.db.selectFrom('leases').select('holder').where('name', '=', 'housekeeping').executeTakeFirst());
  return row ? Number(row.holder.split('/')[1]) : undefined;
}

test('two servers on one database: one holds the housekeeping lease; killed, the other takes it over', async () => {
  const db = await database();
  // A short lease, so the takeover comes in seconds rather than the default 30.
  const args = ['--housekeeping-lease-seconds', '3'];
  const [a, b] = await Promise.all([serve({ database: db, args }), serve({ database: db, args })]);
  const pids = [a.pid, b.pid];
  const first = await until('a server to hold the lease', async () => {
    const pid = await housekeeper(db);
    return pid !== undefined && pids.includes(pid) ? pid : undefined;
  }, 60_000);
  const [holder, other] = first === a.pid ? [a, b] : [b, a];

  const exit = await holder.kill('SIGKILL');
  assert.equal(exit.signal, 'SIGKILL');
  await until('the other server to take the lease over', async () => (await housekeeper(db)) === other.pid, 60_000, 200);
  assert.equal((await fetch(`${other.url}/api/v1/health`)).status, 200, 'the survivor serves on');
  await other.stop();
  assert.equal(await housekeeper(db), undefined, 'a server that stops gives the housekeeping lease up');
});

test('three servers started at once on an empty database all come up, and each migration ran once', async () => {
  const db = await database();
  const started = await Promise.all([0, 1, 2].map(() => serve({ database: db })));
  assert.equal(started.length, 3);
  const rows = await withDb(db, async (meta) => (await sql<{ name: string }>`select name from kysely_migration`.execute(meta.db)).rows);
  assert.deepEqual(rows.map((r) => r.name).sort(), migrationNames(db.engine), 'each migration recorded exactly once');
  for (const s of started) assert.doesNotMatch(s.output(), /migration .*failed|already exists/i);
  await Promise.all(started.map((s) => s.stop()));
});

test('a server older than its database refuses to start, naming both migrations and what to do', async () => {
  const db = await database();
  const future = '9999_from_a_newer_cairn';
  await withDb(db, (meta) => sql`insert into kysely_migration (name, timestamp) values (${future}, ${new Date().toISOString()})`.execute(meta.db));
  const ours = migrationNames(db.engine).at(-1)!;
  await assert.rejects(
    serve({ database: db }),
    (err: Error) => {
      assert.match(err.message, /exited \(code [1-9]\d*, signal null\) before listening/);
      assert.match(err.message, new RegExp(`older than its database: the database's newest migration is ${future}, but this build knows migrations up to ${ours}`));
      assert.match(err.message, /Upgrade this server/);
      return true;
    },
  );
  await assert.rejects(openMetadataStore(db.url), /older than its database/, 'every opener refuses, not only `cairn serve`');
});

test('GC on one server while another takes backups: every committed point restores bit-exact', async (t) => {
  // Several servers need PostgreSQL (docs/deploy.md): two processes writing one SQLite file
  // get "database is locked" at once when a transaction that read must then write.
  if (testEngine() !== 'postgres') return t.skip('several servers taking backups run on PostgreSQL only');
  const db = await database();
  const dataDir = await makeTempDir('cairn-e2e-servers-data-');
  try {
    // One chunk folder (one data dir) and one database: the scale-out layout in miniature. A 1 s grace, so GC has teeth.
    const args = ['--gc-grace-seconds', '1'];
    const adminEmail = randomEmail('admin');
    const [writer, collector] = await Promise.all([
      serve({ database: db, dataDir, args }),
      serve({ database: db, dataDir, args, adminEmail, adminPassword: PASSWORD }),
    ]);
    const user = await cliUser(writer.url, dir, 'writer');
    const admin = await cliUser(collector.url, dir, 'admin', { email: adminEmail, register: false });

    const image = await makeExt4Image(dir, { sizeMiB: 48, files: randomFiles(41, 10, 2 * MiB), seed: 41, name: 'n.img' });
    const volume = async (name: string): Promise<string> => (await user.cli.ok(['resource', 'create', '--kind', 'volume', '--name', name, '--disk', 'root:48M'])).resource.id;
    const points = new Map<string, { user: CliUser; snapshot: string }>();
    const backup = async (vol: string): Promise<string> => {
      const point: Json = (await user.cli.ok(['backup', vol, '--disk', image])).point;
      const snapshot = join(dir, `${point.id}.img`);
      await copyFile(image, snapshot);
      points.set(point.id, { user, snapshot });
      return point.id;
    };

    // Garbage first: a chain backed up, deleted and purged, its chunks past the grace period. Most of
    // them the live backups below need again (GC and re-upload race); one file's worth nothing needs.
    const doomed = await volume('doomed');
    await backup(doomed);
    await overwriteFileData(image, '/data/file-009.bin', { bytes: 2 * MiB, seed: 'gone' });
    const deleted = (await user.cli.ok(['point', 'delete', [...points.keys()][0]!, '--yes'])).deleted;
    await user.cli.ok(['recycle', 'purge', deleted.id, '--yes']);
    points.clear();
    await sleep(1_200);

    // Then the same content again, and changes to it, on the writer while the collector collects without pause.
    let collecting = true;
    const reports: Json[] = [];
    const gcLoop = (async () => {
      while (collecting) reports.push((await admin.cli.ok(['gc'])).report);
    })();
    try {
      const vol = await volume('live');
      await backup(vol);
      for (let i = 0; i < 3; i++) {
        await overwriteFileData(image, `/data/file-00${i}.bin`, { bytes: 256 * 1024, seed: `n${i}` });
        await backup(vol);
      }
    } finally {
      collecting = false;
      await gcLoop;
    }
    reports.push((await admin.cli.ok(['gc'])).report);
    assert.ok(reports.reduce((n, r) => n + r.chunks_removed, 0) > 0, 'the collector collected the purged chain\'s own chunks');

    await assertRestoresBitExact(points, dir);
    const verify = await admin.cli.run(['verify']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.json.report.damaged.length, 0);
    await Promise.all([writer.stop(), collector.stop()]);
  } finally {
    await removeTempDir(dataDir);
  }
});
