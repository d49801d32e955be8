import { Readable } from 'node:stream';
import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import { anyContains } from '../db/search.js';
import type { ImageTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { checkName } from '../domain/rules.js';
import { nowIso } from '../domain/time.js';
import { decodeChunk } from '../format/chunk-codec.js';
import { chunkLength, chunkOffset, decodeManifest } from '../format/manifest.js';
import type { Lease } from '../compute/buffer-recycler.js';
import type { Access, PointGrant } from './access.js';
import type { BackupDataService } from './backup-data.js';
import type { EventsService } from './events.js';
import type { ImageView } from '../contract/index.js';

/**
 * Images (镜像) made from backup points. Making one copies no data: the image
 * names the point disk's manifest, whose chunks garbage collection then keeps
 * for the image's sake, whatever becomes of the chain. So it takes the same
 * time for any disk size, and outlives unsharing, deletion and purging.
 */
export class ImagesService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly data: BackupDataService,
    private readonly events: EventsService,
  ) {}

  async create(caller: Caller, input: { point_id?: string; chain_id?: string; disk?: string; name: string; description?: string }): Promise<ImageView> {
    const name = checkName(input.name);
    const { point, chain, relation } = await this.source(caller, input);
    const pointId = point.id;
    if (input.chain_id && point.chain_id !== input.chain_id) throw badRequest(`Point ${pointId} is not in chain ${input.chain_id}.`, 'point_id');
    if (point.status !== 'available' || chain.status !== 'available')
      throw conflict(`Backup point ${pointId} is ${chain.status === 'deleted' ? 'in a deleted chain' : point.status}; only an available point can make an image.`, 'point_not_available');
    const disks = await this.db.selectFrom('point_disks').selectAll().where('point_id', '=', pointId).orderBy('position').execute();
    // From an instance point the system disk (the first) unless a data disk is named.
    const disk = input.disk ? disks.find((d) => d.disk_name === input.disk) : disks[0];
    if (!disk || !disk.manifest_digest) throw badRequest(`Point ${pointId} has no disk "${input.disk}"; it has ${disks.map((d) => d.disk_name).join(', ')}.`, 'disk');
    const row: ImageTable = {
      id: newId('image'),
      account_id: caller.accountId,
      name,
      description: input.description ?? '',
      size: disk.size,
      status: 'available',
      manifest_digest: disk.manifest_digest,
      source_point_id: point.id,
      source_chain_id: chain.id,
      source_resource_id: point.resource_id,
      source_disk: disk.disk_name,
      source_owner_id: relation === 'recipient' ? chain.account_id : null,
      created_at: nowIso(),
      deleted_at: null,
    };
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('images').values(row).execute();
      if (relation === 'recipient')
        await this.events.record({ type: 'image.created', chainId: chain.id, ownerId: chain.account_id, recipientId: caller.accountId, actorId: caller.accountId, data: { chain_name: chain.name, image_id: row.id, image_name: name, point_id: point.id, disk: disk.disk_name } }, tx);
    });
    return (await this.views([row]))[0]!;
  }

  async list(caller: Caller, page: PageRequest, filter: { search?: string; source?: 'own' | 'shared' } = {}): Promise<Page<ImageView>> {
    let q = this.db.selectFrom('images').selectAll().where('account_id', '=', caller.accountId).where('status', '!=', 'deleted');
    if (filter.source === 'own') q = q.where('source_owner_id', 'is', null);
    if (filter.source === 'shared') q = q.where('source_owner_id', 'is not', null);
    if (filter.search) {
      q = q.where(anyContains(['name', 'id'], filter.search));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: await this.views(rows) };
  }

  async get(caller: Caller, id: string): Promise<ImageView> {
    return (await this.views([await this.own(caller, id)]))[0]!;
  }

  async edit(caller: Caller, id: string, patch: { name?: string; description?: string }): Promise<ImageView> {
    const row = await this.own(caller, id);
    if (patch.name === undefined && patch.description === undefined) throw badRequest('Give a name or a description to change.', 'name');
    const set = { ...(patch.name !== undefined ? { name: checkName(patch.name) } : {}), ...(patch.description !== undefined ? { description: patch.description } : {}) };
    await this.db.updateTable('images').set(set).where('id', '=', id).execute();
    return (await this.views([{ ...row, ...set }]))[0]!;
  }

  /** The image is gone at once; its chunks go at the next garbage collection unless something else names them. */
  async delete(caller: Caller, id: string): Promise<void> {
    await this.own(caller, id);
    await this.db.updateTable('images').set({ status: 'deleted', deleted_at: nowIso() }).where('id', '=', id).execute();
  }

  async manifest(caller: Caller, id: string): Promise<Buffer> {
    return this.data.manifestBody((await this.own(caller, id)).manifest_digest);
  }

  /** Throws unless the caller may read the image's data: images are never shared, so only its owner. */
  async checkReadable(caller: Caller, id: string): Promise<void> {
    await this.own(caller, id);
  }

  /** The image's disk, for reading its files in place: only its owner may. */
  async readableDisk(caller: Caller, id: string): Promise<{ name: string; size: number; manifest: string }> {
    const img = await this.own(caller, id);
    return { name: img.source_disk, size: img.size, manifest: img.manifest_digest };
  }

  /** Chunks of the image, one to a slot, held until the lease is released (see BackupDataService.pointChunks). */
  async chunks(caller: Caller, id: string, digests: string[]): Promise<Lease> {
    const img = await this.own(caller, id);
    return this.data.chunksOfManifest(img.manifest_digest, digests, `image ${id}`);
  }

  /**
   * The image as a raw disk, bytes [start, end], streamed a chunk at a time with
   * each chunk verified; holes are produced as zeros without touching the store.
   */
  async export(caller: Caller, id: string, range?: { start: number; end: number }): Promise<{ size: number; start: number; end: number; stream: Readable }> {
    const img = await this.own(caller, id);
    const manifest = decodeManifest(await this.data.manifestBody(img.manifest_digest));
    const start = range?.start ?? 0;
    const end = range?.end ?? manifest.size - 1;
    if (start < 0 || end >= manifest.size || start > end) throw new RangeError(`Range ${start}-${end} is outside the image (${manifest.size} bytes).`);
    const data = this.data;
    const first = Math.floor(start / manifest.chunkSize);
    const last = Math.floor(end / manifest.chunkSize);
    // Once the answer's headers are out, a failure can only cut it short: a chunk gone from
    // the store is refused before, naming it, and so is a damaged first chunk.
    await data.needPresent(
      manifest.chunks.slice(first, last + 1).filter((d): d is string => d !== null),
      `image ${id}`,
    );
    const fetchAt = async (i: number): Promise<Buffer> => {
      const digest = manifest.chunks[i];
      const len = chunkLength(manifest, i);
      if (!digest) return Buffer.alloc(len);
      return data.withChunkOfManifest(img.manifest_digest, digest, `image ${id}`, (blob) => decodeChunk(blob, digest), 'make the image again from a point that verifies');
    };
    let next = fetchAt(first);
    await next;
    async function* chunks(): AsyncGenerator<Buffer> {
      // One chunk is fetched ahead while the previous one is sent, keeping memory at two chunks.
      for (let i = first; i <= last; i++) {
        const buf = await next;
        if (i < last) {
          next = fetchAt(i + 1);
          next.catch(() => undefined);
        }
        const off = chunkOffset(manifest, i);
        const from = Math.max(start - off, 0);
        const to = Math.min(end - off + 1, buf.length);
        yield from === 0 && to === buf.length ? buf : buf.subarray(from, to);
      }
    }
    return { size: manifest.size, start, end, stream: Readable.from(chunks(), { objectMode: false }) };
  }

  /** Manifests that images hold, for garbage collection. */
  async liveManifests(among?: string[]): Promise<string[]> {
    if (among?.length === 0) return [];
    let q = this.db.selectFrom('images').select('manifest_digest').distinct().where('status', '!=', 'deleted');
    if (among) q = q.where('manifest_digest', 'in', among);
    return (await q.execute()).map((r) => r.manifest_digest);
  }

  /** The named point, or the chain's head: the chain row is loaded and the caller's relation asked once either way. */
  private async source(caller: Caller, input: { point_id?: string; chain_id?: string }): Promise<PointGrant> {
    if (input.point_id) return this.access.point(caller, input.point_id, 'use');
    if (!input.chain_id) throw badRequest('Name the point (point_id) or the chain (chain_id, for its head point) to make the image from.', 'point_id');
    const { chain, relation } = await this.access.chain(caller, input.chain_id, 'use');
    const point = chain.head_point_id && chain.status === 'available' ? await this.db.selectFrom('points').selectAll().where('id', '=', chain.head_point_id).executeTakeFirst() : undefined;
    if (!point) throw conflict(`Backup chain ${chain.id} has no available head point.`, 'point_not_available');
    return { point, chain, relation };
  }

  private async own(caller: Caller, id: string): Promise<ImageTable> {
    const row = await this.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
    // Images are never shared: only their owner sees them.
    if (!row || row.account_id !== caller.accountId || row.status === 'deleted') throw notFound('Image', id);
    return row;
  }

  private async views(rows: ImageTable[]): Promise<ImageView[]> {
    const owners = [...new Set(rows.map((r) => r.source_owner_id).filter((x): x is string => !!x))];
    const accounts = owners.length ? await this.db.selectFrom('accounts').select(['id', 'email']).where('id', 'in', owners).execute() : [];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      size: r.size,
      status: r.status,
      created_at: r.created_at,
      source: {
        point_id: r.source_point_id,
        chain_id: r.source_chain_id,
        resource_id: r.source_resource_id,
        disk: r.source_disk,
        owner: r.source_owner_id ? { id: r.source_owner_id, email: accounts.find((a) => a.id === r.source_owner_id)?.email ?? null } : null,
      },
    }));
  }
}
