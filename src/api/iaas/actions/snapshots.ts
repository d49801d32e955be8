import { badParameter } from '../errors.js';
import { POINT_STATUS_OF, snapshotItem } from '../views.js';
import type { Action } from '../action.js';

/**
 * Snapshots (备份) are Cairn's points; a snapshot tree, whose root (`root_id`)
 * is its full snapshot, is a chain, named by that point's ID.
 */

const DescribeSnapshots: Action = async ({ caller, params: p, s }) => {
  const ids = p.list('snapshots');
  const page = p.page();
  // Accepted for QingCloud's tools; every answer here is already the verbose one.
  p.flag('verbose');
  const res = await s.chains.listPoints(caller, page, {
    ...(ids.length ? { ids } : {}),
    resource_id: p.string('resource_id'),
    type: p.oneOf('snapshot_type', { '1': 'full' as const, '0': 'incremental' as const }),
    statuses: p.list('status').map((st) => {
      const mapped = POINT_STATUS_OF[st];
      if (!mapped) throw badParameter(`status.N must be among ${Object.keys(POINT_STATUS_OF).join(', ')}; "${st}" is not.`);
      return mapped;
    }),
    search: p.string('search_word') || undefined,
  });
  return { snapshot_set: res.items.map(({ point, chain }) => snapshotItem(point, chain)), total_count: res.total_count };
};

/** Carried out by each resource's agent, as `cairn` "backup now" is; the snapshot IDs come with the finished jobs (DescribeJobs). */
const CreateSnapshots: Action = async ({ caller, params: p, s }) => {
  const resources = p.requiredList('resources');
  const type = p.flag('is_full') ? 'full' : 'incremental';
  const name = p.string('snapshot_name') || undefined;
  for (const id of resources) await s.resources.get(caller, id);
  const jobs = [];
  for (const id of resources) jobs.push(await s.agents.requestBackup(caller, id, { type, ...(name ? { name } : {}) }));
  return { job_ids: jobs.map((j) => j.id), job_id: jobs[0]!.id, snapshots: [] };
};

/** Deleting a full snapshot deletes its whole tree, as on QingCloud; all go to the recycle bin. */
const DeleteSnapshots: Action = async (ctx) => {
  const ids = ctx.params.requiredList('snapshots');
  const deleted = await ctx.s.chains.deletePoints(ctx.caller, ids);
  return { snapshots: ids, purge_time: deleted.map((d) => d.purge_after) };
};

/** Rollback: each snapshot's agent writes it back into its own resource's disks. */
const ApplySnapshots: Action = async (ctx) => {
  const ids = ctx.params.requiredList('snapshots');
  const jobs = await ctx.s.agents.requestRollbacks(ctx.caller, ids);
  return { job_ids: jobs.map((j) => j.id), job_id: jobs[0]!.id };
};

const ModifySnapshotAttributes: Action = async ({ caller, params: p, s }) => {
  const id = p.required('snapshot');
  const name = p.string('snapshot_name');
  const description = p.string('description');
  const point = await s.chains.editPoint(caller, id, { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) });
  return { snapshot_id: point.id };
};

/** A new volume sized like the snapshot's disk; its data is written by `cairn restore`, as after the REST route. */
const CreateVolumeFromSnapshot: Action = async ({ caller, params: p, s }) => {
  const id = p.required('snapshot');
  const disk = p.string('disk');
  const volume = await s.resources.createFromPoint(caller, id, { name: p.string('volume_name') || `from ${id}`, ...(disk ? { disk } : {}) });
  return { volume_id: volume.id };
};

/** An image names the snapshot's disk data; nothing is copied, so it is ready at once. */
const CaptureImageFromSnapshot: Action = async ({ caller, params: p, s }) => {
  const id = p.required('snapshot');
  const disk = p.string('disk');
  const image = await s.images.create(caller, { point_id: id, name: p.string('image_name') || `from ${id}`, ...(disk ? { disk } : {}) });
  return { image_id: image.id };
};

export const snapshotActions = { DescribeSnapshots, CreateSnapshots, DeleteSnapshots, ApplySnapshots, ModifySnapshotAttributes, CreateVolumeFromSnapshot, CaptureImageFromSnapshot };
