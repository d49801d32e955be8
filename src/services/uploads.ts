import type { Db } from '../db/connect.js';
import type { ChainTable, PointTable, UploadTable } from '../db/schema.js';
import { isUniqueViolation } from '../db/engine-errors.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, CairnError, conflict, notFound, tooLarge } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { checkName } from '../domain/rules.js';
import { isoPlus, nowIso } from '../domain/time.js';
import { placePoint } from '../domain/chain-rules.js';
import { ChunkIntegrityError, isDigest, MAX_BLOB_SIZE, verifyChunk } from '../format/chunk-codec.js';
import { settleAll } from '../compute/concurrency.js';
import { chunkLength, decodeManifest, manifestDigest, ManifestFormatError, type Manifest } from '../format/manifest.js';
import { StoreFullError, StoreUnavailableError, type ChunkStore } from '../store/chunk-store.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import type { Access } from './access.js';
import type { JobsService } from './jobs.js';
import { inBatches, mapLimit } from './batches.js';
import type { BatchChunkView, ChunkStoredView, UploadDisk, UploadView } from '../contract/index.js';
import { storeUnavailable, withStore } from './store-errors.js';
import { backupJobOfTask } from './backup-job-params.js';
import { quarantineChunks } from './chunk-quarantine.js';
import { openManifest, sealManifest } from './sealed-manifests.js';
import type { MasterKeys } from '../store/master-key.js';

export interface UploadSettings {
  chainMaxLength: number;
  /** An upload with no request for this long is abandoned (its job fails, its chunks are no longer held). */
  idleMs: number;
  masterKeys?: MasterKeys | null;
}

const MAX_MISSING_BATCH = 1024;

/** A blob proven to hold chunk `digest`, of `size` bytes uncompressed. */
interface VerifiedChunk {
  digest: string;
  size: number;
  blob: Buffer;
}

/**
 * The uncompressed length each chunk of `manifest` must have: a whole chunk,
 * but the last slot of a disk whose size is not a multiple of it is shorter.
 * A chunk named in slots of two lengths cannot fit both: refused here.
 */
function slotLengths(manifest: Manifest, diskName: string): Map<string, number> {
  const out = new Map<string, number>();
  manifest.chunks.forEach((digest, i) => {
    if (digest === null) return;
    const length = chunkLength(manifest, i);
    const earlier = out.get(digest);
    if (earlier !== undefined && earlier !== length)
      throw badRequest(`The manifest of disk "${diskName}" names chunk ${digest} in places of ${earlier} and ${length} bytes; one chunk cannot fill both. Nothing was committed.`, 'manifest');
    out.set(digest, length);
  });
  return out;
}

const view = (u: UploadTable): UploadView => ({
  id: u.id,
  job_id: u.job_id,
  resource_id: u.resource_id,
  requested_type: u.requested_type,
  disks: JSON.parse(u.disks) as UploadDisk[],
  snapshot_at: u.snapshot_at,
  status: u.status,
  expires_at: u.expires_at,
});

/**
 * The server side of the upload protocol (docs/upload-protocol.md): open an
 * upload, ask which chunks are missing, send them, send each disk's manifest,
 * commit. Only the commit makes a point, in one transaction, after checking that
 * every chunk it names is stored; until then nothing is visible.
 */
export class UploadsService {
  constructor(
    private readonly db: Db,
    private readonly store: ChunkStore,
    private readonly access: Access,
    private readonly jobs: JobsService,
    private readonly settings: UploadSettings,
    /** Verifying a blob (decompress + hash) is CPU work kept off the event loop. */
    private readonly pool?: ChunkPool,
  ) {}

  async open(
    caller: Caller,
    input: { resource_id: string; type: 'full' | 'incremental'; name?: string; description?: string; job_id?: string; request_key?: string; disks: { name: string; size: number }[] },
  ): Promise<UploadView> {
    const resource = await this.access.resource(caller, input.resource_id, 'write');
    const asked = input.request_key ? await this.byRequestKey(caller, input.request_key, resource.id) : undefined;
    if (asked) return view(asked);
    const disks = await this.db.selectFrom('disks').selectAll().where('resource_id', '=', resource.id).orderBy('position').execute();
    if (input.disks.length !== disks.length)
      throw badRequest(`Resource ${resource.id} has ${disks.length} disk(s) (${disks.map((d) => d.name).join(', ')}); send all of them in one backup.`, 'disks');
    const declared = new Map(input.disks.map((d) => [d.name, d.size]));
    for (const d of disks) {
      const size = declared.get(d.name);
      if (size === undefined) throw badRequest(`Disk "${d.name}" of ${resource.id} is missing from the backup request.`, 'disks');
      if (size !== d.size)
        throw badRequest(
          `Disk "${d.name}" is ${size} bytes now but was registered as ${d.size} bytes; its size changed. Register the new size (or a new resource) before backing it up.`,
          'disks',
        );
    }
    const now = nowIso();
    const id = newId('point');
    let jobId = input.job_id;
    if (jobId) {
      // An agent carrying out a "backup now" job reports on that job.
      const job = await this.access.job(caller, jobId);
      if (job.action !== 'backup' || job.resource_id !== resource.id || job.status !== 'working')
        throw conflict(`Job ${jobId} is not a running backup of ${resource.id}.`);
    } else {
      jobId = (await this.jobs.create({ accountId: caller.accountId, action: 'backup', runner: 'client', resourceId: resource.id, targetId: id, status: 'working', leaseMs: this.settings.idleMs, params: { type: input.type } })).id;
    }
    const row: UploadTable = {
      id,
      account_id: caller.accountId,
      resource_id: resource.id,
      job_id: jobId,
      requested_type: input.type,
      name: input.name ? checkName(input.name) : '',
      description: input.description ?? '',
      disks: JSON.stringify(disks.map((d): UploadDisk => ({ position: d.position, name: d.name, size: d.size, manifest_digest: null }))),
      snapshot_at: now,
      status: 'open',
      created_at: now,
      expires_at: isoPlus(now, this.settings.idleMs),
      request_key: input.request_key ?? null,
    };
    try {
      await this.db.insertInto('uploads').values(row).execute();
    } catch (err) {
      // The same request, retried while the first was still being served (a balancer's timeout): one upload wins.
      const first = input.request_key && isUniqueViolation(err) ? await this.byRequestKey(caller, input.request_key, resource.id) : undefined;
      if (!first) throw err;
      if (jobId !== input.job_id) await this.jobs.fail(jobId, `A retried request opened upload ${first.id} for this backup; this one was not used.`);
      return view(first);
    }
    await this.jobs.progress(jobId, { bytesDone: 0, bytesTotal: disks.reduce((n, d) => n + d.size, 0), leaseMs: this.settings.idleMs });
    return view(row);
  }

  /** The upload this caller already opened with `key`; a key is one backup of one resource. */
  private async byRequestKey(caller: Caller, key: string, resourceId: string): Promise<UploadTable | undefined> {
    const row = await this.db.selectFrom('uploads').selectAll().where('account_id', '=', caller.accountId).where('request_key', '=', key).executeTakeFirst();
    if (row && row.resource_id !== resourceId)
      throw conflict(`Request key "${key}" already opened upload ${row.id} of ${row.resource_id}; use a new key for each backup.`, 'request_key_reused');
    return row;
  }

  async get(caller: Caller, id: string): Promise<UploadView> {
    return view(await this.openUpload(caller, id, false));
  }

  /** Which of `digests` the client must send. "Have" is answered only for chunks this account already holds. */
  async missing(caller: Caller, id: string, digests: string[]): Promise<string[]> {
    const upload = await this.openUpload(caller, id);
    if (digests.length > MAX_MISSING_BATCH) throw tooLarge(`Ask about at most ${MAX_MISSING_BATCH} digests at a time.`);
    const wanted = [...new Set(digests)];
    wanted.forEach((d, i) => {
      if (!isDigest(d)) throw badRequest(`"${d}" is not a chunk digest (64 lowercase hex characters).`, `digests.${i}`);
    });
    if (wanted.length === 0) return [];
    const known = (
      await this.db.selectFrom('account_chunks').select('digest').where('account_id', '=', caller.accountId).where('digest', 'in', wanted).execute()
    ).map((r) => r.digest);
    let held: string[] = [];
    if (known.length > 0) {
      const now = nowIso();
      // Touching the chunk rows first is what keeps a concurrent GC from sweeping them (see gc.ts).
      held = await this.db.transaction().execute(async (tx) => {
        // Only a stored blob is had: a pending row (its upload died before the blob was durable) or a
        // quarantined one (damaged) is asked for again, and its next upload stores it.
        const touched = (
          await tx.updateTable('chunks').set({ touched_at: now }).where('digest', 'in', known).where('state', '=', 'stored').returning('digest').execute()
        ).map((r) => r.digest);
        if (touched.length > 0)
          await tx
            .insertInto('upload_chunks')
            .values(touched.map((digest) => ({ upload_id: upload.id, digest, stored_bytes: 0 })))
            .onConflict((oc) => oc.columns(['upload_id', 'digest']).doNothing())
            .execute();
        return touched;
      });
      // A row whose blob is gone (removed by hand, or lost by the disk) must not be trusted: the client
      // sends it again, and until then it is quarantined, so that no commit names it.
      const present = await withStore(() => mapLimit(held, 16, async (d) => ((await this.store.head(d)) ? d : null)));
      const gone = held.filter((d, i) => present[i] === null);
      if (gone.length) await quarantineChunks(this.db, gone);
      held = present.filter((d): d is string => d !== null);
    }
    const have = new Set(held);
    return wanted.filter((d) => !have.has(d));
  }

  /** Verifies and stores one chunk blob. */
  async putChunk(caller: Caller, id: string, digest: string, blob: Buffer): Promise<ChunkStoredView> {
    const [answer] = await this.putChunks(caller, id, [{ digest, blob }]);
    return { stored: answer!.stored };
  }

  /**
   * Stores several chunks of an upload: all are verified before anything is
   * recorded, so one bad blob refuses the request and stores none of them.
   * `stored` says whether THIS account lacked the chunk before: whether the
   * store already had it from another tenant must not show.
   */
  async putChunks(caller: Caller, id: string, chunks: { digest: string; blob: Buffer }[]): Promise<BatchChunkView[]> {
    const upload = await this.openUpload(caller, id);
    const seen = new Set<string>();
    for (const { digest, blob } of chunks) {
      if (!isDigest(digest)) throw badRequest(`"${digest}" is not a chunk digest (64 lowercase hex characters).`, 'digest');
      if (seen.has(digest)) throw badRequest(`Chunk ${digest} is listed twice; send each chunk once.`, 'digest');
      seen.add(digest);
      if (blob.length > MAX_BLOB_SIZE) throw tooLarge(`A chunk blob is at most ${MAX_BLOB_SIZE} bytes.`);
    }
    // The caller reuses the request's memory once this returns: every
    // verification, and every write below, settles before an error is thrown.
    const verified = await settleAll(chunks.map(({ digest, blob }) => this.verified(digest, blob)));
    if (verified.length === 0) return [];
    const digests = verified.map((v) => v.digest);
    const now = nowIso();
    const { had, healing } = await this.db.transaction().execute(async (tx) => {
      const rows = await tx.selectFrom('account_chunks').select('digest').where('account_id', '=', caller.accountId).where('digest', 'in', digests).execute();
      const had = new Set(rows.map((r) => r.digest));
      // A quarantined chunk is replaced by one upload: the row lock lets one request take it.
      const healing = new Set(
        (await tx.updateTable('chunks').set({ state: 'pending', touched_at: now }).where('digest', 'in', digests).where('state', '=', 'damaged').returning('digest').execute()).map((r) => r.digest),
      );
      // The row comes first (the touch that keeps GC away, see gc.ts) and says 'pending' until the blob is durable.
      await tx
        .insertInto('chunks')
        .values(verified.map(({ digest, size, blob }) => ({ digest, size, stored_size: blob.length, touched_at: now, created_at: now, state: 'pending' as const })))
        .onConflict((oc) => oc.column('digest').doUpdateSet({ touched_at: now }))
        .execute();
      await tx
        .insertInto('upload_chunks')
        .values(verified.map(({ digest, blob }) => ({ upload_id: upload.id, digest, stored_bytes: had.has(digest) ? 0 : blob.length })))
        .onConflict((oc) => oc.columns(['upload_id', 'digest']).doNothing())
        .execute();
      await tx
        .insertInto('account_chunks')
        .values(digests.map((digest) => ({ account_id: caller.accountId, digest })))
        .onConflict((oc) => oc.columns(['account_id', 'digest']).doNothing())
        .execute();
      return { had, healing };
    });
    try {
      await settleAll(verified.map(({ digest, blob }) => this.storeBlob(digest, blob, had.has(digest), healing.has(digest))));
    } catch (err) {
      if (err instanceof StoreFullError) throw new CairnError(507, 'storage_full', err.message);
      if (err instanceof StoreUnavailableError) throw storeUnavailable(err);
      throw err;
    }
    // Every blob is durable: only now do the rows say so (a crash before leaves them pending, asked for
    // again). Rows already stored are written too, so that this costs the same (a write, and on
    // PostgreSQL its WAL flush) whether or not another account stored the chunk; one that verify
    // quarantined meanwhile stays so.
    await this.db.updateTable('chunks').set({ state: 'stored' }).where('digest', 'in', digests).where('state', '!=', 'damaged').execute();
    return digests.map((digest) => ({ digest, stored: !had.has(digest) || healing.has(digest) }));
  }

  /**
   * Stores one verified blob. A chunk new to this account costs a durable
   * write whether or not another account stored it (store.replace), so the answer's
   * time does not tell (docs/upload-protocol.md); a quarantined one is replaced the
   * same way, atomically; one the account already had is written only if its blob is gone.
   */
  private async storeBlob(digest: string, blob: Buffer, had: boolean, healing: boolean): Promise<void> {
    if (had && !healing) await this.store.putIfAbsent(digest, blob);
    else await this.store.replace(digest, blob);
  }

  /** Proves `blob` holds the chunk `digest`; the blob that comes back is the one to keep using. */
  private async verified(digest: string, blob: Buffer): Promise<VerifiedChunk> {
    try {
      if (!this.pool) return { digest, size: verifyChunk(blob, digest), blob };
      // The pool may move the blob (to a worker thread and back); only the view that comes back is ours.
      const { length, blob: back } = await this.pool.verify(blob, digest);
      return { digest, size: length, blob: back };
    } catch (err) {
      if (err instanceof ChunkIntegrityError) throw new CairnError(400, 'chunk_corrupt', `Chunk ${digest} was rejected: ${err.message}. Nothing was stored; send it again.`);
      throw err;
    }
  }

  /** Stores one disk's manifest (binary, docs/formats.md) for the upload. */
  async putManifest(caller: Caller, id: string, diskName: string, body: Buffer): Promise<UploadDisk> {
    const upload = await this.openUpload(caller, id);
    const disks = JSON.parse(upload.disks) as UploadDisk[];
    const disk = disks.find((d) => d.name === diskName);
    if (!disk) throw notFound('Disk', diskName);
    let manifest;
    try {
      manifest = decodeManifest(body);
    } catch (err) {
      if (err instanceof ManifestFormatError) throw badRequest(`The manifest of disk "${diskName}" is malformed: ${err.message}`, 'manifest');
      throw err;
    }
    if (manifest.size !== disk.size) throw badRequest(`The manifest of disk "${diskName}" describes ${manifest.size} bytes, but the disk has ${disk.size}.`, 'manifest');
    const digest = manifestDigest(body);
    await this.db
      .insertInto('manifests')
      .values({ digest, body: sealManifest(this.settings.masterKeys, digest, body), size: manifest.size, chunk_count: manifest.chunks.length, created_at: nowIso() })
      .onConflict((oc) => oc.column('digest').doNothing())
      .execute();
    disk.manifest_digest = digest;
    await this.db.updateTable('uploads').set({ disks: JSON.stringify(disks) }).where('id', '=', upload.id).where('status', '=', 'open').execute();
    return disk;
  }

  async progress(caller: Caller, id: string, p: { bytes_done: number }): Promise<void> {
    const upload = await this.openUpload(caller, id);
    await this.jobs.progress(upload.job_id, { bytesDone: p.bytes_done, leaseMs: this.settings.idleMs });
  }

  /** Makes the point: all or nothing. */
  async commit(caller: Caller, id: string): Promise<{ point: PointTable; chain: ChainTable }> {
    // Committing again what is committed answers with the point it made: a client whose server died
    // before the answer reached it asks again (through another server) and learns the outcome.
    const upload = await this.openUpload(caller, id, false);
    const earlier = await this.committed(upload);
    if (earlier) return earlier;
    try {
      return await this.commitOpen(caller, await this.keepOpen(upload));
    } catch (err) {
      const meanwhile = err instanceof CairnError && err.code === 'upload_closed' ? await this.committed(await this.openUpload(caller, id, false)) : undefined;
      if (meanwhile) return meanwhile;
      throw err;
    }
  }

  /** The point a committed upload made (its ID is the upload's), with its chain; settles its job if a server died before it could. */
  private async committed(upload: UploadTable): Promise<{ point: PointTable; chain: ChainTable } | undefined> {
    if (upload.status !== 'committed') return undefined;
    const point = await this.db.selectFrom('points').selectAll().where('id', '=', upload.id).executeTakeFirst();
    if (!point) throw conflict(`Upload ${upload.id} was committed as point ${upload.id}, which has since been purged.`, 'upload_closed');
    const chain = await this.db.selectFrom('chains').selectAll().where('id', '=', point.chain_id).executeTakeFirstOrThrow();
    await this.jobs.succeed(upload.job_id, { point_id: point.id, chain_id: chain.id, type: point.type, stored_bytes: point.stored_bytes });
    return { point, chain };
  }

  private async commitOpen(caller: Caller, upload: UploadTable): Promise<{ point: PointTable; chain: ChainTable }> {
    const disks = JSON.parse(upload.disks) as UploadDisk[];
    const noManifest = disks.filter((d) => !d.manifest_digest);
    if (noManifest.length) throw conflict(`Disk(s) ${noManifest.map((d) => d.name).join(', ')} have no manifest yet; send them before committing.`, 'incomplete_upload');
    let logical = 0;
    for (const disk of disks) {
      const m = await this.db.selectFrom('manifests').select(['body', 'size']).where('digest', '=', disk.manifest_digest!).executeTakeFirstOrThrow();
      logical += m.size;
      const lengths = slotLengths(decodeManifest(openManifest(this.settings.masterKeys, disk.manifest_digest!, m.body)), disk.name);
      const lacking: string[] = [];
      const misfits: string[] = [];
      await inBatches([...lengths.keys()], 500, async (batch) => {
        // Stored means durable and not quarantined (chunk-quarantine.ts): a row whose blob never
        // arrived (its upload died) or was found damaged or gone must be uploaded again first.
        const ok = await this.db
          .selectFrom('account_chunks')
          .innerJoin('chunks', 'chunks.digest', 'account_chunks.digest')
          .select(['chunks.digest', 'chunks.size'])
          .where('account_chunks.account_id', '=', caller.accountId)
          .where('account_chunks.digest', 'in', batch)
          .where('chunks.state', '=', 'stored')
          .execute();
        const have = new Set<string>();
        for (const r of ok) {
          have.add(r.digest);
          if (r.size !== lengths.get(r.digest)) misfits.push(`${r.digest} holds ${r.size} bytes where its place needs ${lengths.get(r.digest)}`);
        }
        if (ok.length !== batch.length) for (const d of batch) if (!have.has(d)) lacking.push(d);
      });
      if (misfits.length)
        throw badRequest(`The manifest of disk "${disk.name}" names ${misfits.length} chunk(s) whose length does not fit their place, e.g. ${misfits[0]}; nothing was committed. Send a manifest made from the disk.`, 'manifest');
      if (lacking.length)
        throw conflict(
          `Disk "${disk.name}" names ${lacking.length} chunk(s) that are not stored (never uploaded, or since found damaged or gone from the chunk store), e.g. ${lacking[0]}; ask which are missing, upload them, then commit again.`,
          'missing_chunks',
        );
    }
    // A backup a task asked for (backup-scheduler.ts) makes automatic chains, of the task's length.
    const job = await this.jobs.byId(upload.job_id);
    const fromTask = backupJobOfTask(job?.params);
    const origin = fromTask ? 'automatic' : 'manual';
    const maxLength = fromTask ? Math.min(fromTask.chain_length, this.settings.chainMaxLength) : this.settings.chainMaxLength;
    const now = nowIso();
    const result = await this.db.transaction().execute(async (tx) => {
      // Re-read under the transaction: a concurrent abort or expiry wins over this commit.
      const still = await tx.updateTable('uploads').set({ status: 'committed' }).where('id', '=', upload.id).where('status', '=', 'open').returning('id').execute();
      if (still.length !== 1) throw conflict(`Upload ${upload.id} was cancelled or expired before it could be committed; start the backup again.`, 'upload_closed');
      const active = await tx
        .selectFrom('chains')
        .selectAll()
        .where('resource_id', '=', upload.resource_id)
        .where('account_id', '=', caller.accountId)
        .where('status', '=', 'available')
        // A task extends only the chains it made; a backup by hand extends the newest chain, as before tasks.
        .$if(origin === 'automatic', (q) => q.where('origin', '=', 'automatic'))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      const activeLength = active
        ? Number((await tx.selectFrom('points').select((e) => e.fn.countAll<number>().as('n')).where('chain_id', '=', active.id).where('status', 'in', ['available', 'deleted']).executeTakeFirstOrThrow()).n)
        : 0;
      const place = placePoint({
        requested: upload.requested_type,
        active: active && active.head_point_id ? { id: active.id, head: active.head_point_id, length: activeLength } : null,
        maxLength,
      });
      const stored = Number(
        (await tx.selectFrom('upload_chunks').select((e) => e.fn.sum<number>('stored_bytes').as('n')).where('upload_id', '=', upload.id).executeTakeFirstOrThrow()).n ?? 0,
      );
      const chainId = place.type === 'full' ? upload.id : place.chainId;
      let chain: ChainTable;
      if (place.type === 'full') {
        chain = {
          id: chainId,
          account_id: caller.accountId,
          resource_id: upload.resource_id,
          name: upload.name,
          description: upload.description,
          status: 'available',
          head_point_id: upload.id,
          created_at: now,
          deleted_at: null,
          purge_after: null,
          origin,
        };
        await tx.insertInto('chains').values(chain).execute();
      } else {
        await tx.updateTable('chains').set({ head_point_id: upload.id }).where('id', '=', chainId).execute();
        chain = { ...active!, head_point_id: upload.id };
      }
      const point: PointTable = {
        id: upload.id,
        chain_id: chainId,
        account_id: caller.accountId,
        resource_id: upload.resource_id,
        parent_id: place.type === 'full' ? null : place.parentId,
        type: place.type,
        name: upload.name,
        description: upload.description,
        status: 'available',
        snapshot_at: upload.snapshot_at,
        logical_size: logical,
        stored_bytes: stored,
        job_id: upload.job_id,
        created_at: upload.created_at,
        committed_at: now,
        deleted_at: null,
        purge_after: null,
      };
      await tx.insertInto('points').values(point).execute();
      await tx.insertInto('point_disks').values(disks.map((d) => ({ point_id: point.id, position: d.position, disk_name: d.name, size: d.size, manifest_digest: d.manifest_digest }))).execute();
      await tx.deleteFrom('upload_chunks').where('upload_id', '=', upload.id).execute();
      return { point, chain };
    });
    await this.jobs.succeed(upload.job_id, { point_id: result.point.id, chain_id: result.chain.id, type: result.point.type, stored_bytes: result.point.stored_bytes });
    return result;
  }

  async abort(caller: Caller, id: string, reason = 'The backup was cancelled by its client.'): Promise<void> {
    const upload = await this.openUpload(caller, id, false);
    await this.close(upload, reason);
  }

  /** Closes uploads nobody touched for `idleMs` (client killed, network cut): their chunks are no longer held for them. */
  async expireIdle(): Promise<number> {
    const stale = await this.db.selectFrom('uploads').selectAll().where('status', '=', 'open').where('expires_at', '<', nowIso()).execute();
    for (const u of stale) await this.close(u, 'The client stopped sending this backup (killed or disconnected); no point was made. Start the backup again.');
    return stale.length;
  }

  private async close(upload: UploadTable, reason: string): Promise<void> {
    const closed = await this.db.updateTable('uploads').set({ status: 'aborted' }).where('id', '=', upload.id).where('status', '=', 'open').returning('id').execute();
    if (closed.length === 0) return;
    await this.db.deleteFrom('upload_chunks').where('upload_id', '=', upload.id).execute();
    await this.jobs.fail(upload.job_id, reason);
  }

  /** The caller's open upload, with its idle timer renewed. */
  private async openUpload(caller: Caller, id: string, mustBeOpen = true): Promise<UploadTable> {
    const upload = await this.db.selectFrom('uploads').selectAll().where('id', '=', id).executeTakeFirst();
    if (!upload || upload.account_id !== caller.accountId) throw notFound('Upload', id);
    return mustBeOpen ? this.keepOpen(upload) : upload;
  }

  /** The upload if it is still open, its idle timer renewed; else 409 upload_closed. */
  private async keepOpen(upload: UploadTable): Promise<UploadTable> {
    const id = upload.id;
    const now = nowIso();
    if (upload.status !== 'open' || upload.expires_at < now)
      throw conflict(`Upload ${id} is ${upload.status === 'committed' ? 'already committed' : 'cancelled or expired'}; start a new backup.`, 'upload_closed');
    const expires = isoPlus(now, this.settings.idleMs);
    // Renewing at most every few seconds keeps chunk uploads from each being a metadata write.
    const slack = Math.min(5000, this.settings.idleMs / 4);
    if (Date.parse(upload.expires_at) - Date.parse(now) < this.settings.idleMs - slack) {
      await this.db.updateTable('uploads').set({ expires_at: expires }).where('id', '=', id).where('status', '=', 'open').execute();
      await this.jobs.progress(upload.job_id, { leaseMs: this.settings.idleMs });
    }
    return upload;
  }
}
