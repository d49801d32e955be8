import type { Db } from '../db/connect.js';
import type { AgentTable, JobTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, conflict, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { checkName } from '../domain/rules.js';
import { nowIso } from '../domain/time.js';
import type { Access } from './access.js';
import { isAgentOnline } from './agent-presence.js';
import type { ChainsService } from './chains.js';
import { jobView, type JobsService } from './jobs.js';
import type { AgentJobView, AgentView, JobView } from '../contract/index.js';

const AGENT_LEASE_MS = 60_000;

/**
 * Agents run where the disks are. They register the resources they host, call
 * in, and carry out the jobs the server queues for them (backup now, rollback);
 * an offline agent's jobs wait, then fail with a reason (JobsService.recover).
 */
export class AgentsService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly jobs: JobsService,
    private readonly chains: ChainsService,
  ) {}

  async register(caller: Caller, input: { name: string; resources: string[]; version?: string }): Promise<AgentView> {
    const name = checkName(input.name);
    const mine = await this.access.resources(caller, new Set(input.resources), 'write');
    const unknown = input.resources.find((id) => !mine.has(id));
    if (unknown) throw notFound('Resource', unknown);
    const now = nowIso();
    const seen = { last_seen_at: now, version: input.version ?? null, token_id: caller.tokenId ?? null };
    let agent = await this.db.selectFrom('agents').selectAll().where('account_id', '=', caller.accountId).where('name', '=', name).executeTakeFirst();
    if (!agent) {
      agent = { id: newId('agent'), account_id: caller.accountId, name, created_at: now, ...seen };
      await this.db.insertInto('agents').values(agent).execute();
    } else {
      await this.db.updateTable('agents').set(seen).where('id', '=', agent.id).execute();
    }
    if (input.resources.length) await this.db.updateTable('resources').set({ agent_id: agent.id }).where('id', 'in', input.resources).execute();
    return this.view({ ...agent, ...seen });
  }

  async list(caller: Caller): Promise<AgentView[]> {
    const rows = await this.db.selectFrom('agents').selectAll().where('account_id', '=', caller.accountId).orderBy('created_at').execute();
    return Promise.all(rows.map((a) => this.view(a)));
  }

  async get(caller: Caller, id: string): Promise<AgentTable> {
    const a = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!a || a.account_id !== caller.accountId) throw notFound('Agent', id);
    return a;
  }

  /** The agent calls in and takes its next job, if any. */
  async poll(caller: Caller, id: string, claim = true): Promise<AgentJobView | null> {
    const agent = await this.get(caller, id);
    await this.db.updateTable('agents').set({ last_seen_at: nowIso() }).where('id', '=', agent.id).execute();
    // A busy agent still calls in (claim=false) so it is not taken for offline.
    if (!claim) return null;
    const job = await this.jobs.claim(agent.id, AGENT_LEASE_MS);
    return job ? { ...jobView(job), params: JSON.parse(job.params) } as AgentJobView : null;
  }

  async report(caller: Caller, jobId: string, r: { bytes_done?: number; bytes_total?: number; status?: 'successful' | 'failed'; error?: string }): Promise<JobView> {
    const job = await this.access.job(caller, jobId);
    if (job.status !== 'working') throw conflict(`Job ${jobId} is ${job.status}; it takes no more reports.`);
    if (r.status === 'failed') await this.jobs.fail(job.id, r.error ?? 'The agent reported a failure without a reason.');
    else if (r.status === 'successful') await this.finish(job);
    else await this.jobs.progress(job.id, { bytesDone: r.bytes_done, bytesTotal: r.bytes_total, leaseMs: AGENT_LEASE_MS });
    return jobView((await this.jobs.byId(job.id))!);
  }

  /** "Backup now" from the console or API: queued for the resource's agent. */
  async requestBackup(caller: Caller, resourceId: string, input: { type: 'full' | 'incremental'; name?: string }): Promise<JobView> {
    const resource = await this.access.resource(caller, resourceId, 'write');
    const agent = await this.onlineAgentOf(resource.agent_id, resourceId);
    return jobView(await this.jobs.create({ accountId: caller.accountId, action: 'backup', runner: agent.id, resourceId, params: input }));
  }

  /** Rollback: the resource's agent writes the point back into the resource's own disks. */
  /** Rollbacks to several points, asked for once Access has allowed every one (a refused one asks for none). */
  async requestRollbacks(caller: Caller, pointIds: readonly string[]): Promise<JobView[]> {
    await this.access.points(caller, pointIds, 'write');
    const jobs: JobView[] = [];
    for (const id of pointIds) jobs.push(await this.requestRollback(caller, id));
    return jobs;
  }

  async requestRollback(caller: Caller, pointId: string): Promise<JobView> {
    const { point } = await this.access.point(caller, pointId, 'write');
    if (point.status !== 'available') throw conflict(`Backup point ${pointId} is ${point.status}; only an available point can be rolled back to.`, 'point_not_available');
    const resource = await this.access.resource(caller, point.resource_id, 'write');
    const agent = await this.onlineAgentOf(resource.agent_id, resource.id);
    return jobView(await this.jobs.create({ accountId: caller.accountId, action: 'rollback', runner: agent.id, resourceId: resource.id, targetId: pointId, params: { point_id: pointId } }));
  }

  private async finish(job: JobTable): Promise<void> {
    if (job.action === 'backup') throw badRequest('A backup job finishes when its upload is committed, not by a report.', 'status');
    if (job.action === 'rollback' && job.target_id) await this.chains.moveHead(job.target_id);
    await this.jobs.succeed(job.id);
  }

  private async onlineAgentOf(agentId: string | null, resourceId: string): Promise<AgentTable> {
    const agent = agentId ? await this.db.selectFrom('agents').selectAll().where('id', '=', agentId).executeTakeFirst() : undefined;
    if (!agent) throw conflict(`No agent hosts ${resourceId}; start one with \`cairn agent --map ${resourceId}:…\` on the machine with its disks.`, 'agent_offline');
    if (!isAgentOnline(agent.last_seen_at)) throw conflict(`Agent ${agent.name} (${agent.id}) that hosts ${resourceId} is offline (last seen ${agent.last_seen_at ?? 'never'}); start it again.`, 'agent_offline');
    return agent;
  }

  private async view(a: AgentTable): Promise<AgentView> {
    const res = await this.db.selectFrom('resources').select('id').where('agent_id', '=', a.id).execute();
    return { id: a.id, name: a.name, online: isAgentOnline(a.last_seen_at), last_seen_at: a.last_seen_at, version: a.version, token_id: a.token_id, resources: res.map((r) => r.id), created_at: a.created_at };
  }
}
