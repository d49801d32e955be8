import type { Command } from 'commander';
import { badRequest } from '../domain/errors.js';
import { resolveClient } from './config-file.js';
import type { CairnClient, Resource } from './http-client.js';
import { collect, globalsOf } from './options.js';
import { printMessage } from './output.js';
import { backupResource, pointDiskSource, restoreFromServer } from './transfer.js';
import { withPool } from './backups.js';
import { VERSION } from '../version.js';
import type { AgentJobView, AgentView, PointDetailView } from '../contract/index.js';
import type { ChunkPool } from '../compute/chunk-pool.js';

/** `vol-x:PATH` or `i-x:root=PATH,data=PATH` → resource → disk name (or '' for the only disk) → path. */
export function parseMaps(specs: string[]): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const spec of specs) {
    const at = spec.indexOf(':');
    if (at <= 0) throw badRequest(`--map "${spec}" must be RESOURCE:PATH or RESOURCE:disk=PATH,disk=PATH.`, 'map');
    const id = spec.slice(0, at);
    const rest = spec.slice(at + 1);
    const disks: Record<string, string> = {};
    for (const part of rest.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) disks[''] = part;
      else disks[part.slice(0, eq)] = part.slice(eq + 1);
    }
    out.set(id, disks);
  }
  return out;
}

/** How often a running job tells the server how far it got (the console polls each second). */
export const PROGRESS_EVERY_MS = 1000;

function pathsFor(resource: Resource, map: Record<string, string>): Record<string, string> {
  if (map[''] !== undefined) {
    if (resource.disks.length !== 1) throw badRequest(`${resource.id} has ${resource.disks.length} disks; map each as disk=PATH.`, 'map');
    return { [resource.disks[0]!.name]: map['']! };
  }
  return map;
}

/**
 * The agent: runs on the machine that has the disks, hosts the resources it is
 * given, and carries out the server's jobs for them one at a time.
 */
export function agentCommand(program: Command): void {
  program
    .command('agent')
    .description('Host resources on this machine and carry out the server\'s jobs for them (backup now, rollback)')
    .requiredOption('--name <name>', 'a name for this agent, e.g. the host name')
    .requiredOption('--map <RESOURCE:PATH>', 'a resource and where its disks are: vol-x:/dev/vdb or i-x:root=/img/a,data=/img/b (repeat)', collect)
    .option('--poll-ms <ms>', 'how often to ask for work', '1000')
    .action(async (_o, cmd: Command) => {
      const o = globalsOf<{ name: string; map: string[]; pollMs: string }>(cmd);
      const client = await resolveClient(o, { requireToken: true });
      const maps = parseMaps(o.map);
      const { agent } = await client.post<{ agent: AgentView }>('/api/v1/agents', { name: o.name, resources: [...maps.keys()], version: VERSION });
      printMessage(`agent ${agent.id} (${agent.name}) hosting ${[...maps.keys()].join(', ')}`);
      let stopping = false;
      const stop = () => {
        stopping = true;
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      await withPool(async (pool) => {
        while (!stopping) {
          let job: AgentJobView | null = null;
          try {
            job = (await client.post<{ job: AgentJobView | null }>(`/api/v1/agents/${agent.id}/poll`)).job;
          } catch (err) {
            process.stderr.write(`agent: poll failed: ${err instanceof Error ? err.message : String(err)}\n`);
          }
          if (job) await runJob(client, agent.id, job, maps, pool);
          else await new Promise((r) => setTimeout(r, Number(o.pollMs)));
        }
      });
    });
}

async function runJob(client: CairnClient, agentId: string, job: AgentJobView, maps: Map<string, Record<string, string>>, pool: ChunkPool): Promise<void> {
  const heartbeat = setInterval(() => void client.post(`/api/v1/agents/${agentId}/poll?claim=false`).catch(() => undefined), 10_000);
  process.stdout.write(`agent: job ${job.id} ${job.action} ${job.resource_id ?? ''}\n`);
  try {
    const map = job.resource_id ? maps.get(job.resource_id) : undefined;
    if (!job.resource_id || !map) throw new Error(`This agent does not host ${job.resource_id}; restart it with --map ${job.resource_id}:PATH.`);
    const { resource } = await client.get<{ resource: Resource }>(`/api/v1/resources/${job.resource_id}`);
    const paths = pathsFor(resource, map);
    if (job.action === 'backup') {
      // The commit of the upload finishes the job on the server.
      const point = await backupResource(client, { resource, paths, type: job.params.type ?? 'incremental', name: job.params.name, jobId: job.id, pool });
      process.stdout.write(`agent: job ${job.id} made point ${point.id}\n`);
      return;
    }
    if (job.action === 'rollback') {
      const pointId = job.params.point_id!;
      const { point } = await client.get<{ point: PointDetailView }>(`/api/v1/points/${pointId}`);
      const total = point.disks.reduce((n, d) => n + d.size, 0);
      let before = 0;
      let written = 0;
      let lastReport = 0;
      for (const disk of point.disks) {
        const target = paths[disk.name];
        if (!target) throw new Error(`Disk "${disk.name}" of ${resource.id} is not mapped on this agent.`);
        const r = await restoreFromServer(client, {
          ...pointDiskSource(pointId, disk.name),
          target,
          mode: 'rollback',
          pool,
          // The console shows the job's bytes, rate and time left while it runs: reported once a second, not per chunk.
          onProgress: (p) => {
            const now = Date.now();
            if (now - lastReport < PROGRESS_EVERY_MS) return;
            lastReport = now;
            void client.post(`/api/v1/jobs/${job.id}/report`, { bytes_done: before + p.bytesDone, bytes_total: total }).catch(() => undefined);
          },
        });
        before += disk.size;
        written += r.chunksWritten;
        await client.post(`/api/v1/jobs/${job.id}/report`, { bytes_done: before, bytes_total: total });
      }
      await client.post(`/api/v1/jobs/${job.id}/report`, { status: 'successful' });
      process.stdout.write(`agent: job ${job.id} rolled back to ${pointId}, ${written} chunks written\n`);
      return;
    }
    throw new Error(`This agent does not know how to carry out "${job.action}" jobs; upgrade it.`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`agent: job ${job.id} failed: ${message}\n`);
    await client.post(`/api/v1/jobs/${job.id}/report`, { status: 'failed', error: message }).catch(() => undefined);
  } finally {
    clearInterval(heartbeat);
  }
}
