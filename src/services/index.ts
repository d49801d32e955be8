import type { MetadataStore } from '../db/connect.js';
import type { ChunkStore } from '../store/chunk-store.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import type { BufferRecycler } from '../compute/buffer-recycler.js';
import { Access } from './access.js';
import { AccessKeysService } from './access-keys.js';
import { AccountsService } from './accounts.js';
import { AgentsService } from './agents.js';
import { BackupDataService } from './backup-data.js';
import { ChainsService } from './chains.js';
import { GarbageCollector } from './gc.js';
import { JobsService } from './jobs.js';
import { EventsService } from './events.js';
import { FilesService } from './files.js';
import { ImagesService } from './images.js';
import { ResourcesService } from './resources.js';
import { SharesService } from './shares.js';
import { UploadsService } from './uploads.js';
import { BackupPoliciesService } from './backup-policies.js';
import { BackupScheduler } from './backup-scheduler.js';
import { BackupTasksService } from './backup-tasks.js';
import { BackupNotifier } from './backup-notifier.js';
import { smtpMailer, type SmtpSettings } from './mailer.js';
import type { MasterKeys } from '../store/master-key.js';

export interface ServiceSettings {
  openRegistration: boolean;
  chainMaxLength: number;
  recycleBinMs: number;
  gcGraceMs: number;
  uploadIdleMs: number;
  maxRecipientsPerChain: number;
  maxSharesPerAccount: number;
  /** Mail for backup policies' recipients; null sends none. */
  smtp: SmtpSettings | null;
  /** The wait before a failed notification is tried again; it grows fourfold each time. */
  notifyRetryBaseMs: number;
  /** Chunks, manifests and recoverable secrets are sealed under these at rest (docs/formats.md); null: not encrypted. */
  masterKeys?: MasterKeys | null;
}

export const DEFAULT_SETTINGS: ServiceSettings = {
  openRegistration: true,
  chainMaxLength: 30,
  recycleBinMs: 2 * 3600_000,
  gcGraceMs: 300_000,
  uploadIdleMs: 120_000,
  maxRecipientsPerChain: 100,
  maxSharesPerAccount: 10_000,
  smtp: null,
  notifyRetryBaseMs: 30_000,
};

/**
 * The use cases, wired to one metadata store and one chunk store, with the
 * slots chunk blobs are read into (blobSlotPool in app.ts). The API and the
 * local CLI commands both use this.
 */
export function createServices(
  meta: MetadataStore,
  store: ChunkStore,
  blobSlots: BufferRecycler,
  settings: ServiceSettings = DEFAULT_SETTINGS,
  pool?: ChunkPool,
  /** What "now" is to the backup schedules; tests pass their own. */
  clock: () => Date = () => new Date(),
) {
  const db = meta.db;
  const access = new Access(db);
  const jobs = new JobsService(db, access);
  const events = new EventsService(db);
  const chains = new ChainsService(db, access, events, settings);
  const shares = new SharesService(db, access, chains, events, settings);
  const data = new BackupDataService(db, store, access, blobSlots, settings.masterKeys);
  const images = new ImagesService(db, access, data, events);
  const gc = new GarbageCollector(db, store, settings, access);
  gc.addManifestReferences((among) => images.liveManifests(among));
  const scheduler = new BackupScheduler(db, access, chains, clock);
  const notifier = new BackupNotifier(db, access, settings.smtp ? smtpMailer(settings.smtp) : null, { retryBaseMs: settings.notifyRetryBaseMs, masterKeys: settings.masterKeys }, clock);
  scheduler.onRunFinished(notifier);
  return {
    meta,
    store,
    settings,
    access,
    jobs,
    chains,
    accounts: new AccountsService(db, access, { openRegistration: settings.openRegistration }),
    accessKeys: new AccessKeysService(db, settings.masterKeys),
    resources: new ResourcesService(db, access),
    uploads: new UploadsService(db, store, access, jobs, { chainMaxLength: settings.chainMaxLength, idleMs: settings.uploadIdleMs, masterKeys: settings.masterKeys }, pool),
    data,
    agents: new AgentsService(db, access, jobs, chains),
    gc,
    events,
    shares,
    images,
    policies: new BackupPoliciesService(db, access, clock, settings.masterKeys),
    tasks: new BackupTasksService(db, access, scheduler, settings, clock),
    scheduler,
    notifier,
    files: new FilesService(db, data, images, pool),
  };
}

export type Services = ReturnType<typeof createServices>;
