import type { Db } from '../db/connect.js';
import type { Caller } from '../domain/caller.js';
import { newId } from '../domain/ids.js';
import { isoPlus, nowIso } from '../domain/time.js';
import { decodeManifest, manifestChunkDigests } from '../format/manifest.js';
import type { ChunkStore } from '../store/chunk-store.js';
import { inBatches } from './batches.js';
import { openManifest } from './sealed-manifests.js';
import type { MasterKeys } from '../store/master-key.js';
import type { GcReport } from '../contract/index.js';
import type { Access } from './access.js';

/** The manifests a holder names: all of them, or only those among `among` (the re-check before deleting). */
export type ManifestReferences = (among?: string[]) => Promise<string[]>;

/**
 * Garbage collection: mark and sweep with a grace period, after Proxmox Backup
 * Server. The invariant: a chunk is removed only if no live manifest names it,
 * no open upload holds it, and nobody touched it since `t0 - grace`.
 *
 * 1. t0 = now. Every path that makes a chunk needed (upload, "already have it"
 *    answer) first sets the chunk row's `touched_at` to now, so anything that
 *    starts needing a chunk after t0 protects it by its touch alone.
 * 2. Mark: read the chunks held by open uploads FIRST, then every manifest named
 *    by a point (available or in the recycle bin), an image, or an open upload.
 *    Reading uploads before points means a commit that lands in between is seen
 *    one way or the other (its upload rows and its point are swapped in one
 *    transaction).
 * 3. Sweep chunks in batches. For each batch, one transaction re-checks
 *    `touched_at < t0 - grace` while locking the rows (an UPDATE … RETURNING),
 *    deletes the blobs, then the rows. A concurrent upload of the same digest
 *    waits on that lock and, finding no row, writes the blob again.
 * 4. Sweep manifests no longer named and older than the grace period, then blobs
 *    that have no row (left by a crash) and are older than the grace period, then
 *    the store's temporary files (a blob being written when the server died)
 *    older than the grace period: a write takes seconds at most.
 *
 * The grace period covers clock skew between servers and the time between a
 * touch and the commit of its transaction.
 */
export class GarbageCollector {
  private running: Promise<GcReport> | null = null;

  constructor(
    private readonly db: Db,
    private readonly store: ChunkStore,
    private readonly settings: { gcGraceMs: number; masterKeys?: MasterKeys | null },
    private readonly access: Access,
  ) {}

  /** A collection an administrator asked for (POST /admin/gc), as run() makes it. */
  asked(caller: Caller): Promise<GcReport> {
    this.access.requireAdmin(caller);
    return this.run();
  }

  /** One collection at a time per process; a second caller gets the running one's report. */
  run(): Promise<GcReport> {
    this.running ??= this.collect().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async collect(): Promise<GcReport> {
    const id = newId('job').replace(/^j-/, 'gc-');
    const t0 = nowIso();
    const cutoff = isoPlus(t0, -this.settings.gcGraceMs);
    await this.db.insertInto('gc_runs').values({ id, started_at: t0, finished_at: null, chunks_removed: 0, bytes_removed: 0, manifests_removed: 0, status: 'running' }).execute();
    try {
      const live = new Set<string>();
      for (const r of await this.db
        .selectFrom('upload_chunks')
        .innerJoin('uploads', 'uploads.id', 'upload_chunks.upload_id')
        .select('upload_chunks.digest')
        .where('uploads.status', '=', 'open')
        .execute())
        live.add(r.digest);
      const liveManifests = await this.liveManifests();
      for (const digest of liveManifests) {
        const m = await this.db.selectFrom('manifests').select('body').where('digest', '=', digest).executeTakeFirst();
        if (!m) continue;
        for (const c of manifestChunkDigests(decodeManifest(openManifest(this.settings.masterKeys, digest, m.body)))) live.add(c);
      }

      let chunksRemoved = 0;
      let bytesRemoved = 0;
      const candidates = (await this.db.selectFrom('chunks').select('digest').where('touched_at', '<', cutoff).execute())
        .map((r) => r.digest)
        .filter((d) => !live.has(d));
      await inBatches(candidates, 200, async (batch) => {
        await this.db.transaction().execute(async (tx) => {
          const locked = await tx
            .updateTable('chunks')
            .set((eb) => ({ touched_at: eb.ref('touched_at') }))
            .where('digest', 'in', batch)
            .where('touched_at', '<', cutoff)
            .returning(['digest', 'stored_size'])
            .execute();
          if (locked.length === 0) return;
          const digests = locked.map((r) => r.digest);
          await this.store.deleteMany(digests);
          await tx.deleteFrom('chunks').where('digest', 'in', digests).execute();
          await tx.deleteFrom('account_chunks').where('digest', 'in', digests).execute();
          chunksRemoved += locked.length;
          bytesRemoved += locked.reduce((n, r) => n + r.stored_size, 0);
        });
      });

      const deadManifests = (await this.db.selectFrom('manifests').select('digest').where('created_at', '<', cutoff).execute())
        .map((r) => r.digest)
        .filter((d) => !liveManifests.has(d));
      // A manifest could have been named after the mark: re-check in the delete itself.
      let manifestsRemoved = 0;
      await inBatches(deadManifests, 200, async (batch) => {
        const named = new Set(await this.namedManifests(batch));
        const gone = batch.filter((d) => !named.has(d));
        if (gone.length) manifestsRemoved += Number((await this.db.deleteFrom('manifests').where('digest', 'in', gone).executeTakeFirst()).numDeletedRows);
      });

      let orphans = 0;
      const cutoffMs = Date.parse(cutoff);
      for await (const obj of this.store.list()) {
        if (obj.modifiedAt.getTime() >= cutoffMs) continue;
        const row = await this.db.selectFrom('chunks').select('digest').where('digest', '=', obj.key).executeTakeFirst();
        if (!row) {
          await this.store.delete(obj.key);
          orphans++;
        }
      }

      // Temporary files of writes a crash cut short: older than the grace period, no writer has them.
      const temporaries = await this.store.removeTemporaries(new Date(cutoffMs));

      const finished = nowIso();
      await this.db
        .updateTable('gc_runs')
        .set({ finished_at: finished, chunks_removed: chunksRemoved, bytes_removed: bytesRemoved, manifests_removed: manifestsRemoved, status: 'done' })
        .where('id', '=', id)
        .execute();
      return { id, started_at: t0, finished_at: finished, live_manifests: liveManifests.size, live_chunks: live.size, chunks_removed: chunksRemoved, bytes_removed: bytesRemoved, manifests_removed: manifestsRemoved, orphan_blobs_removed: orphans, temporary_files_removed: temporaries.files, temporary_bytes_removed: temporaries.bytes };
    } catch (err) {
      await this.db.updateTable('gc_runs').set({ finished_at: nowIso(), status: 'failed' }).where('id', '=', id).execute();
      throw err;
    }
  }

  private async liveManifests(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const u of await this.db.selectFrom('uploads').select('disks').where('status', '=', 'open').execute())
      for (const d of JSON.parse(u.disks) as { manifest_digest: string | null }[]) if (d.manifest_digest) out.add(d.manifest_digest);
    for (const r of await this.db.selectFrom('point_disks').select('manifest_digest').distinct().execute()) if (r.manifest_digest) out.add(r.manifest_digest);
    for (const r of await this.extraManifestRefs()) out.add(r);
    return out;
  }

  private async namedManifests(batch: string[]): Promise<string[]> {
    const rows = await this.db.selectFrom('point_disks').select('manifest_digest').where('manifest_digest', 'in', batch).execute();
    return [...rows.map((r) => r.manifest_digest!), ...(await this.extraManifestRefs(batch))];
  }

  private readonly refSources: ManifestReferences[] = [];

  /** Other holders of manifests (images) register here, so GC keeps what they name. */
  addManifestReferences(source: ManifestReferences): void {
    this.refSources.push(source);
  }

  private async extraManifestRefs(among?: string[]): Promise<string[]> {
    return (await Promise.all(this.refSources.map((s) => s(among)))).flat();
  }
}

