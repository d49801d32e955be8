import type { Command } from 'commander';
import { badRequest, CairnError } from '../domain/errors.js';
import { createChunkPool } from '../compute/native-pool.js';
import type { ChunkPool } from '../compute/chunk-pool.js';
import { resolveClient } from './config-file.js';
import type { CairnClient, Job, Page, Resource } from './http-client.js';
import { addPageOptions, collect, globalsOf, pageQuery, requireYes, type PageFlags } from './options.js';
import { formatBytes, formatTime, printJson, printList, printMessage, printObject, renderTable, type Cell, type Column } from './output.js';
import { progressReporter } from './progress.js';
import { waitForJob } from './jobs.js';
import { backupResource, pointDiskPaths, pointDiskSource, restoreFromServer } from './transfer.js';
import type { ChainView as ServerChainView, GcReport, PointDetailView, PointView, RestoredView, VerifyReport } from '../contract/index.js';

export type { PointView };
export type ChainView = ServerChainView & { points?: PointView[] };

/** `name=PATH` pairs; for a one-disk resource a bare PATH is enough. */
export function diskPaths(specs: string[] | undefined, resource: Resource): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs ?? []) {
    const at = spec.indexOf('=');
    if (at < 0) {
      if (resource.disks.length !== 1) throw badRequest(`${resource.id} has ${resource.disks.length} disks; name each: --disk ${resource.disks[0]?.name ?? 'root'}=PATH.`, 'disk');
      out[resource.disks[0]!.name] = spec;
    } else out[spec.slice(0, at)] = spec.slice(at + 1);
  }
  return out;
}

export async function withPool<T>(fn: (pool: ChunkPool) => Promise<T>): Promise<T> {
  const pool = createChunkPool();
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/** The columns the seed's lists share: the owner's backup data and the recipient's Shared backups. */
export const chainSummaryColumns: Column<ServerChainView>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'Name', value: (c) => c.name },
  { header: 'Status', value: (c) => c.status },
  { header: 'Resource', value: (c) => (c.resource_name ? `${c.resource_id} (${c.resource_name})` : c.resource_id) },
  { header: 'Total size', value: (c) => formatBytes(c.total_size), align: 'right' },
  { header: 'Points', value: (c) => c.point_count, align: 'right' },
];

const chainColumns: Column<ChainView>[] = [
  ...chainSummaryColumns,
  { header: 'Shared', value: (c) => (c.share_count ? `with ${c.share_count}` : '') },
  { header: 'Created', value: (c) => formatTime(c.created_at) },
];

/** A chain's attributes as label/value rows, for `chain show` and `shared show`. */
export function chainRows(c: ServerChainView): [string, Cell][] {
  return [
    ['ID', c.id],
    ['Name', c.name],
    ['Description', c.description],
    ['Status', c.status],
    ['Resource', c.resource_name ? `${c.resource_id} (${c.resource_name})` : c.resource_id],
    ['Total size', formatBytes(c.total_size)],
    ['Points', c.point_count],
    ['Head', c.head_point_id],
    ['Created', formatTime(c.created_at)],
  ];
}

/** The points of a chain as an indented tree, the head marked with "*". */
export function renderPointTree(points: PointView[]): string {
  const children = new Map<string | null, PointView[]>();
  const ids = new Set(points.map((p) => p.id));
  for (const p of points) {
    const parent = p.parent_id && ids.has(p.parent_id) ? p.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const rows: string[][] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const p of children.get(parent) ?? []) {
      rows.push([`${'  '.repeat(depth)}${p.is_head ? '* ' : ''}${p.id}`, p.type, p.status, p.name, formatBytes(p.logical_size), formatBytes(p.stored_bytes), formatTime(p.snapshot_at)]);
      walk(p.id, depth + 1);
    }
  };
  walk(null, 0);
  return renderTable(['Point (* head)', 'Type', 'Status', 'Name', 'Size', 'Stored', 'Taken'], rows);
}

/** Waits for a job and fails with its reason if it failed. */
async function settle(client: CairnClient, id: string): Promise<Job> {
  const job = await waitForJob((j) => client.get<{ job: Job }>(`/api/v1/jobs/${j}`), id, { intervalMs: 500 });
  if (job.status === 'failed') throw new CairnError(500, 'job_failed', `Job ${id} failed: ${job.error ?? 'no reason given'}`);
  return job;
}

export function backupCommands(program: Command): void {
  program
    .command('backup <resource>')
    .description('Back up a resource\'s disks from this machine into a backup point')
    .option('--disk <name=PATH>', 'where a disk of the resource is (repeat for an instance; a bare PATH for a volume)', collect)
    .option('--full', 'start a new chain with a full point (default: incremental on the active chain)')
    .option('--name <name>', 'name of the point (and of the chain, for a full point)')
    .option('--description <text>', 'description')
    .option('--quiet', 'no progress output')
    .action(async (resourceId: string, _o, cmd: Command) => {
      const o = globalsOf<{ disk?: string[]; full?: boolean; name?: string; description?: string; quiet?: boolean }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const { resource } = await client.get<{ resource: Resource }>(`/api/v1/resources/${resourceId}`);
      const paths = diskPaths(o.disk, resource);
      const bar = progressReporter(`backup ${resourceId}`, { quiet: o.quiet || o.json });
      const point = await withPool((pool) =>
        backupResource(client, { resource, paths, type: o.full ? 'full' : 'incremental', name: o.name, description: o.description, pool, onProgress: (p) => bar.update(p) }),
      ).finally(() => bar.stop());
      if (o.json) return printJson({ point });
      printMessage(`Backed up ${resourceId} as ${point.type} point ${point.id} of chain ${point.chain_id}: ${formatBytes(point.logical_size)} read, ${formatBytes(point.stored_bytes)} newly stored.`);
    });

  program
    .command('restore <point>')
    .description('Restore a disk of a backup point to a file or block device, verifying every chunk')
    .requiredOption('--to <path>', 'target file (written sparse) or block device')
    .option('--disk <name>', 'which disk of an instance point (default: the system disk)')
    .option('--device', 'the target is an existing device or image to overwrite in place')
    .option('--quiet', 'no progress output')
    .action(async (pointId: string, _o, cmd: Command) => {
      const o = globalsOf<{ to: string; disk?: string; device?: boolean; quiet?: boolean }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      // The pool's workers start while the point and its manifest are fetched.
      const { disk, r } = await withPool(async (pool) => {
        const { point } = await client.get<{ point: PointDetailView }>(`/api/v1/points/${pointId}`);
        const disk = pointDiskPaths(point, o.disk);
        const bar = progressReporter(`restore ${pointId}/${disk.name}`, { quiet: o.quiet || o.json });
        const r = await restoreFromServer(client, {
          ...pointDiskSource(pointId, disk.name),
          target: o.to,
          mode: o.device ? 'device' : 'file',
          pool,
          onProgress: (p) => bar.update(p),
        }).finally(() => bar.stop());
        return { disk, r };
      });
      if (o.json) return printJson({ restored: { point_id: pointId, disk: disk.name, target: o.to, ...r } });
      printMessage(`Restored ${pointId} disk ${disk.name} (${formatBytes(r.size)}) to ${o.to}: ${r.chunksWritten} chunks written, ${r.chunksSkipped} holes or unchanged.`);
    });

  program
    .command('rollback <point>')
    .description('Roll the point\'s resource back to it: its agent rewrites the changed chunks of its disks')
    .option('--no-wait', 'return once the job is queued')
    .action(async (pointId: string, _o, cmd: Command) => {
      const o = globalsOf<{ wait: boolean }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const { job } = await client.post<{ job: Job }>(`/api/v1/points/${pointId}/rollback`);
      const done = o.wait ? await settle(client, job.id) : job;
      if (o.json) return printJson({ job: done });
      printMessage(o.wait ? `Rolled back to ${pointId} (job ${job.id}); the chain's head is now ${pointId}.` : `Rollback queued as job ${job.id}.`);
    });

  const volume = program.command('volume').description('Volumes made from backups');
  volume
    .command('create-from <point>')
    .description('创建硬盘: make a new volume from a disk of a point, and restore its data to a path')
    .requiredOption('--name <name>', 'name of the new volume')
    .option('--disk <name>', 'which disk of an instance point (default: the system disk)')
    .option('--to <path>', 'restore the data here now (a file, written sparse, or a device)')
    .option('--quiet', 'no progress output')
    .action(async (pointId: string, _o, cmd: Command) => {
      const o = globalsOf<{ name: string; disk?: string; to?: string; quiet?: boolean }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const { resource } = await client.post<{ resource: Resource & { source: { disk: string } } }>(`/api/v1/points/${pointId}/volumes`, { name: o.name, ...(o.disk ? { disk: o.disk } : {}) });
      if (o.to) {
        const bar = progressReporter(`restore ${pointId}`, { quiet: o.quiet || o.json });
        await withPool((pool) =>
          restoreFromServer(client, {
            ...pointDiskSource(pointId, resource.source.disk),
            target: o.to!,
            mode: 'file',
            pool,
            onProgress: (p) => bar.update(p),
          }),
        ).finally(() => bar.stop());
      }
      if (o.json) return printJson({ resource });
      printMessage(`Created volume ${resource.id} (${resource.name}) from ${pointId}${o.to ? `, data restored to ${o.to}` : ''}.`);
    });

  const chain = program.command('chain').description('Backup chains (备份链)');
  addPageOptions(
    chain
      .command('list')
      .description('Your backup chains')
      .option('--resource <id>', 'only this resource\'s chains')
      .option('--deleted', 'chains in the recycle bin')
      .option('--search <text>', 'by name or ID'),
  ).action(async (_o, cmd: Command) => {
    const o = globalsOf<PageFlags & { resource?: string; deleted?: boolean; search?: string }>(cmd);
    const client = await resolveClient(o, { requireToken: true });
    const page = await client.get<Page<ChainView>>('/api/v1/chains', { ...pageQuery(o), resource_id: o.resource, status: o.deleted ? 'deleted' : undefined, search: o.search });
    printList(page, chainColumns, { json: o.json, noun: 'chains', offset: pageQuery(o).offset });
  });
  chain
    .command('show <chain>')
    .description('A chain and its points as a tree, the head marked')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf(cmd);
      const { chain: c } = await (await resolveClient(o, { requireToken: true })).get<{ chain: ChainView }>(`/api/v1/chains/${id}`);
      if (o.json) return printJson({ chain: c });
      printObject({ chain: c }, chainRows(c));
      process.stdout.write(`\n${renderPointTree(c.points ?? [])}\n`);
    });
  editCommand(chain, 'chains');
  deleteCommand(chain, 'chains', 'the chain and all its points go to the recycle bin');

  const point = program.command('point').description('Backup points (备份点)');
  point
    .command('show <point>')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf(cmd);
      const { point: p } = await (await resolveClient(o, { requireToken: true })).get<{ point: PointDetailView }>(`/api/v1/points/${id}`);
      if (o.json) return printJson({ point: p });
      printObject({ point: p }, [
        ['ID', p.id],
        ['Chain', p.chain_id],
        ['Parent', p.parent_id],
        ['Type', p.type],
        ['Name', p.name],
        ['Status', p.status],
        ['Head', p.is_head ? 'yes' : 'no'],
        ['Taken', formatTime(p.snapshot_at)],
        ['Size', formatBytes(p.logical_size)],
        ['Newly stored', formatBytes(p.stored_bytes)],
        ['Disks', p.disks.map((d) => `${d.name} ${formatBytes(d.size)} (${d.role})`).join(', ')],
      ]);
    });
  editCommand(point, 'points');
  deleteCommand(point, 'points', 'the point goes to the recycle bin (deleting a full point deletes its chain)');

  const recycle = program.command('recycle').description('The recycle bin: deleted chains and points, restorable for a while');
  addPageOptions(recycle.command('list')).action(async (_o, cmd: Command) => {
    const o = globalsOf<PageFlags>(cmd);
    const page = await (await resolveClient(o, { requireToken: true })).get<Page<{ kind: string; id: string; name: string; resource_id: string; deleted_at: string; purge_after: string }>>('/api/v1/recycle-bin', { ...pageQuery(o) });
    printList(page, [
      { header: 'Kind', value: (r) => r.kind },
      { header: 'ID', value: (r) => r.id },
      { header: 'Name', value: (r) => r.name },
      { header: 'Resource', value: (r) => r.resource_id },
      { header: 'Deleted', value: (r) => formatTime(r.deleted_at) },
      { header: 'Purged after', value: (r) => formatTime(r.purge_after) },
    ], { json: o.json, noun: 'entries', offset: pageQuery(o).offset });
  });
  recycle.command('restore <id>').action(async (id: string, _o, cmd: Command) => {
    const o = globalsOf(cmd);
    const r = await (await resolveClient(o, { requireToken: true })).post<{ restored: RestoredView }>(`/api/v1/recycle-bin/${id}/restore`);
    if (o.json) return printJson(r);
    printMessage(`Restored ${r.restored.kind} ${r.restored.id} from the recycle bin.`);
  });
  recycle
    .command('purge <id>')
    .option('--yes', 'confirm')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `purge ${id}`, 'it can no longer be restored');
      await (await resolveClient(o, { requireToken: true })).delete(`/api/v1/recycle-bin/${id}`);
      if (o.json) return printJson({ purged: id });
      printMessage(`Purged ${id}; its data is freed at the next garbage collection.`);
    });

  program
    .command('gc')
    .description('Run garbage collection now (administrators)')
    .action(async (_o, cmd: Command) => {
      const o = globalsOf(cmd);
      const r = await (await resolveClient(o, { requireToken: true })).post<{ report: GcReport }>('/api/v1/admin/gc');
      if (o.json) return printJson(r);
      const temporaries = r.report.temporary_files_removed ? `, and ${r.report.temporary_files_removed} temporary files left by interrupted writes (${formatBytes(r.report.temporary_bytes_removed)})` : '';
      printMessage(`Garbage collection: ${r.report.chunks_removed} chunks (${formatBytes(r.report.bytes_removed)}) and ${r.report.manifests_removed} manifests removed${temporaries}; ${r.report.live_chunks} chunks in use.`);
    });

  program
    .command('verify')
    .description('Re-read stored chunks and report damaged ones: one point (--point), or the whole store (administrators)')
    .option('--point <id>', 'verify the chunks of this point')
    .action(async (_o, cmd: Command) => {
      const o = globalsOf<{ point?: string }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const r = await client.post<{ report: VerifyReport }>(o.point ? `/api/v1/points/${o.point}/verify` : '/api/v1/admin/verify');
      if (o.json) printJson(r);
      else {
        printMessage(`${r.report.chunks_checked} chunks checked, ${r.report.damaged.length} damaged.`);
        for (const d of r.report.damaged) process.stdout.write(`  ${d.digest}: ${d.problem} (points: ${d.points.join(', ') || 'none'})\n`);
        if (r.report.damaged.length) printMessage('Damaged chunks are quarantined: the next backup that contains one uploads it again, which repairs every point that names it.');
      }
      if (r.report.damaged.length) process.exitCode = 6;
    });
}

function editCommand(parent: Command, kind: 'chains' | 'points'): void {
  parent
    .command('edit <id>')
    .description('Change the name or the description')
    .option('--name <name>')
    .option('--description <text>')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ name?: string; description?: string }>(cmd);
      const r = await (await resolveClient(o, { requireToken: true })).patch<Record<string, { id: string; name: string }>>(`/api/v1/${kind}/${id}`, {
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
      });
      if (o.json) return printJson(r);
      printMessage(`Updated ${id}.`);
    });
}

function deleteCommand(parent: Command, kind: 'chains' | 'points', consequence: string): void {
  parent
    .command('delete <id>')
    .option('--yes', 'confirm')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `delete ${id}`, consequence);
      const r = await (await resolveClient(o, { requireToken: true })).delete<{ deleted: { id: string; purge_after: string; deleted?: string } }>(`/api/v1/${kind}/${id}`);
      if (o.json) return printJson(r);
      printMessage(`Deleted ${r.deleted.deleted ?? kind.slice(0, -1)} ${r.deleted.id}; restorable from the recycle bin until ${formatTime(r.deleted.purge_after)}.`);
    });
}
