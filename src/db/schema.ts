/**
 * The metadata schema, shared by SQLite and PostgreSQL. Times are ISO 8601 text,
 * flags are 0/1 integers and sizes are 64-bit integers, so one set of queries
 * serves both engines.
 */
/** The SQL engine behind the metadata store: the embedded default, or the scale-out one. */
export type Engine = 'sqlite' | 'postgres';

export interface AccountTable {
  id: string;
  email: string;
  password_hash: string;
  parent_id: string | null;
  is_admin: number;
  status: 'active' | 'disabled';
  created_at: string;
  /** What its mails are written in. */
  language: 'zh' | 'en';
  /** An IANA time zone: its backup policies' default. */
  timezone: string;
}

export interface SessionTable {
  token_hash: string;
  account_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

export interface ApiTokenTable {
  id: string;
  account_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  /** 'agent': good only for what `cairn agent` does (src/api/auth.ts); 'full': all the account may do. */
  scope: 'full' | 'agent';
}

/** A QingCloud-style API key: `id` is its access_key_id; the secret is sealed (services/secret-seal.ts). */
export interface AccessKeyTable {
  id: string;
  account_id: string;
  name: string;
  secret_sealed: string;
  status: 'active' | 'disabled';
  created_at: string;
  last_used_at: string | null;
}

export interface ResourceTable {
  id: string;
  account_id: string;
  kind: 'volume' | 'instance';
  name: string;
  agent_id: string | null;
  created_at: string;
}

export interface DiskTable {
  resource_id: string;
  position: number;
  name: string;
  size: number;
}

export interface JobTable {
  id: string;
  account_id: string;
  action: string;
  resource_id: string | null;
  target_id: string | null;
  status: 'pending' | 'working' | 'successful' | 'failed';
  /** Who carries it out: 'server' or an agent ID. */
  runner: string;
  params: string;
  result: string | null;
  progress: number;
  bytes_done: number;
  bytes_total: number;
  error: string | null;
  attempts: number;
  lease_until: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

export interface AgentTable {
  id: string;
  account_id: string;
  name: string;
  last_seen_at: string | null;
  created_at: string;
  /** The Cairn version it said it runs when it last registered. */
  version: string | null;
  /** The API token it last registered with (revoking it stops the agent). */
  token_id: string | null;
}

export interface ChainTable {
  id: string;
  account_id: string;
  resource_id: string;
  name: string;
  description: string;
  status: 'available' | 'deleted';
  head_point_id: string | null;
  created_at: string;
  deleted_at: string | null;
  purge_after: string | null;
  /** 'automatic' when a backup task made it (retention may trim it), 'manual' when made by hand. */
  origin: 'manual' | 'automatic';
}

export interface PointTable {
  id: string;
  chain_id: string;
  account_id: string;
  resource_id: string;
  parent_id: string | null;
  type: 'full' | 'incremental';
  name: string;
  description: string;
  status: 'creating' | 'available' | 'failed' | 'deleted';
  snapshot_at: string;
  logical_size: number;
  stored_bytes: number;
  job_id: string | null;
  created_at: string;
  committed_at: string | null;
  deleted_at: string | null;
  purge_after: string | null;
}

export interface PointDiskTable {
  point_id: string;
  position: number;
  disk_name: string;
  size: number;
  manifest_digest: string | null;
}

export interface ManifestTable {
  digest: string;
  body: Buffer;
  size: number;
  chunk_count: number;
  created_at: string;
}

export interface ChunkTable {
  digest: string;
  /** Uncompressed length: CHUNK_SIZE, or less for a disk's last chunk. */
  size: number;
  stored_size: number;
  touched_at: string;
  created_at: string;
  /** 'pending' until the blob is durable, 'stored', or 'damaged' (quarantined until an upload replaces it); migration 0014. */
  state: ChunkState;
}

export type ChunkState = 'pending' | 'stored' | 'damaged';

export interface AccountChunkTable {
  account_id: string;
  digest: string;
}

/** An open backup: chunks arrive first, the point is made at commit. Its ID becomes the point's. */
export interface UploadTable {
  id: string;
  account_id: string;
  resource_id: string;
  job_id: string;
  requested_type: 'full' | 'incremental';
  name: string;
  description: string;
  /** JSON: [{ position, name, size, manifest_digest | null }] */
  disks: string;
  snapshot_at: string;
  status: 'open' | 'committed' | 'aborted';
  created_at: string;
  expires_at: string;
  /** The client's key for "open this upload", so that asking twice opens it once. */
  request_key: string | null;
}

export interface UploadChunkTable {
  upload_id: string;
  digest: string;
  /** Bytes this upload added to the store (0 when the chunk was already there). */
  stored_bytes: number;
}

export interface GcRunTable {
  id: string;
  started_at: string;
  finished_at: string | null;
  chunks_removed: number;
  bytes_removed: number;
  manifests_removed: number;
  status: 'running' | 'done' | 'failed';
}

export interface ShareTable {
  chain_id: string;
  recipient_id: string;
  owner_id: string;
  note: string;
  expires_at: string | null;
  status: 'active' | 'cancelled' | 'expired' | 'removed';
  created_at: string;
  ended_at: string | null;
  /** What a search of the recipient's Shared backups matches (db/search.ts, shareSearchText). */
  search_text: string;
}

export interface ImageTable {
  id: string;
  account_id: string;
  name: string;
  description: string;
  size: number;
  status: 'pending' | 'available' | 'deleted';
  manifest_digest: string;
  source_point_id: string;
  source_chain_id: string;
  source_resource_id: string;
  source_disk: string;
  /** The chain's owner when the image was made from a share; null for one's own backups. */
  source_owner_id: string | null;
  created_at: string;
  deleted_at: string | null;
}

export interface EventTable {
  id: string;
  type: string;
  chain_id: string | null;
  owner_id: string;
  recipient_id: string | null;
  actor_id: string | null;
  data: string;
  created_at: string;
}

export interface NotificationTable {
  id: string;
  account_id: string;
  event_id: string;
  created_at: string;
  read_at: string | null;
}

/** One row per key (`email:…`, `addr:…`) of a failed or ongoing sign-in (services/login-throttle.ts). */
export interface LoginFailureTable {
  attempt: string;
  key: string;
  failed_at: string;
}

/** An address an account signed in from, and when it last did (sign-in limits, services/accounts.ts). */
export interface KnownAddressTable {
  account_id: string;
  address: string;
  last_ok_at: string;
}

/** A named lease (src/services/lease.ts); `expires_at` is milliseconds of the database's clock. */
export interface LeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** When a periodic housekeeping task last ran on any server, in milliseconds of the database's clock. */
export interface HousekeepingRunTable {
  task: string;
  last_run_at: number;
}

/** A backup policy (备份策略): when runs happen and whom to tell. Lists are JSON text. */
export interface BackupPolicyTable {
  id: string;
  account_id: string;
  name: string;
  repeat: 'repeating' | 'once';
  /** JSON of domain/schedule.ts's Schedule. */
  schedule: string;
  timezone: string;
  anchor_at: string;
  /** JSON: ('success' | 'failure')[] */
  notify_on: string;
  /** JSON: string[] */
  emails: string;
  /** JSON: string[] */
  webhooks: string;
  /** Signs webhook bodies (HMAC-SHA256); shown to the owner only. */
  webhook_secret: string;
  created_at: string;
  updated_at: string;
}

/** A backup task (备份任务): which resources, how, how long to keep; `next_run_at` is what the scheduler claims. */
export interface BackupTaskTable {
  id: string;
  account_id: string;
  name: string;
  policy_id: string;
  backup_type: 'full' | 'incremental';
  chain_length: number;
  /** Automatic chains kept per resource; null keeps them forever. */
  keep_chains: number | null;
  enabled: number;
  run_count: number;
  last_run_at: string | null;
  last_result: 'running' | 'successful' | 'failed' | 'partial' | null;
  next_run_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface BackupTaskResourceTable {
  task_id: string;
  resource_id: string;
}

/** One run of a task: a backup job per resource, settled when they all end. */
export interface BackupRunTable {
  id: string;
  task_id: string;
  account_id: string;
  trigger: 'schedule' | 'manual';
  scheduled_for: string;
  status: 'running' | 'successful' | 'failed' | 'partial';
  created_at: string;
  finished_at: string | null;
}

/** A run's part for one resource: its job, or why there is none (already being backed up, no agent). */
export interface BackupRunItemTable {
  run_id: string;
  resource_id: string;
  job_id: string | null;
  status: 'running' | 'successful' | 'failed' | 'skipped';
  error: string | null;
}

/** One mail or webhook call about a run's end; `body` is sent byte for byte on every attempt, so its signature holds. */
export interface NotificationDeliveryTable {
  id: string;
  account_id: string;
  policy_id: string;
  run_id: string;
  channel: 'webhook' | 'email';
  /** The URL or the mail address. */
  target: string;
  event: 'success' | 'failure';
  /** The mail's subject; empty for a webhook. */
  subject: string;
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string | null;
  response_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

/** How far `cairn admin rekey` got through a table, for the key it moves data to (services/rekey.ts). */
export interface RekeyCursorTable {
  name: string;
  key_id: string;
  /** The last digest (or ID) done; rows after it are still to do. */
  after: string;
  /** 1 once the whole table is under `key_id`. */
  done: number;
  updated_at: string;
}

export interface Database {
  accounts: AccountTable;
  sessions: SessionTable;
  api_tokens: ApiTokenTable;
  access_keys: AccessKeyTable;
  resources: ResourceTable;
  disks: DiskTable;
  jobs: JobTable;
  agents: AgentTable;
  chains: ChainTable;
  points: PointTable;
  point_disks: PointDiskTable;
  manifests: ManifestTable;
  chunks: ChunkTable;
  account_chunks: AccountChunkTable;
  uploads: UploadTable;
  upload_chunks: UploadChunkTable;
  gc_runs: GcRunTable;
  shares: ShareTable;
  images: ImageTable;
  events: EventTable;
  notifications: NotificationTable;
  login_failures: LoginFailureTable;
  known_addresses: KnownAddressTable;
  leases: LeaseTable;
  housekeeping_runs: HousekeepingRunTable;
  backup_policies: BackupPolicyTable;
  backup_tasks: BackupTaskTable;
  backup_task_resources: BackupTaskResourceTable;
  backup_runs: BackupRunTable;
  backup_run_items: BackupRunItemTable;
  notification_deliveries: NotificationDeliveryTable;
  rekey_cursors: RekeyCursorTable;
}
