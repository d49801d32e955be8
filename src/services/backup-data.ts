import type { Db } from '../db/connect.js';
import type { Caller } from '../domain/caller.js';
import { CairnError, conflict, notFound } from '../domain/errors.js';
import { ChunkIntegrityError, verifyChunk } from '../format/chunk-codec.js';
import { SealError } from '../store/sealed-blob.js';
import type { MasterKeys } from '../store/master-key.js';
import { openManifest } from './sealed-manifests.js';
import { settleAll } from '../compute/concurrency.js';
import type { BufferRecycler, Lease } from '../compute/buffer-recycler.js';
import { decodeManifest, manifestChunkDigests } from '../format/manifest.js';
import { StoreUnavailableError, type ChunkStore } from '../store/chunk-store.js';
import type { Access } from './access.js';
import { mapLimit } from './batches.js';
import type { VerifyReport } from '../contract/index.js';
import { storeUnavailable, withStore } from './store-errors.js';
import { quarantineChunks } from './chunk-quarantine.js';

/**
 * Reading stored backups back: manifests and chunk blobs for restores, and
 * verification. A chunk is served only through something the caller may read
 * (a point, later an image) whose manifest names it, so a digest alone opens nothing.
 */
export class BackupDataService {
  /** Manifests never change, so the digest sets of recent ones are kept (bounded). */
  private readonly members = new Map<string, Set<string>>();

  constructor(
    private readonly db: Db,
    private readonly store: ChunkStore,
    private readonly access: Access,
    /** Blob slots (blobSlotPool in app.ts): chunks are read one to a slot, and handed out as leases of them. */
    private readonly slots: BufferRecycler,
    private readonly keys: MasterKeys | null = null,
  ) {}

  async manifestBody(digest: string): Promise<Buffer> {
    const m = await this.db.selectFrom('manifests').select('body').where('digest', '=', digest).executeTakeFirst();
    if (!m) throw new CairnError(500, 'internal', `Manifest ${digest} is missing from the metadata store.`);
    return openManifest(this.keys, digest, m.body);
  }

  async pointManifest(caller: Caller, pointId: string, diskName: string): Promise<Buffer> {
    const disk = await this.pointDisk(caller, pointId, diskName);
    return this.manifestBody(disk.manifest_digest!);
  }

  /**
   * Blobs of chunks that the point's manifests name, one to a slot, held until
   * the lease is released; any digest they do not name is not found, and
   * nothing is read.
   */
  async pointChunks(caller: Caller, pointId: string, digests: string[]): Promise<Lease> {
    await this.readablePoint(caller, pointId);
    const disks = await this.db.selectFrom('point_disks').select('manifest_digest').where('point_id', '=', pointId).execute();
    return this.chunksOf(
      disks.flatMap((d) => (d.manifest_digest ? [d.manifest_digest] : [])),
      digests,
      `point ${pointId}`,
    );
  }

  /** Blobs named by a manifest the caller may read (images), as pointChunks hands them out. */
  chunksOfManifest(manifestDigest: string, digests: string[], owner: string): Promise<Lease> {
    return this.chunksOf([manifestDigest], digests, owner);
  }

  /**
   * One blob named by the manifest, read into a blob slot for `use` (which must be
   * done with it when its promise settles: the slot then holds the next reader's blob).
   * Readers that keep the chunk decode it into memory of their own. A blob that does
   * not decode to its digest is quarantined (chunk-quarantine.ts) and answered as
   * `chunk_damaged`, with `remedy`: what the reader can do instead.
   */
  async withChunkOfManifest<T>(manifestDigest: string, digest: string, owner: string, use: (blob: Buffer) => T | Promise<T>, remedy: string): Promise<T> {
    if (!(await this.names(manifestDigest, digest))) throw notFound('Chunk', digest);
    const lease = await this.slots.lease(1, async ([slot]) => [await this.blob(digest, owner, slot)]);
    try {
      return await use(lease.blobs[0]!);
    } catch (err) {
      if (!(err instanceof ChunkIntegrityError)) throw err;
      await this.quarantine([digest]);
      throw new CairnError(500, 'chunk_damaged', `Chunk ${digest} of ${owner} is damaged in the chunk store (${err.message}); run \`cairn verify\`, and ${remedy}.`);
    } finally {
      lease.release();
    }
  }

  private async chunksOf(manifests: string[], digests: string[], owner: string): Promise<Lease> {
    for (const digest of digests) if (!(await this.namedByAny(manifests, digest))) throw notFound('Chunk', digest);
    // Every read settles before a failure gives the slots back.
    return this.slots.lease(digests.length, (slots) => settleAll(digests.map((digest, i) => this.blob(digest, owner, slots[i]))));
  }

  async verifyPoint(caller: Caller, pointId: string): Promise<VerifyReport> {
    await this.readablePoint(caller, pointId);
    const disks = await this.db.selectFrom('point_disks').select('manifest_digest').where('point_id', '=', pointId).execute();
    const digests = new Set<string>();
    for (const d of disks) for (const c of manifestChunkDigests(decodeManifest(await this.manifestBody(d.manifest_digest!)))) digests.add(c);
    const damaged = await this.check([...digests]);
    return { chunks_checked: digests.size, damaged: damaged.map((d) => ({ ...d, points: [pointId] })) };
  }

  /** Every stored chunk, for administrators; damaged ones are reported with the points that need them. */
  async verifyAll(caller: Caller): Promise<VerifyReport> {
    this.access.requireAdmin(caller, 'Only a server administrator can verify the whole store; verify a point of yours with --point.');
    const digests = (await this.db.selectFrom('chunks').select('digest').execute()).map((r) => r.digest);
    const damaged = await this.check(digests);
    if (damaged.length === 0) return { chunks_checked: digests.length, damaged: [] };
    const bad = new Map(damaged.map((d) => [d.digest, { ...d, points: [] as string[] }]));
    const disks = await this.db.selectFrom('point_disks').innerJoin('points', 'points.id', 'point_disks.point_id').select(['point_disks.point_id', 'point_disks.manifest_digest']).execute();
    for (const d of disks) {
      if (!d.manifest_digest) continue;
      for (const c of manifestChunkDigests(decodeManifest(await this.manifestBody(d.manifest_digest)))) {
        const entry = bad.get(c);
        if (entry && !entry.points.includes(d.point_id)) entry.points.push(d.point_id);
      }
    }
    return { chunks_checked: digests.length, damaged: [...bad.values()] };
  }

  /** Refuses, naming the first, when any of `digests` is gone from the chunk store (one HEAD each, a few at a time). */
  async needPresent(digests: string[], owner: string): Promise<void> {
    const unique = [...new Set(digests)];
    const absent = (await withStore(() => mapLimit(unique, 16, async (d) => ((await this.store.head(d)) ? null : d)))).filter((d): d is string => d !== null);
    if (absent.length) await this.quarantine(absent);
    if (absent.length)
      throw new CairnError(500, 'chunk_missing', `Chunk ${absent[0]} of ${owner} is missing from the chunk store${absent.length > 1 ? ` (and ${absent.length - 1} more)` : ''}; run \`cairn verify\` and make it again from a point that verifies.`);
  }

  private async check(digests: string[]): Promise<{ digest: string; problem: string }[]> {
    const results = await withStore(() => mapLimit(digests, 4, async (digest) => {
      let blob: Buffer | null;
      try {
        blob = await this.store.get(digest);
      } catch (err) {
        // A sealed blob that does not open (sealed-blob.ts) is damaged just as one whose digest does not match.
        if (err instanceof SealError) return { digest, problem: err.message };
        throw err;
      }
      if (!blob) return { digest, problem: 'missing from the chunk store' };
      try {
        verifyChunk(blob, digest);
        return null;
      } catch (err) {
        return { digest, problem: err instanceof Error ? err.message : String(err) };
      }
    }));
    const damaged = results.filter((r): r is { digest: string; problem: string } => r !== null);
    await this.quarantine(damaged.map((d) => d.digest));
    return damaged;
  }

  /** Chunks a read found damaged or gone: quarantined until an upload replaces them (chunk-quarantine.ts). */
  quarantine(digests: string[]): Promise<void> {
    return quarantineChunks(this.db, digests);
  }

  private async blob(digest: string, owner: string, slot?: Buffer): Promise<Buffer> {
    let blob: Buffer | null;
    // Inline rather than withStore: this runs once per chunk of a restore.
    try {
      blob = await this.store.get(digest, slot);
    } catch (err) {
      if (err instanceof SealError) {
        // Tampered or torn under its seal: quarantined like a blob that fails its digest, for the next upload to replace.
        await this.quarantine([digest]);
        throw new CairnError(500, 'chunk_damaged', `Chunk ${digest} of ${owner} is damaged in the chunk store (${err.reason}); run \`cairn verify\` and restore from another point.`);
      }
      throw err instanceof StoreUnavailableError ? storeUnavailable(err) : err;
    }
    if (!blob) {
      await this.quarantine([digest]);
      throw new CairnError(500, 'chunk_missing', `Chunk ${digest} of ${owner} is missing from the chunk store; run \`cairn verify\` and restore from another point.`);
    }
    return blob;
  }

  /** The point, if the caller may read its data (its owner, or an account it is shared with) and it is available. */
  async readablePoint(caller: Caller, pointId: string) {
    const { point } = await this.access.point(caller, pointId, 'use');
    if (point.status !== 'available') throw conflict(`Backup point ${pointId} is ${point.status}, not available; restore it from the recycle bin first.`, 'point_not_available');
    return point;
  }

  private async pointDisk(caller: Caller, pointId: string, diskName: string) {
    await this.readablePoint(caller, pointId);
    const disk = await this.db.selectFrom('point_disks').selectAll().where('point_id', '=', pointId).where('disk_name', '=', diskName).executeTakeFirst();
    if (!disk || !disk.manifest_digest) throw notFound('Disk', diskName);
    return disk;
  }

  private async namedByAny(manifestDigests: string[], digest: string): Promise<boolean> {
    for (const m of manifestDigests) if (await this.names(m, digest)) return true;
    return false;
  }

  private async names(manifestDigest: string, digest: string): Promise<boolean> {
    let set = this.members.get(manifestDigest);
    if (!set) {
      set = new Set(manifestChunkDigests(decodeManifest(await this.manifestBody(manifestDigest))));
      if (this.members.size >= 64) this.members.delete(this.members.keys().next().value!);
      this.members.set(manifestDigest, set);
    }
    return set.has(digest);
  }
}
