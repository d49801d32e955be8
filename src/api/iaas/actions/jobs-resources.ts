import type { ResourceView } from '../../../contract/index.js';
import { badParameter } from '../errors.js';
import { instanceItem, jobItem, volumeItem } from '../views.js';
import type { Action, ActionContext } from '../action.js';

const JOB_STATUSES = new Set(['pending', 'working', 'successful', 'failed'] as const);
type JobStatus = typeof JOB_STATUSES extends Set<infer T> ? T : never;

const DescribeJobs: Action = async ({ caller, params: p, s }) => {
  const ids = p.list('jobs');
  const status = p.list('status').map((st) => {
    if (!JOB_STATUSES.has(st as JobStatus)) throw badParameter(`status.N must be among ${[...JOB_STATUSES].join(', ')}; "${st}" is not.`);
    return st as JobStatus;
  });
  const page = p.page();
  for (const id of ids) await s.jobs.get(caller, id);
  const res = await s.jobs.list(caller, page, { status, ...(ids.length ? { ids } : {}), action: p.string('job_action') || undefined });
  return { job_set: res.items.map(jobItem), total_count: res.total_count };
};

/** Volumes and instances are Cairn's resources of either kind; a named one that is not the caller's is not found. */
async function describeResources({ caller, params: p, s }: ActionContext, kind: 'volume' | 'instance'): Promise<{ items: ResourceView[]; total_count: number }> {
  const ids = p.list(kind === 'volume' ? 'volumes' : 'instances');
  const page = p.page();
  if (ids.length) {
    const items = [];
    for (const id of ids) {
      const r = await s.resources.get(caller, id);
      if (r.kind !== kind) throw badParameter(`${id} is ${r.kind === 'volume' ? 'a volume' : 'an instance'}; ask ${r.kind === 'volume' ? 'DescribeVolumes' : 'DescribeInstances'} for it.`);
      items.push(r);
    }
    return { items: items.slice(page.offset, page.offset + page.limit), total_count: items.length };
  }
  const res = await s.resources.list(caller, page, { kind, search: p.string('search_word') || undefined });
  return { items: res.items, total_count: res.total_count };
}

const DescribeVolumes: Action = async (ctx) => {
  const { items, total_count } = await describeResources(ctx, 'volume');
  return { volume_set: items.map(volumeItem), total_count };
};

const DescribeInstances: Action = async (ctx) => {
  const { items, total_count } = await describeResources(ctx, 'instance');
  return { instance_set: items.map(instanceItem), total_count };
};

export const jobAndResourceActions = { DescribeJobs, DescribeVolumes, DescribeInstances };
