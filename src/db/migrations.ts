import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import type { Engine } from './schema.js';
import { SEARCH_SEPARATOR, shareSearchText } from './search.js';

/**
 * Versioned migrations, applied in name order on every start. A migration is
 * never edited once released; a change of schema is a new entry here.
 */
function migrations(engine: Engine): Record<string, Migration> {
  const blob = engine === 'postgres' ? 'bytea' : 'blob';
  return {
    '0001_foundation': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text', (c) => c.notNull().unique())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('parent_id', 'text', (c) => c.references('accounts.id'))
          .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('accounts_parent').on('accounts').column('parent_id').execute();
        await db.schema
          .createTable('sessions')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .addColumn('revoked_at', 'text')
          .execute();
        await db.schema.createIndex('api_tokens_account').on('api_tokens').column('account_id').execute();
        await db.schema
          .createTable('agents')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('resources')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('agent_id', 'text', (c) => c.references('agents.id').onDelete('set null'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('resources_account').on('resources').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('disks')
          .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('disks_pk', ['resource_id', 'position'])
          .addUniqueConstraint('disks_name', ['resource_id', 'name'])
          .execute();
        await db.schema
          .createTable('jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('resource_id', 'text')
          .addColumn('target_id', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('runner', 'text', (c) => c.notNull())
          .addColumn('params', 'text', (c) => c.notNull())
          .addColumn('result', 'text')
          .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('bytes_done', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('bytes_total', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('error', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('lease_until', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text')
          .addColumn('finished_at', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('jobs_account').on('jobs').columns(['account_id', 'created_at']).execute();
        await db.schema.createIndex('jobs_queue').on('jobs').columns(['runner', 'status']).execute();
      },
    },
    '0002_backups': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('chains')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('resource_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('head_point_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .addColumn('purge_after', 'text')
          .execute();
        await db.schema.createIndex('chains_account').on('chains').columns(['account_id', 'created_at']).execute();
        await db.schema.createIndex('chains_resource').on('chains').columns(['resource_id', 'created_at']).execute();
        await db.schema
          .createTable('points')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('chain_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('resource_id', 'text', (c) => c.notNull())
          .addColumn('parent_id', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('snapshot_at', 'text', (c) => c.notNull())
          .addColumn('logical_size', 'bigint', (c) => c.notNull())
          .addColumn('stored_bytes', 'bigint', (c) => c.notNull())
          .addColumn('job_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('committed_at', 'text')
          .addColumn('deleted_at', 'text')
          .addColumn('purge_after', 'text')
          .execute();
        await db.schema.createIndex('points_chain').on('points').columns(['chain_id', 'created_at']).execute();
        await db.schema
          .createTable('point_disks')
          .addColumn('point_id', 'text', (c) => c.notNull().references('points.id').onDelete('cascade'))
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('disk_name', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('manifest_digest', 'text')
          .addPrimaryKeyConstraint('point_disks_pk', ['point_id', 'position'])
          .execute();
        await db.schema
          .createTable('manifests')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('body', sql.raw(blob), (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('chunk_count', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('chunks')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('size', 'integer', (c) => c.notNull())
          .addColumn('stored_size', 'integer', (c) => c.notNull())
          .addColumn('touched_at', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('account_chunks')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('digest', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('account_chunks_pk', ['account_id', 'digest'])
          .execute();
        await db.schema.createIndex('account_chunks_digest').on('account_chunks').column('digest').execute();
        await db.schema
          .createTable('uploads')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('resource_id', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('requested_type', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('disks', 'text', (c) => c.notNull())
          .addColumn('snapshot_at', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('uploads_status').on('uploads').columns(['status', 'expires_at']).execute();
        await db.schema
          .createTable('upload_chunks')
          .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
          .addColumn('digest', 'text', (c) => c.notNull())
          .addColumn('stored_bytes', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('upload_chunks_pk', ['upload_id', 'digest'])
          .execute();
        await db.schema
          .createTable('gc_runs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('chunks_removed', 'integer', (c) => c.notNull())
          .addColumn('bytes_removed', 'bigint', (c) => c.notNull())
          .addColumn('manifests_removed', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_sharing': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('shares')
          .addColumn('chain_id', 'text', (c) => c.notNull())
          .addColumn('recipient_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('owner_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('note', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('ended_at', 'text')
          .addPrimaryKeyConstraint('shares_pk', ['chain_id', 'recipient_id'])
          .execute();
        await db.schema.createIndex('shares_recipient').on('shares').columns(['recipient_id', 'status']).execute();
        await db.schema.createIndex('shares_owner').on('shares').columns(['owner_id', 'status']).execute();
        await db.schema
          .createTable('images')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('manifest_digest', 'text', (c) => c.notNull())
          .addColumn('source_point_id', 'text', (c) => c.notNull())
          .addColumn('source_chain_id', 'text', (c) => c.notNull())
          .addColumn('source_resource_id', 'text', (c) => c.notNull())
          .addColumn('source_disk', 'text', (c) => c.notNull())
          .addColumn('source_owner_id', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('deleted_at', 'text')
          .execute();
        await db.schema.createIndex('images_account').on('images').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('chain_id', 'text')
          .addColumn('owner_id', 'text', (c) => c.notNull())
          .addColumn('recipient_id', 'text')
          .addColumn('actor_id', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('events_owner').on('events').columns(['owner_id', 'created_at']).execute();
        await db.schema.createIndex('events_recipient').on('events').columns(['recipient_id', 'created_at']).execute();
        await db.schema
          .createTable('notifications')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('read_at', 'text')
          .execute();
        await db.schema.createIndex('notifications_account').on('notifications').columns(['account_id', 'created_at']).execute();
      },
    },
    // Sign-in throttling moves from each server's memory to the database, so that it holds across servers.
    '0004_login_failures': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('login_failures')
          .addColumn('attempt', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('failed_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('login_failures_pk', ['attempt', 'key'])
          .execute();
        await db.schema.createIndex('login_failures_key').on('login_failures').columns(['key', 'failed_at']).execute();
        await db.schema.createIndex('login_failures_time').on('login_failures').column('failed_at').execute();
      },
    },
    '0005_housekeeping_lease': {
      async up(db: Kysely<unknown>) {
        // Times here are milliseconds of the database's clock (src/db/clock.ts), not ISO text of a server's.
        await db.schema
          .createTable('leases')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('holder', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('housekeeping_runs')
          .addColumn('task', 'text', (c) => c.primaryKey())
          .addColumn('last_run_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // Measured with bench/metadata.ts (docs/performance.md, "Metadata at scale"): each list is read in
    // the order of one index, to the end of its page, and counted from the index where the engine can.
    // The indexes replaced are prefixes of their successors, so nothing that used them loses.
    '0006_list_indexes': {
      async up(db: Kysely<unknown>) {
        const index = (name: string, table: string, columns: string, where = '') => sql.raw(`create index ${name} on ${table} (${columns})${where && ` where ${where}`}`).execute(db);
        const drop = (name: string) => db.schema.dropIndex(name).execute();
        // A chain list: the account's chains of one status, newest first, ties by ID.
        await index('chains_account_list', 'chains', 'account_id, status, created_at desc, id');
        await drop('chains_account');
        // Shared backups: the recipient's live shares, newest first; the expiry is there to tell live ones without the row.
        await index('shares_recipient_list', 'shares', 'recipient_id, status, created_at desc, chain_id, expires_at');
        await drop('shares_recipient');
        // The owner's count of live shares, against the quota, on every share.
        await index('shares_owner_live', 'shares', 'owner_id, status, expires_at');
        await drop('shares_owner');
        // The activity list reads the owner's and the recipient's events apart, newest first, ties by ID.
        await index('events_owner_list', 'events', 'owner_id, created_at, id');
        await drop('events_owner');
        await index('events_recipient_list', 'events', 'recipient_id, created_at, id');
        await drop('events_recipient');
        // Housekeeping asks every few seconds for shares due to expire and recycle-bin entries due to purge:
        // without these, each sweep reads every share, chain and point. None may lead with the status:
        // SQLite, which has no statistics here, took such an index for "the points of this chain that are
        // available" over points_chain (25 s for a page of chains at 100,000). Only deleted rows have a
        // purge time, and any `purge_after < ?` implies the partial index's condition on both engines;
        // the expiry's applies where the planner sees the status asked for (PostgreSQL; SQLite keeps its scan).
        await index('shares_expiry', 'shares', 'expires_at', `status = 'active'`);
        await index('chains_purge', 'chains', 'purge_after', 'purge_after is not null');
        await index('points_purge', 'points', 'purge_after', 'purge_after is not null');
      },
    },
    // A client that lost the answer to "open an upload" (its server died, a balancer gave 502) asks again
    // with the same key and gets the same upload, instead of leaving a second one to expire as a failed job.
    '0007_upload_request_keys': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('uploads').addColumn('request_key', 'text').execute();
        await sql.raw(`create unique index uploads_request_key on uploads (account_id, request_key) where request_key is not null`).execute(db);
      },
    },
    '0008_access_keys': {
      async up(db: Kysely<unknown>) {
        // QingCloud-style API keys (docs/qingcloud-api.md). The secret must be read back to check
        // signatures, so it is kept sealed (services/secret-seal.ts), not hashed like a token.
        await db.schema
          .createTable('access_keys')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('secret_sealed', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('last_used_at', 'text')
          .execute();
        await db.schema.createIndex('access_keys_account').on('access_keys').columns(['account_id', 'created_at']).execute();
        // QingCloud's DescribeSnapshots lists an account's points across its chains, newest first.
        await db.schema.createIndex('points_account_snapshot').on('points').columns(['account_id', 'snapshot_at', 'id']).execute();
      },
    },
    // Backup policies and tasks (docs/tasks.md): when, what, how long to keep, and whom to tell.
    '0009_backup_tasks': {
      async up(db: Kysely<unknown>) {
        // Chains made before tasks existed were all made by hand.
        await db.schema.alterTable('chains').addColumn('origin', 'text', (c) => c.notNull().defaultTo('manual')).execute();
        await db.schema
          .createTable('backup_policies')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('repeat', 'text', (c) => c.notNull())
          .addColumn('schedule', 'text', (c) => c.notNull())
          .addColumn('timezone', 'text', (c) => c.notNull())
          .addColumn('anchor_at', 'text', (c) => c.notNull())
          .addColumn('notify_on', 'text', (c) => c.notNull())
          .addColumn('emails', 'text', (c) => c.notNull())
          .addColumn('webhooks', 'text', (c) => c.notNull())
          .addColumn('webhook_secret', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('backup_policies_account').on('backup_policies').columns(['account_id', 'created_at']).execute();
        await db.schema
          .createTable('backup_tasks')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('policy_id', 'text', (c) => c.notNull().references('backup_policies.id'))
          .addColumn('backup_type', 'text', (c) => c.notNull())
          .addColumn('chain_length', 'integer', (c) => c.notNull())
          .addColumn('keep_chains', 'integer')
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('run_count', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_run_at', 'text')
          .addColumn('last_result', 'text')
          .addColumn('next_run_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('backup_tasks_account').on('backup_tasks').columns(['account_id', 'created_at']).execute();
        await db.schema.createIndex('backup_tasks_policy').on('backup_tasks').column('policy_id').execute();
        // The scheduler asks every round for enabled tasks that are due.
        await db.schema.createIndex('backup_tasks_due').on('backup_tasks').columns(['enabled', 'next_run_at']).execute();
        await db.schema
          .createTable('backup_task_resources')
          .addColumn('task_id', 'text', (c) => c.notNull().references('backup_tasks.id').onDelete('cascade'))
          .addColumn('resource_id', 'text', (c) => c.notNull().references('resources.id').onDelete('cascade'))
          .addPrimaryKeyConstraint('backup_task_resources_pk', ['task_id', 'resource_id'])
          .execute();
        await db.schema.createIndex('backup_task_resources_resource').on('backup_task_resources').column('resource_id').execute();
        await db.schema
          .createTable('backup_runs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('task_id', 'text', (c) => c.notNull().references('backup_tasks.id').onDelete('cascade'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('trigger', 'text', (c) => c.notNull())
          .addColumn('scheduled_for', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .execute();
        await db.schema.createIndex('backup_runs_task').on('backup_runs').columns(['task_id', 'created_at']).execute();
        await db.schema.createIndex('backup_runs_status').on('backup_runs').column('status').execute();
        await db.schema
          .createTable('backup_run_items')
          .addColumn('run_id', 'text', (c) => c.notNull().references('backup_runs.id').onDelete('cascade'))
          .addColumn('resource_id', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addPrimaryKeyConstraint('backup_run_items_pk', ['run_id', 'resource_id'])
          .execute();
        // Every mail and webhook call a run's end makes, kept with its attempts: shown to the owner, retried with backoff.
        await db.schema
          .createTable('notification_deliveries')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('policy_id', 'text', (c) => c.notNull().references('backup_policies.id').onDelete('cascade'))
          .addColumn('run_id', 'text', (c) => c.notNull())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_attempt_at', 'text')
          .addColumn('response_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('delivered_at', 'text')
          .execute();
        await db.schema.createIndex('notification_deliveries_policy').on('notification_deliveries').columns(['policy_id', 'created_at']).execute();
        await db.schema.createIndex('notification_deliveries_due').on('notification_deliveries').columns(['status', 'next_attempt_at']).execute();
      },
    },
    // A recipient's search of Shared backups looked up each share's chain and owner to test the text: 10,000
    // index probes for a recipient of 10,000 shares (0.2–0.4 s; docs/performance.md). The text searched is now
    // kept on the share (search.ts, shareSearchText) and carried by the recipient's list index, so a search
    // reads that index alone. Trigram indexes were tried first: names that share a prefix ("backup-…") make
    // every common trigram's posting list long, and a selective search still took 30–60 ms.
    '0010_share_search_text': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('shares').addColumn('search_text', 'text', (c) => c.notNull().defaultTo('')).execute();
        if (engine === 'postgres') {
          await sql`update shares set search_text = lower(c.name) || ${SEARCH_SEPARATOR} || lower(c.id) || ${SEARCH_SEPARATOR} || lower(c.resource_id) || ${SEARCH_SEPARATOR} || lower(a.email)
                    from chains c join accounts a on a.id = c.account_id where c.id = shares.chain_id`.execute(db);
        } else {
          // SQLite's lower() folds ASCII only: the text is made here as new shares make it (JavaScript's toLowerCase).
          const rows = await sql<{ chain_id: string; recipient_id: string; name: string; resource_id: string; email: string }>`
            select s.chain_id, s.recipient_id, c.name, c.resource_id, a.email from shares s join chains c on c.id = s.chain_id join accounts a on a.id = c.account_id`.execute(db);
          for (const r of rows.rows)
            await sql`update shares set search_text = ${shareSearchText({ id: r.chain_id, name: r.name, resource_id: r.resource_id }, r.email)} where chain_id = ${r.chain_id} and recipient_id = ${r.recipient_id}`.execute(db);
        }
        await db.schema.dropIndex('shares_recipient_list').execute();
        // SQLite has no INCLUDE: there the text is the index's last column, which serves the same.
        const list = 'recipient_id, status, created_at desc, chain_id, expires_at';
        await sql.raw(engine === 'postgres' ? `create index shares_recipient_list on shares (${list}) include (search_text)` : `create index shares_recipient_list on shares (${list}, search_text)`).execute(db);
      },
    },
    // What an account's mails are written in, and the time zone its schedules default to (docs/tasks.md).
    '0011_account_preferences': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('accounts').addColumn('language', 'text', (c) => c.notNull().defaultTo('en')).execute();
        await db.schema.alterTable('accounts').addColumn('timezone', 'text', (c) => c.notNull().defaultTo('UTC')).execute();
      },
    },
    // The activity list's total counts all of a heavy account's events (16,000 as owner, 11,000 as
    // recipient in bench/metadata.ts): each half's condition also reads the other party and the type,
    // so the count fetched every row (16 and 42 ms). Carried by the index, the count reads the index alone.
    '0012_event_list_covering': {
      async up(db: Kysely<unknown>) {
        const covering = (name: string, key: string, carried: string) =>
          sql.raw(engine === 'postgres' ? `create index ${name} on events (${key}) include (${carried})` : `create index ${name} on events (${key}, ${carried})`).execute(db);
        await db.schema.dropIndex('events_owner_list').execute();
        await covering('events_owner_list', 'owner_id, created_at, id', 'recipient_id, type');
        await db.schema.dropIndex('events_recipient_list').execute();
        await covering('events_recipient_list', 'recipient_id, created_at, id', 'owner_id, type');
      },
    },
    // Where `cairn admin rekey` got to (docs/formats.md, "Key rotation"): one row per table it walks.
    '0013_rekey_cursors': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('rekey_cursors')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('key_id', 'text', (c) => c.notNull())
          .addColumn('after', 'text', (c) => c.notNull())
          .addColumn('done', 'integer', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    // A chunk row is written before its blob (so that GC, which locks rows, cannot sweep a blob being
    // written): 'pending' until the blob is durable, 'stored' after, 'damaged' once verify or a read found
    // it damaged or gone (quarantined: "missing" asks for it again and the next upload replaces it).
    // Rows from before were written the old way and count as stored; verify finds any without a blob.
    '0014_chunk_state': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('chunks').addColumn('state', 'text', (c) => c.notNull().defaultTo('stored')).execute();
      },
    },
    // Sign-in limits spare the addresses an account has signed in from (services/accounts.ts, login).
    '0015_known_addresses': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('known_addresses')
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('last_ok_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('known_addresses_pk', ['account_id', 'address'])
          .execute();
      },
    },
    // Tokens made for `cairn agent` may do only an agent's work (src/api/auth.ts); an agent records
    // the version it runs and the token it registered with, so the console can show and revoke it.
    '0016_agent_tokens': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('api_tokens').addColumn('scope', 'text', (c) => c.notNull().defaultTo('full')).execute();
        await db.schema.alterTable('agents').addColumn('version', 'text').execute();
        await db.schema.alterTable('agents').addColumn('token_id', 'text').execute();
      },
    },
  };
}

/** The migrations this build knows, in the order they apply. */
export function migrationNames(engine: Engine): string[] {
  return Object.keys(migrations(engine)).sort();
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly engine: Engine) {}
  async getMigrations() {
    return migrations(this.engine);
  }
}

const MIGRATION_TABLE = 'kysely_migration';

/**
 * Refuses a database that a newer build has migrated: this build would read and
 * write a schema it does not know. Kysely refuses too, but with "corrupted
 * migrations", which reads like damage rather than an old server.
 */
async function refuseNewerSchema(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return;
  const known = new Set(migrationNames(engine));
  const applied = (await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db)).rows.map((r) => r.name).sort();
  const unknown = applied.filter((n) => !known.has(n));
  if (unknown.length === 0) return;
  throw new Error(
    `This Cairn server is older than its database: the database's newest migration is ${applied.at(-1)}, ` +
      `but this build knows migrations up to ${[...known].at(-1)} (it does not know ${unknown.join(', ')}). ` +
      'Upgrade this server to the version the other servers run, then start it again; the database was not changed.',
  );
}

// Any constant of our own, distinct from the one Kysely's Migrator locks inside
// (a session holding one lock while waiting for the same key on another session
// would wait for itself).
const MIGRATION_LOCK_KEY = 0x436169726e; // "Cairn"

/**
 * Migrates to the latest schema, once, however many servers start together.
 * PostgreSQL: a session advisory lock, held on a connection of its own around
 * the check and the Migrator (which takes its own lock only around applying,
 * not around creating its tables). SQLite: Kysely takes no lock and runs each
 * statement on its own, so two processes opening one fresh file would both
 * apply 0001 and the loser could leave half a migration; here the whole run is
 * one BEGIN IMMEDIATE transaction, which a second process waits for
 * (busy_timeout) and then finds the work done. SQLite's DDL is transactional,
 * so a run that fails leaves nothing behind.
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine): Promise<void> {
  if (engine === 'postgres') {
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
      try {
        await refuseNewerSchema(db, engine);
        await migrate(db, engine);
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
      }
    });
    return;
  }
  // One SQLite connection serves the whole Kysely instance, so these statements and the Migrator's share the transaction.
  await sql`begin immediate`.execute(db);
  try {
    await refuseNewerSchema(db, engine);
    await migrate(db, engine);
    await sql`commit`.execute(db);
  } catch (err) {
    await sql`rollback`.execute(db);
    throw err;
  }
}

async function migrate(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticProvider(engine) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (!error && !failed) return;
  const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
  throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${reason}`, { cause: error });
}
