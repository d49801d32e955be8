
import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import { inOrderOf, keysetPage } from '../db/keyset.js';
import { liveShare } from '../db/live-share.js';
import { anyContains, contains, shareSearchText } from '../db/search.js';
import type { ChainTable, PointTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict } from '../domain/errors.js';
import type { Page, PageRequest } from '../domain/page.js';
import { checkName } from '../domain/rules.js';
import { isoPlus, nowIso } from '../domain/time.js';
import type { Access, PointGrant } from './access.js';
import type { EventsService } from './events.js';
import { isAgentOnline } from './agent-presence.js';
import type { ChainDetailView, ChainView, DeletedView, PointDetailView, PointView, RecycleItemView, Relation, RestoredView } from '../contract/index.js';

/** A row of `chainsQuery`: the chain with its aggregates. */
export type ChainRow = ChainTable & { agent_id: string | null; agent_name: string | null; agent_seen: string | null; resource_name: string | null; point_count: number | string | null; total_size: number | string | null; share_count: number | string | null };

/** What a list of points across chains may be narrowed to (QingCloud's DescribeSnapshots). */
export interface PointFilter {
  /** Named points, each through Access: the caller's own or shared with it; any other is not found. */
  ids?: string[];
  resource_id?: string;
  type?: PointTable['type'];
  /** Available and failed ones when not given: deleted points only when asked for. */
  statuses?: PointTable['status'][];
  search?: string;
}

/** A point with its chain, as a flat list of points shows them. */
export interface PointInChain {
  point: PointView;
  chain: ChainView;
}

export interface ChainFilter {
  resource_id?: string;
  status?: 'available' | 'deleted';
  search?: string;
}

/** Backup chains and points: listing, the tree of a chain, edits, deletion into the recycle bin, restore and purge. */
export class ChainsService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly events: EventsService,
    private readonly settings: { recycleBinMs: number },
  ) {}

  /** The chains query with their aggregates; other services (sharing) build on it. */
  chainsQuery() {
    return this.db
      .selectFrom('chains')
      .leftJoin('resources', 'resources.id', 'chains.resource_id')
      .leftJoin('agents', 'agents.id', 'resources.agent_id')
      .selectAll('chains')
      .select(['resources.name as resource_name', 'agents.id as agent_id', 'agents.name as agent_name', 'agents.last_seen_at as agent_seen'])
      .select((eb) => [
        eb
          .selectFrom('points')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('points.chain_id', '=', 'chains.id')
          .where('points.status', '=', 'available')
          .as('point_count'),
        eb
          .selectFrom('points')
          .select((e) => e.fn.sum<number>('points.stored_bytes').as('s'))
          .whereRef('points.chain_id', '=', 'chains.id')
          .where('points.status', '=', 'available')
          .as('total_size'),
        eb
          .selectFrom('shares')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('shares.chain_id', '=', 'chains.id')
          .where(liveShare('shares', nowIso()))
          .as('share_count'),
      ]);
  }

  chainView(row: ChainRow, relation: Relation): ChainView {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      status: row.status,
      resource_id: row.resource_id,
      resource_name: row.resource_name,
      resource_kind: row.resource_id.startsWith('i-') ? 'instance' : 'volume',
      total_size: Number(row.total_size ?? 0),
      point_count: Number(row.point_count ?? 0),
      head_point_id: row.head_point_id,
      origin: row.origin,
      created_at: row.created_at,
      deleted_at: row.deleted_at,
      purge_after: row.purge_after,
      owner_id: row.account_id,
      relation,
      share_count: relation === 'owner' ? Number(row.share_count ?? 0) : 0,
      agent:
        relation === 'owner' && row.agent_id
          ? { id: row.agent_id, name: row.agent_name ?? '', online: isAgentOnline(row.agent_seen) }
          : null,
    };
  }

  /**
   * The page is found on the chains alone, in index order (chains_account_list),
   * and only its rows get their aggregates: both engines would otherwise work
   * them out for every chain of the account before sorting and skipping.
   */
  async list(caller: Caller, page: PageRequest, filter: ChainFilter = {}): Promise<Page<ChainView>> {
    let q = this.db.selectFrom('chains').select(['chains.id', 'chains.created_at']).where('chains.account_id', '=', caller.accountId).where('chains.status', '=', filter.status ?? 'available');
    if (filter.resource_id) q = q.where('chains.resource_id', '=', filter.resource_id);
    const search = filter.search;
    if (search) {
      q = q.where((eb) =>
        eb.or([
          anyContains(['chains.name', 'chains.id', 'chains.resource_id'], search),
          eb.exists(eb.selectFrom('resources').select('resources.id').whereRef('resources.id', '=', 'chains.resource_id').where(contains('resources.name', search))),
        ]),
      );
    }
    // The total is counted beside the page: on PostgreSQL on a connection and a core of its own.
    const [{ rows: keys, next_cursor }, total_count] = await Promise.all([keysetPage(q, [['chains.created_at', 'desc'], ['chains.id', 'asc']], page, (r) => [r.created_at, r.id]), countRows(q)]);
    const ids = keys.map((k) => k.id);
    const rows = ids.length ? inOrderOf(ids, await this.chainsQuery().where('chains.id', 'in', ids).execute()) : [];
    return { total_count, items: rows.map((r) => this.chainView(r, 'owner')), next_cursor };
  }

  async get(caller: Caller, id: string): Promise<ChainDetailView> {
    const { chain, relation } = await this.access.decideChain(caller, id, 'read', await this.chainsQuery().where('chains.id', '=', id).executeTakeFirst());
    return { ...this.chainView(chain, relation), points: await this.points(chain, relation) };
  }

  /** Points of a chain as a tree (parent links), oldest first; a recipient sees only available ones. */
  async points(chain: ChainTable, relation: Relation): Promise<PointView[]> {
    let q = this.db.selectFrom('points').selectAll().where('chain_id', '=', chain.id);
    if (relation !== 'owner' || chain.status === 'available') q = q.where('status', relation === 'owner' ? 'in' : '=', relation === 'owner' ? ['available', 'deleted'] : ['available']);
    const rows = await q.orderBy('snapshot_at').orderBy('id').execute();
    const disks = rows.length
      ? await this.db.selectFrom('point_disks').selectAll().where('point_id', 'in', rows.map((r) => r.id)).orderBy('position').execute()
      : [];
    return rows.map((p) => this.pointView(p, chain, disks.filter((d) => d.point_id === p.id)));
  }

  pointView(p: PointTable, chain: ChainTable, disks: { disk_name: string; size: number; position: number }[]): PointView {
    return {
      id: p.id,
      chain_id: p.chain_id,
      parent_id: p.parent_id,
      type: p.type,
      name: p.name,
      description: p.description,
      status: p.status,
      snapshot_at: p.snapshot_at,
      logical_size: p.logical_size,
      stored_bytes: p.stored_bytes,
      is_head: chain.head_point_id === p.id,
      created_at: p.created_at,
      deleted_at: p.deleted_at,
      purge_after: p.purge_after,
      disks: disks.map((d) => ({ name: d.disk_name, size: d.size, role: p.resource_id.startsWith('i-') && d.position > 0 ? 'data' : 'system' })),
    };
  }

  /**
   * Points across chains, newest first: the caller's own, or the named ones it
   * may read (a recipient sees a shared chain's available points only).
   */
  async listPoints(caller: Caller, page: PageRequest, filter: PointFilter = {}): Promise<Page<PointInChain>> {
    const relations = new Map<string, Relation>();
    let q = this.db.selectFrom('points').selectAll('points');
    if (filter.ids) {
      for (const id of filter.ids) {
        const grant = await this.access.point(caller, id, 'read');
        relations.set(grant.chain.id, grant.relation);
      }
      q = q.where('points.id', 'in', filter.ids.length ? filter.ids : ['']);
    } else {
      q = q.where('points.account_id', '=', caller.accountId);
    }
    q = filter.statuses?.length ? q.where('points.status', 'in', filter.statuses) : filter.ids ? q : q.where('points.status', '!=', 'deleted');
    if (filter.resource_id) q = q.where('points.resource_id', '=', filter.resource_id);
    if (filter.type) q = q.where('points.type', '=', filter.type);
    if (filter.search) q = q.where(anyContains(['points.name', 'points.id', 'points.resource_id'], filter.search));
    const rows = await q.orderBy('points.snapshot_at', 'desc').orderBy('points.id').offset(page.offset).limit(page.limit).execute();
    const chainIds = [...new Set(rows.map((r) => r.chain_id))];
    const chains = chainIds.length ? await this.chainsQuery().where('chains.id', 'in', chainIds).execute() : [];
    const disks = rows.length ? await this.db.selectFrom('point_disks').selectAll().where('point_id', 'in', rows.map((r) => r.id)).orderBy('position').execute() : [];
    return {
      total_count: await countRows(q),
      items: rows.map((p) => {
        const chain = chains.find((c) => c.id === p.chain_id)!;
        return { point: this.pointView(p, chain, disks.filter((d) => d.point_id === p.id)), chain: this.chainView(chain, relations.get(chain.id) ?? 'owner') };
      }),
    };
  }

  async getPoint(caller: Caller, id: string): Promise<PointDetailView> {
    return this.pointDetail(await this.access.point(caller, id, 'read'));
  }

  private async pointDetail({ point, chain }: PointGrant): Promise<PointDetailView> {
    const disks = await this.db.selectFrom('point_disks').selectAll().where('point_id', '=', point.id).orderBy('position').execute();
    const v = this.pointView(point, chain, disks);
    return { ...v, disks: v.disks.map((d, i) => ({ ...d, manifest_digest: disks[i]!.manifest_digest })) };
  }

  async editChain(caller: Caller, id: string, patch: { name?: string; description?: string }): Promise<ChainView> {
    const { chain } = await this.access.chain(caller, id, 'write');
    const set = this.patchOf(patch);
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('chains').set(set).where('id', '=', id).execute();
      if (set.name === undefined || set.name === chain.name) return;
      // The shares keep the name for their recipients' searches.
      const owner = await tx.selectFrom('accounts').select('email').where('id', '=', chain.account_id).executeTakeFirstOrThrow();
      await tx.updateTable('shares').set({ search_text: shareSearchText({ ...chain, name: set.name }, owner.email) }).where('chain_id', '=', id).execute();
    });
    return this.chainView(await this.chainsQuery().where('chains.id', '=', id).executeTakeFirstOrThrow(), 'owner');
  }

  async editPoint(caller: Caller, id: string, patch: { name?: string; description?: string }): Promise<PointDetailView> {
    const grant = await this.access.point(caller, id, 'write');
    const set = this.patchOf(patch);
    await this.db.updateTable('points').set(set).where('id', '=', id).execute();
    return this.pointDetail({ ...grant, point: { ...grant.point, ...set } });
  }

  private patchOf(patch: { name?: string; description?: string }) {
    if (patch.name === undefined && patch.description === undefined) throw badRequest('Give a name or a description to change.', 'name');
    return {
      ...(patch.name !== undefined ? { name: patch.name === '' ? '' : checkName(patch.name) } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
    };
  }

  /** Several points deleted as deletePoint does, once Access has allowed every one (a refused one deletes none). */
  async deletePoints(caller: Caller, ids: readonly string[]): Promise<Required<DeletedView>[]> {
    await this.access.points(caller, ids, 'write');
    const deleted: Required<DeletedView>[] = [];
    for (const id of ids) deleted.push(await this.deletePoint(caller, id));
    return deleted;
  }

  /**
   * Deleting the full point deletes the chain (QingCloud's rule). Cairn's
   * manifests are complete, so deleting an incremental point removes no other
   * point; the head moves back to its nearest live ancestor.
   */
  async deletePoint(caller: Caller, id: string): Promise<Required<DeletedView>> {
    const { point, chain } = await this.access.point(caller, id, 'write');
    if (point.status !== 'available') throw conflict(`Backup point ${id} is already ${point.status}.`);
    if (point.id === chain.id) return { deleted: 'chain', ...(await this.deleteChainRow(caller, chain)) };
    const now = nowIso();
    const purge = isoPlus(now, this.settings.recycleBinMs);
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('points').set({ status: 'deleted', deleted_at: now, purge_after: purge }).where('id', '=', id).where('status', '=', 'available').execute();
      if (chain.head_point_id === id) {
        const head = await this.liveAncestor(tx, point.parent_id);
        await tx.updateTable('chains').set({ head_point_id: head }).where('id', '=', chain.id).execute();
      }
    });
    return { deleted: 'point', id, purge_after: purge };
  }

  async deleteChain(caller: Caller, id: string): Promise<DeletedView> {
    return this.deleteChainRow(caller, (await this.access.chain(caller, id, 'write')).chain);
  }

  private async deleteChainRow(caller: Caller, chain: ChainTable): Promise<DeletedView> {
    const id = chain.id;
    if (chain.status !== 'available') throw conflict(`Backup chain ${id} is already deleted.`);
    const now = nowIso();
    const purge = isoPlus(now, this.settings.recycleBinMs);
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('chains').set({ status: 'deleted', deleted_at: now, purge_after: purge }).where('id', '=', id).execute();
      // Points deleted with the chain carry its deletion time, so restoring the chain brings back exactly them.
      await tx.updateTable('points').set({ status: 'deleted', deleted_at: now, purge_after: purge }).where('chain_id', '=', id).where('status', '=', 'available').execute();
      await this.events.chainEvent('chain.deleted', chain, caller.accountId, tx);
    });
    return { id, purge_after: purge };
  }

  /** Deleted chains and points still in the recycle bin. */
  async recycleBin(caller: Caller, page: PageRequest): Promise<Page<RecycleItemView>> {
    const q = this.db
      .selectFrom('points')
      .innerJoin('chains', 'chains.id', 'points.chain_id')
      .select(['points.id', 'points.chain_id', 'points.name', 'points.resource_id', 'points.deleted_at', 'points.purge_after', 'chains.status as chain_status', 'chains.name as chain_name'])
      .where('points.account_id', '=', caller.accountId)
      .where('points.status', '=', 'deleted')
      // A deleted chain is listed once, as the chain, by its full point's row.
      .where((e) => e.or([e('chains.status', '=', 'available'), e('points.id', '=', e.ref('points.chain_id'))]));
    const rows = await q.orderBy('points.deleted_at', 'desc').orderBy('points.id').offset(page.offset).limit(page.limit).execute();
    return {
      total_count: await countRows(q),
      items: rows.map((r) => {
        const asChain = r.chain_status === 'deleted' && r.id === r.chain_id;
        return { kind: asChain ? 'chain' : 'point', id: r.id, chain_id: r.chain_id, name: asChain ? r.chain_name : r.name, resource_id: r.resource_id, deleted_at: r.deleted_at!, purge_after: r.purge_after! };
      }),
    };
  }

  /** Brings a chain or point back from the recycle bin. */
  async restore(caller: Caller, id: string): Promise<RestoredView> {
    const { point, chain } = await this.access.point(caller, id, 'write');
    if (chain.status === 'deleted') {
      if (point.id !== chain.id) throw conflict(`Point ${id} was deleted with its chain ${chain.id}; restore the chain (${chain.id}) instead.`);
      await this.db.transaction().execute(async (tx) => {
        await tx.updateTable('chains').set({ status: 'available', deleted_at: null, purge_after: null }).where('id', '=', chain.id).execute();
        await tx.updateTable('points').set({ status: 'available', deleted_at: null, purge_after: null }).where('chain_id', '=', chain.id).where('deleted_at', '=', chain.deleted_at).execute();
        await this.events.chainEvent('chain.restored', chain, caller.accountId, tx);
      });
      return { kind: 'chain', id: chain.id };
    }
    if (point.status !== 'deleted') throw conflict(`Backup point ${id} is not in the recycle bin.`);
    await this.db.updateTable('points').set({ status: 'available', deleted_at: null, purge_after: null }).where('id', '=', id).execute();
    return { kind: 'point', id };
  }

  /** Removes a recycle-bin entry for good; its data goes at the next garbage collection. */
  async purge(caller: Caller, id: string): Promise<void> {
    const { point, chain } = await this.access.point(caller, id, 'write');
    if (point.status !== 'deleted') throw conflict(`Backup point ${id} is not in the recycle bin; delete it first.`);
    if (chain.status === 'deleted' && point.id !== chain.id) throw conflict(`Point ${id} was deleted with chain ${chain.id}; purge the chain.`);
    await this.db.transaction().execute(async (tx) => {
      if (chain.status === 'deleted') await this.purgeChain(tx, chain.id);
      else await this.purgePoint(tx, point);
    });
  }

  /** Purges every recycle-bin entry whose time is up. */
  async purgeExpired(): Promise<number> {
    const now = nowIso();
    let n = 0;
    const chains = await this.db.selectFrom('chains').select('id').where('status', '=', 'deleted').where('purge_after', '<', now).execute();
    for (const c of chains) {
      await this.db.transaction().execute((tx) => this.purgeChain(tx, c.id));
      n++;
    }
    const points = await this.db
      .selectFrom('points')
      .innerJoin('chains', 'chains.id', 'points.chain_id')
      .selectAll('points')
      .where('points.status', '=', 'deleted')
      .where('chains.status', '=', 'available')
      .where('points.purge_after', '<', now)
      .execute();
    for (const p of points) {
      await this.db.transaction().execute((tx) => this.purgePoint(tx, p));
      n++;
    }
    return n;
  }

  private async purgeChain(tx: Db, chainId: string): Promise<void> {
    const chain = await tx.selectFrom('chains').selectAll().where('id', '=', chainId).executeTakeFirst();
    if (chain) await this.events.chainEvent('chain.purged', chain, chain.account_id, tx);
    // The chain is gone for its recipients too; images already made keep their own reference to the data.
    await tx.updateTable('shares').set({ status: 'cancelled', ended_at: nowIso() }).where('chain_id', '=', chainId).where('status', '=', 'active').execute();
    await tx.deleteFrom('points').where('chain_id', '=', chainId).execute();
    await tx.deleteFrom('chains').where('id', '=', chainId).execute();
  }

  private async purgePoint(tx: Db, point: PointTable): Promise<void> {
    // Children keep their place in the tree by hanging from the purged point's parent.
    await tx.updateTable('points').set({ parent_id: point.parent_id }).where('parent_id', '=', point.id).execute();
    await tx.deleteFrom('points').where('id', '=', point.id).execute();
  }

  private async liveAncestor(tx: Db, start: string | null): Promise<string | null> {
    let id = start;
    while (id) {
      const p = await tx.selectFrom('points').select(['id', 'status', 'parent_id']).where('id', '=', id).executeTakeFirst();
      if (!p) return null;
      if (p.status === 'available') return p.id;
      id = p.parent_id;
    }
    return null;
  }

  /** Moves a chain's head (after a rollback): later incremental points branch from it. */
  async moveHead(pointId: string): Promise<void> {
    const p = await this.db.selectFrom('points').select(['chain_id', 'status']).where('id', '=', pointId).executeTakeFirstOrThrow();
    if (p.status === 'available') await this.db.updateTable('chains').set({ head_point_id: pointId }).where('id', '=', p.chain_id).where('status', '=', 'available').execute();
  }
}

