import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config } from './config.js';
import { openMetadataStore } from './db/connect.js';
import { buildServer, type App } from './api/server.js';
import { createServices, type ServiceSettings, type Services } from './services/index.js';
import { LocalChunkStore } from './store/local-store.js';
import type { ChunkStore } from './store/chunk-store.js';
import { EncryptingChunkStore } from './store/encrypting-store.js';
import { readMasterKeys } from './store/master-key.js';
import { rekey, type RekeyReport } from './services/rekey.js';
import { createChunkPool } from './compute/native-pool.js';
import { BATCHES_IN_FLIGHT, BLOB_SLOT, MAX_READ_CHUNKS } from './wire/chunk-batch.js';
import { BufferRecycler } from './compute/buffer-recycler.js';
import { DIRECT_IO_ALIGNMENT } from './io/disk-io.js';
import type { ChunkPool } from './compute/chunk-pool.js';
import { VERSION } from './version.js';
import { blake3Implementation } from './format/chunk-hash.js';
import { runtimeTricks } from './runtime/index.js';
import { RowLease } from './services/lease.js';
import { Housekeeping, housekeepingTasks } from './services/housekeeping.js';
import { readTlsFiles, reloadTls } from './api/tls.js';
import type { Server as HttpsServer } from 'node:https';

export interface Running {
  app: App;
  services: Services;
  url: string;
  /** Reads the TLS certificate and key files again for new connections (SIGHUP); false without TLS. A bad pair throws and the old one stays. */
  reloadTls(): boolean;
  close(): Promise<void>;
}

export function settingsOf(config: Config): ServiceSettings {
  return {
    openRegistration: config.openRegistration,
    chainMaxLength: config.chainMaxLength,
    recycleBinMs: config.recycleBinMs,
    gcGraceMs: config.gcGraceMs,
    uploadIdleMs: config.uploadIdleMs,
    maxRecipientsPerChain: config.maxRecipientsPerChain,
    maxSharesPerAccount: config.maxSharesPerAccount,
    smtp: config.smtp,
    notifyRetryBaseMs: 30_000,
    masterKeys: config.masterKeyFile ? readMasterKeys(config.masterKeyFile) : null,
  };
}

/**
 * The slots every chunk blob the server receives or sends sits in, one blob to
 * a slot, reused across requests: a buffer per request held 229–248 MB at a
 * restore's peak (8 GiB benchmark disk). Shared, so the chunk pool verifies
 * blobs in place; aligned, so the store reads and writes them around the page
 * cache; sixteen kept, what three batches of four in flight hold with room.
 */
export function blobSlotPool(): BufferRecycler {
  return new BufferRecycler(BLOB_SLOT, { shared: true, keep: 16, align: DIRECT_IO_ALIGNMENT });
}

/** The chunk store the configuration names: a bucket (checked before anything starts) or the folder. */
export async function openChunkStore(config: Config): Promise<ChunkStore> {
  if (!config.s3) return new LocalChunkStore(config.chunkDir);
  // Loaded only for a bucket: the AWS SDK took 12 MB of an idle folder-store server's memory.
  const { S3ChunkStore } = await import('./store/s3-store.js');
  return S3ChunkStore.open(config.s3);
}

/** Opens the stores named by the configuration and wires the services to them. */
export async function openServices(config: Config, pool?: ChunkPool, blobSlots = blobSlotPool()): Promise<Services> {
  mkdirSync(config.dataDir, { recursive: true });
  const settings = settingsOf(config);
  const plain = await openChunkStore(config);
  // Without a master key the store is used as it is: the data path stays exactly what it was.
  const chunks = settings.masterKeys ? new EncryptingChunkStore(plain, settings.masterKeys, blobSlots) : plain;
  const meta = await openMetadataStore(config.databaseUrl);
  return createServices(meta, chunks, blobSlots, settings, pool);
}

/** Names this process in the `leases` table and the logs: the host and pid for people, random bytes so a reused pid is not mistaken for its predecessor. */
function serverId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
}

/** The composition root: one metadata store, one chunk store, the services, the HTTP server and the background loops. */
export async function startServer(config: Config): Promise<Running> {
  const pool = createChunkPool();
  const blobSlots = blobSlotPool();
  // Read and checked before anything opens: a bad certificate or key stops the start with its reason.
  const tls = config.tls ? readTlsFiles(config.tls) : null;
  const services = await openServices(config, pool, blobSlots);
  const meta = services.meta;
  if (config.adminEmail) await services.accounts.ensureAdmin(config.adminEmail, process.env.CAIRN_ADMIN_PASSWORD);
  const app = await buildServer(services, { logLevel: config.logLevel, version: VERSION, engine: meta.engine, webDir: config.webDir, trustProxy: config.trustProxy, blobSlots, tls });
  if (tls) app.log.info({ certificate: tls.summary }, 'serving HTTPS');
  if (blake3Implementation !== 'native') {
    app.log.warn('chunks are hashed with BLAKE3 in WebAssembly, about ten times slower than native: install librust-blake3-dev (Debian) and run `npm run install` to build it');
  }
  app.log.info({ runtime: await runtimeTricks() }, 'Node, V8 and C library tricks checked');

  const lease = new RowLease(meta.db, meta.engine, 'housekeeping', serverId(), config.housekeepingLeaseMs);
  const housekeeping = new Housekeeping(meta.db, meta.engine, lease, housekeepingTasks(services, config, app.log), app.log, Math.min(5_000, config.housekeepingLeaseMs / 5));
  await housekeeping.start();

  // Faulted in before the first backup, not on its main thread: page faults took
  // 10% of a fresh server's time, and a prefilled one was faster in 7 of 8 pairs.
  blobSlots.prefill(BATCHES_IN_FLIGHT * MAX_READ_CHUNKS);
  await app.listen({ host: config.host, port: config.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let closed = false;
  return {
    app,
    services,
    url,
    reloadTls() {
      if (!config.tls) return false;
      const { summary } = reloadTls(app.server as HttpsServer, config.tls);
      app.log.info({ certificate: summary }, 'TLS certificate reloaded; open connections keep the one they started with');
      return true;
    },
    async close() {
      if (closed) return;
      closed = true;
      await housekeeping.stop();
      await app.close();
      await meta.close();
      await pool.close();
    },
  };
}

export { addMasterKey } from './store/master-key.js';

/** `cairn admin rekey`: everything at rest moved to the newest master key (services/rekey.ts). */
export async function rekeyStore(config: Config, opts: Parameters<typeof rekey>[3] = {}): Promise<RekeyReport> {
  if (!config.masterKeyFile) throw new Error('Re-keying needs the master key file: pass --master-key-file FILE (CAIRN_MASTER_KEY_FILE), holding the new key last and the old ones before it.');
  const services = await openServices(config);
  try {
    return await rekey(services.meta.db, services.store as EncryptingChunkStore, services.settings.masterKeys!, opts);
  } finally {
    await services.meta.close();
  }
}
