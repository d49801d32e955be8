import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import { anyContains } from '../db/search.js';
import type { DiskTable, ResourceTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { checkDisks, checkName, type DiskSpec } from '../domain/rules.js';
import { nowIso } from '../domain/time.js';
import { isAgentOnline } from './agent-presence.js';
import type { Access } from './access.js';
import type { ResourceFromPointView, ResourceView } from '../contract/index.js';

export function resourceView(r: ResourceTable, disks: DiskTable[], agent: ResourceView['agent'] = null): ResourceView {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    disks: disks
      .sort((a, b) => a.position - b.position)
      .map((d) => ({ name: d.name, size: d.size, role: r.kind === 'instance' && d.position > 0 ? 'data' : 'system' })),
    agent_id: r.agent_id,
    agent,
    created_at: r.created_at,
  };
}

export class ResourcesService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
  ) {}

  async create(caller: Caller, input: { kind: 'volume' | 'instance'; name: string; disks: DiskSpec[] }): Promise<ResourceView> {
    const name = checkName(input.name);
    const disks = checkDisks(input.kind, input.disks);
    const row: ResourceTable = {
      id: newId(input.kind),
      account_id: caller.accountId,
      kind: input.kind,
      name,
      agent_id: null,
      created_at: nowIso(),
    };
    const diskRows = disks.map((d, position) => ({ resource_id: row.id, position, name: d.name, size: d.size }));
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('resources').values(row).execute();
      await tx.insertInto('disks').values(diskRows).execute();
    });
    return resourceView(row, diskRows);
  }

  async list(caller: Caller, page: PageRequest, filter: { kind?: 'volume' | 'instance'; search?: string } = {}): Promise<Page<ResourceView>> {
    let q = this.db.selectFrom('resources').selectAll().where('account_id', '=', caller.accountId);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.search) {
      q = q.where(anyContains(['name', 'id'], filter.search));
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').offset(page.offset).limit(page.limit).execute();
    return { total_count: await countRows(q), items: await this.withDisks(rows) };
  }

  async get(caller: Caller, id: string): Promise<ResourceView> {
    const row = await this.access.resource(caller, id, 'read');
    return (await this.withDisks([row]))[0]!;
  }

  async rename(caller: Caller, id: string, name: string): Promise<ResourceView> {
    const row = await this.access.resource(caller, id, 'write');
    const n = checkName(name);
    await this.db.updateTable('resources').set({ name: n }).where('id', '=', id).execute();
    return (await this.withDisks([{ ...row, name: n }]))[0]!;
  }

  /** Backups of a deleted resource stay: they are independent of the disk they came from. */
  async delete(caller: Caller, id: string): Promise<void> {
    await this.access.resource(caller, id, 'write');
    await this.db.deleteFrom('resources').where('id', '=', id).execute();
  }

  /** 创建硬盘: a new volume in the caller's account, sized like one disk of a point; its data is restored by a client. */
  async createFromPoint(caller: Caller, pointId: string, input: { disk?: string; name: string }): Promise<ResourceFromPointView> {
    const { point } = await this.access.point(caller, pointId, 'write');
    if (point.status !== 'available') throw conflict(`Backup point ${pointId} is ${point.status}; only an available point can make a volume.`, 'point_not_available');
    const disks = await this.db.selectFrom('point_disks').selectAll().where('point_id', '=', pointId).orderBy('position').execute();
    const disk = input.disk ? disks.find((d) => d.disk_name === input.disk) : disks[0];
    if (!disk) throw badRequest(`Point ${pointId} has no disk "${input.disk}"; it has ${disks.map((d) => d.disk_name).join(', ')}.`, 'disk');
    const created = await this.create(caller, { kind: 'volume', name: input.name, disks: [{ name: disk.disk_name, size: disk.size }] });
    return { ...created, source: { point_id: pointId, disk: disk.disk_name } };
  }

  async withDisks(rows: ResourceTable[]): Promise<ResourceView[]> {
    if (rows.length === 0) return [];
    const disks = await this.db.selectFrom('disks').selectAll().where('resource_id', 'in', rows.map((r) => r.id)).execute();
    const agentIds = [...new Set(rows.map((r) => r.agent_id).filter((a): a is string => !!a))];
    const agents = agentIds.length ? await this.db.selectFrom('agents').selectAll().where('id', 'in', agentIds).execute() : [];
    return rows.map((r) => {
      const a = agents.find((x) => x.id === r.agent_id);
      const agent = a ? { id: a.id, name: a.name, online: isAgentOnline(a.last_seen_at) } : null;
      return resourceView(r, disks.filter((d) => d.resource_id === r.id), agent);
    });
  }
}
