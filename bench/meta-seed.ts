import { encodeManifest, manifestDigest } from '../src/format/manifest.js';
import { CHUNK_SIZE } from '../src/format/chunk-codec.js';
import { hashPassword } from '../src/services/passwords.js';
import { SEARCH_SEPARATOR } from '../src/db/search.js';
import { heavyChains, type MetaShape } from './meta-shape.js';
import type { SeedDb } from './meta-sql.js';

/** Every seeded disk is this size; its manifest is all holes, so one manifest row serves every point. */
const DISK_SIZE = 10 * 1024 ** 3;
const FAR_FUTURE = `'2099-01-01T00:00:00.000Z'`;
export const BENCH_PASSWORD = 'bench-password-1';

/** The seeding steps, each one INSERT … SELECT over `bench_series`, in foreign-key order. */
function statements(s: MetaShape, passwordHash: string, digest: string): { table: string; sql: string }[] {
  const { accounts: N, chains: C, shares: S, heavy: H, pointsPerChain: P } = s;
  const heavyResources = heavyChains(s) / 2;
  const id = (prefix: string, n: string) => `'${prefix}-' || bench_b36(${n})`;
  // Twin of meta-shape.ts's resourceOwner.
  const owner = (r: string) => `(case when ${r} < ${heavyResources} then ${r} % ${H} else ${H} + ${r} % ${N - H} end)`;
  // A tenth of the shares go to the heavy recipients H..2H-1; the rest to an account near the owner's.
  const recipient = (j: string) => {
    const heavy = `(${H} + (${j} / 10) % ${H})`;
    return `(case when ${j} % 10 = 0 and ${owner(`${j} / 2`)} <> ${heavy} then ${heavy} else (${owner(`${j} / 2`)} + 1 + ${j} % 97) % ${N} end)`;
  };
  const deleted = (n: string) => `${n} % 100 = 99`;
  const cancelled = (j: string) => `${j} % 20 = 19`;
  const ks = Array.from({ length: P }, (_, k) => `(${k})`).join(', ');
  return [
    {
      table: 'accounts',
      sql: `insert into accounts (id, email, password_hash, parent_id, is_admin, status, created_at)
        select ${id('usr', 'n')}, 'user' || n || '@bench.example', '${passwordHash}', null, 0, 'active', bench_ts(n)
        from bench_series where n < ${N}`,
    },
    {
      table: 'resources',
      sql: `insert into resources (id, account_id, kind, name, agent_id, created_at)
        select ${id('vol', 'n')}, ${id('usr', owner('n'))}, 'volume', 'server-' || n, null, bench_ts(n * 60)
        from bench_series where n < ${C / 2}`,
    },
    {
      table: 'disks',
      sql: `insert into disks (resource_id, position, name, size)
        select ${id('vol', 'n')}, 0, 'root', ${DISK_SIZE} from bench_series where n < ${C / 2}`,
    },
    {
      table: 'chains',
      sql: `insert into chains (id, account_id, resource_id, name, description, status, head_point_id, created_at, deleted_at, purge_after)
        select ${id('ss', `n * ${P}`)}, ${id('usr', owner('n / 2'))}, ${id('vol', 'n / 2')}, 'backup-' || n, '',
          case when ${deleted('n')} then 'deleted' else 'available' end, ${id('ss', `n * ${P} + ${P - 1}`)}, bench_ts(n * 30),
          case when ${deleted('n')} then bench_ts(n * 30 + 3600) end, case when ${deleted('n')} then ${FAR_FUTURE} end
        from bench_series where n < ${C}`,
    },
    {
      table: 'points',
      sql: `insert into points (id, chain_id, account_id, resource_id, parent_id, type, name, description, status, snapshot_at, logical_size, stored_bytes, job_id, created_at, committed_at, deleted_at, purge_after)
        select ${id('ss', `n * ${P} + k.column1`)}, ${id('ss', `n * ${P}`)}, ${id('usr', owner('n / 2'))}, ${id('vol', 'n / 2')},
          case when k.column1 > 0 then ${id('ss', `n * ${P} + k.column1 - 1`)} end, case when k.column1 = 0 then 'full' else 'incremental' end,
          'point-' || k.column1, '', case when ${deleted('n')} then 'deleted' else 'available' end,
          bench_ts(n * 30 + k.column1), ${DISK_SIZE}, case when k.column1 = 0 then 4294967296 else 104857600 end, null,
          bench_ts(n * 30 + k.column1), bench_ts(n * 30 + k.column1),
          case when ${deleted('n')} then bench_ts(n * 30 + 3600) end, case when ${deleted('n')} then ${FAR_FUTURE} end
        from bench_series cross join (values ${ks}) as k where n < ${C}`,
    },
    {
      table: 'point_disks',
      sql: `insert into point_disks (point_id, position, disk_name, size, manifest_digest)
        select ${id('ss', `n * ${P} + k.column1`)}, 0, 'root', ${DISK_SIZE}, '${digest}'
        from bench_series cross join (values ${ks}) as k where n < ${C}`,
    },
    {
      table: 'shares',
      sql: `insert into shares (chain_id, recipient_id, owner_id, note, expires_at, status, created_at, ended_at)
        select ${id('ss', `n * ${P}`)}, ${id('usr', recipient('n'))}, ${id('usr', owner('n / 2'))}, '',
          case when n % 5 = 1 then ${FAR_FUTURE} end, case when ${cancelled('n')} then 'cancelled' else 'active' end,
          bench_ts(n * 30 + 15), case when ${cancelled('n')} then bench_ts(n * 30 + 20) end
        from bench_series where n < ${S}`,
    },
    {
      // What the app keeps on each share for its recipient's search (src/db/search.ts, shareSearchText).
      table: 'shares (search text)',
      sql: `update shares set search_text = (select lower(c.name) || '${SEARCH_SEPARATOR}' || lower(c.id) || '${SEARCH_SEPARATOR}' || lower(c.resource_id) || '${SEARCH_SEPARATOR}' || lower(a.email)
        from chains c join accounts a on a.id = c.account_id where c.id = shares.chain_id)`,
    },
    {
      table: 'events (share.created)',
      sql: `insert into events (id, type, chain_id, owner_id, recipient_id, actor_id, data, created_at)
        select ${id('ev', 'n * 2')}, 'share.created', ${id('ss', `n * ${P}`)}, ${id('usr', owner('n / 2'))}, ${id('usr', recipient('n'))}, ${id('usr', owner('n / 2'))},
          '{"chain_name":"backup-' || n || '","note":"","expires_at":' || case when n % 5 = 1 then '"2099-01-01T00:00:00.000Z"' else 'null' end || '}',
          bench_ts(n * 30 + 15)
        from bench_series where n < ${S}`,
    },
    {
      table: 'events (share.cancelled)',
      sql: `insert into events (id, type, chain_id, owner_id, recipient_id, actor_id, data, created_at)
        select ${id('ev', 'n * 2 + 1')}, 'share.cancelled', ${id('ss', `n * ${P}`)}, ${id('usr', owner('n / 2'))}, ${id('usr', recipient('n'))}, ${id('usr', owner('n / 2'))},
          '{"chain_name":"backup-' || n || '"}', bench_ts(n * 30 + 20)
        from bench_series where n < ${S} and ${cancelled('n')}`,
    },
    {
      table: 'events (chain.deleted)',
      sql: `insert into events (id, type, chain_id, owner_id, recipient_id, actor_id, data, created_at)
        select ${id('ev', `${2 * S} + n`)}, 'chain.deleted', ${id('ss', `n * ${P}`)}, ${id('usr', owner('n / 2'))}, null, ${id('usr', owner('n / 2'))},
          '{"chain_name":"backup-' || n || '"}', bench_ts(n * 30 + 3600)
        from bench_series where n < ${C} and ${deleted('n')}`,
    },
  ];
}

export interface SeedReport {
  seconds: number;
  steps: { table: string; seconds: number }[];
}

/** Fills a freshly migrated, empty database with the shape's rows. */
export async function seed(db: SeedDb, shape: MetaShape, log: (line: string) => void): Promise<SeedReport> {
  const started = performance.now();
  const steps: SeedReport['steps'] = [];
  const step = async (table: string, run: () => Promise<void>) => {
    const t = performance.now();
    await run();
    const seconds = (performance.now() - t) / 1000;
    steps.push({ table, seconds });
    log(`  ${table}: ${seconds.toFixed(1)} s`);
  };
  // One real scrypt hash serves every account: hashing 100,000 passwords would take longer than the rest of the seed.
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const body = encodeManifest({ size: DISK_SIZE, chunkSize: CHUNK_SIZE, chunks: new Array<null>(DISK_SIZE / CHUNK_SIZE).fill(null) });
  const digest = manifestDigest(body);
  await step('bench_series', () => db.series(Math.max(shape.accounts, shape.chains, shape.shares)));
  await step('manifests', () => db.insert('manifests', { digest, body, size: DISK_SIZE, chunk_count: DISK_SIZE / CHUNK_SIZE, created_at: new Date().toISOString() }));
  for (const st of statements(shape, passwordHash, digest)) await step(st.table, () => db.exec(st.sql));
  await step('finish (vacuum analyze / commit)', () => db.finish());
  return { seconds: (performance.now() - started) / 1000, steps };
}
