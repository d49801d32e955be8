import type { ChainView, ImageView, JobView, PointView, ResourceView, SharedChainView, ShareView } from '../../contract/index.js';

/**
 * Cairn's views in QingCloud's field names and units. Only the shape changes
 * here: what a caller may see was decided by the services that made the views.
 */

/** QingCloud's times have no fraction: 2026-12-06T14:30:10Z. */
export const qcTime = (iso: string | null): string | null => (iso ? iso.replace(/\.\d+Z$/, 'Z') : null);

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** Snapshot sizes are in MB, whole ones up. */
export const mb = (bytes: number): number => Math.ceil(bytes / MIB);
/** Volume and image sizes are in GB, whole ones up. */
export const gb = (bytes: number): number => Math.ceil(bytes / GIB);

const SNAPSHOT_STATUS: Record<PointView['status'], string> = { creating: 'pending', available: 'available', failed: 'ceased', deleted: 'deleted' };
/** QingCloud's snapshot statuses, back to Cairn's point statuses (DescribeSnapshots' status.N). */
export const POINT_STATUS_OF: Record<string, PointView['status']> = { pending: 'creating', available: 'available', ceased: 'failed', deleted: 'deleted' };

const resourceOf = (chain: ChainView) => ({ resource_id: chain.resource_id, resource_name: chain.resource_name ?? '', resource_type: chain.resource_kind });

/** A point as one of QingCloud's snapshots; its chain is the snapshot tree whose root (`root_id`) is the full point. */
export function snapshotItem(point: PointView, chain: ChainView) {
  return {
    snapshot_id: point.id,
    snapshot_name: point.name,
    description: point.description,
    snapshot_type: point.type === 'full' ? 1 : 0,
    status: SNAPSHOT_STATUS[point.status],
    transition_status: '',
    create_time: qcTime(point.created_at),
    status_time: qcTime(point.deleted_at ?? point.created_at),
    snapshot_time: qcTime(point.snapshot_at),
    is_head: point.is_head ? 1 : 0,
    root_id: chain.id,
    parent_id: point.type === 'full' ? 'self' : point.parent_id,
    size: mb(point.logical_size),
    total_size: mb(chain.total_size),
    total_count: chain.point_count,
    owner: chain.owner_id,
    resource: resourceOf(chain),
  };
}

/** A chain as its root snapshot: what a list of whole chains (DescribeSharedSnapshots) shows. */
export function rootSnapshotItem(chain: ChainView) {
  return {
    snapshot_id: chain.id,
    snapshot_name: chain.name,
    description: chain.description,
    snapshot_type: 1,
    status: chain.status === 'available' ? 'available' : 'deleted',
    transition_status: '',
    create_time: qcTime(chain.created_at),
    status_time: qcTime(chain.deleted_at ?? chain.created_at),
    head_snapshot_id: chain.head_point_id,
    root_id: chain.id,
    parent_id: 'self',
    total_size: mb(chain.total_size),
    total_count: chain.point_count,
    owner: chain.owner_id,
    resource: resourceOf(chain),
  };
}

export function sharedSnapshotItem(c: SharedChainView) {
  return { ...rootSnapshotItem(c), owner: c.owner.id, owner_email: c.owner.email, share_time: qcTime(c.shared_at), expires: qcTime(c.expires_at), note: c.note };
}

export function snapshotUserItem(s: ShareView) {
  return { user_id: s.recipient.id, email: s.recipient.email, snapshot_id: s.chain_id, create_time: qcTime(s.shared_at), expires: qcTime(s.expires_at), note: s.note };
}

export function imageItem(i: ImageView) {
  return {
    image_id: i.id,
    image_name: i.name,
    description: i.description,
    size: gb(i.size),
    status: i.status,
    transition_status: '',
    visibility: 'private',
    provider: 'self',
    create_time: qcTime(i.created_at),
    status_time: qcTime(i.created_at),
    snapshot_id: i.source.point_id,
    root_id: i.source.chain_id,
    resource_id: i.source.resource_id,
    disk: i.source.disk,
    source_owner: i.source.owner?.id ?? null,
  };
}

export function jobItem(j: JobView) {
  const result = j.result as { point_id?: string } | null;
  return {
    job_id: j.id,
    job_action: j.action,
    status: j.status,
    resource_ids: [j.resource_id, j.target_id, result?.point_id].filter((x): x is string => !!x).filter((x, i, a) => a.indexOf(x) === i).join(','),
    create_time: qcTime(j.created_at),
    status_time: qcTime(j.finished_at ?? j.updated_at),
    progress: j.progress,
    error_message: j.error ?? '',
    ...(result?.point_id ? { snapshot_id: result.point_id } : {}),
  };
}

export function volumeItem(r: ResourceView) {
  const bytes = r.disks.reduce((n, d) => n + d.size, 0);
  return { volume_id: r.id, volume_name: r.name, description: '', size: gb(bytes), status: 'in-use', transition_status: '', create_time: qcTime(r.created_at), status_time: qcTime(r.created_at), agent_id: r.agent_id };
}

export function instanceItem(r: ResourceView) {
  return {
    instance_id: r.id,
    instance_name: r.name,
    description: '',
    status: 'running',
    transition_status: '',
    create_time: qcTime(r.created_at),
    status_time: qcTime(r.created_at),
    volumes: r.disks.map((d) => ({ device: d.name, size: gb(d.size), role: d.role })),
    agent_id: r.agent_id,
  };
}
