import type { Db } from '../db/connect.js';
import { liveShare } from '../db/live-share.js';
import type { AccountTable, BackupPolicyTable, BackupTaskTable, ChainTable, JobTable, PointTable, ResourceTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { forbidden, notFound } from '../domain/errors.js';
import { nowIso } from '../domain/time.js';
import type { Relation } from '../contract/index.js';

/**
 * The one place that decides what a caller may do with an ID. Services ask here
 * before they read or change anything, and use the rows it returns instead of
 * loading them again; an ID the caller may not see is reported as not found, so
 * its existence is never revealed.
 *
 * Relations: `owner` (the account that made it) may do all. A live share (see
 * `liveShare`) makes its recipient a `recipient` of the chain and its available
 * points, which grants `read` and `use` (making images) but never `write`. A
 * point a recipient may not see — in the recycle bin (alone or with its deleted
 * chain) or still being uploaded — is not found for it, whatever it asks to do
 * with it; the chain itself stays listed, as deleted, until it is purged.
 */
export type Need = 'read' | 'write' | 'use';

export interface ChainGrant<C extends ChainTable = ChainTable> {
  chain: C;
  relation: Relation;
}

export interface PointGrant extends ChainGrant {
  point: PointTable;
}

/** Why an agent's token is refused: said the same way by the API's route check and by Access. */
const AGENT_SCOPE_REFUSAL = 'This token was made for `cairn agent` and may do only an agent\'s work; use a full API token (`cairn login`) or the console.';

function permits(relation: Relation, need: Need): boolean {
  return relation === 'owner' || need !== 'write';
}

/** What a recipient sees of a shared chain's points: the available ones. */
function recipientSees(point: Pick<PointTable, 'status'>): boolean {
  return point.status === 'available';
}

// Resources are never shared: only the owner sees them.
function ownsResource(caller: Caller, row: Pick<ResourceTable, 'account_id'>): boolean {
  return row.account_id === caller.accountId;
}

export class Access {
  constructor(private readonly db: Db) {}

  /** Refuses anyone but a server administrator, with `refusal` (what to do instead, where there is something). */
  requireAdmin(caller: Caller, refusal = 'Only a server administrator can do this.'): void {
    if (!caller.isAdmin) throw forbidden(refusal);
  }

  /** Refuses an agent's token: it may do an agent's work only (the API also refuses it every route but an agent's). */
  requireFullScope(caller: Caller): void {
    if (caller.scope === 'agent') throw forbidden(AGENT_SCOPE_REFUSAL);
  }

  /** Asked for every request (src/api/auth.ts): a route that is not an agent's work (config.agentWork) wants a token of full scope. */
  requireScopeFor(caller: Caller, agentWork: boolean): void {
    if (!agentWork) this.requireFullScope(caller);
  }

  async account(caller: Caller, id: string): Promise<AccountTable> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (row.id !== caller.accountId && !caller.isAdmin)) throw notFound('Account', id);
    return row;
  }

  async subaccount(caller: Caller, id: string): Promise<AccountTable> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.parent_id !== caller.accountId) throw notFound('Sub-account', id);
    return row;
  }

  async resource(caller: Caller, id: string, _need: Need = 'read'): Promise<ResourceTable> {
    const row = await this.db.selectFrom('resources').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || !ownsResource(caller, row)) throw notFound('Resource', id);
    return row;
  }

  /** The resources among `ids` the caller may use for `need`, in one query. */
  async resources(caller: Caller, ids: ReadonlySet<string>, _need: Need): Promise<Set<string>> {
    if (ids.size === 0) return new Set();
    const rows = await this.db.selectFrom('resources').select(['id', 'account_id']).where('id', 'in', [...ids]).execute();
    return new Set(rows.filter((r) => ownsResource(caller, r)).map((r) => r.id));
  }

  /** Backup policies and tasks are the owner's alone, like resources. */
  async policy(caller: Caller, id: string): Promise<BackupPolicyTable> {
    const row = await this.db.selectFrom('backup_policies').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.account_id !== caller.accountId) throw notFound('Backup policy', id);
    return row;
  }

  async task(caller: Caller, id: string): Promise<BackupTaskTable> {
    const row = await this.db.selectFrom('backup_tasks').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.account_id !== caller.accountId) throw notFound('Backup task', id);
    return row;
  }

  async job(caller: Caller, id: string): Promise<JobTable> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.account_id !== caller.accountId) throw notFound('Job', id);
    return row;
  }

  async chain(caller: Caller, id: string, need: Need): Promise<ChainGrant> {
    return this.decideChain(caller, id, need, await this.db.selectFrom('chains').selectAll().where('id', '=', id).executeTakeFirst());
  }

  /** The same decision on a chain row the service loaded itself (with its aggregates, say), so the row is read once. */
  async decideChain<C extends ChainTable>(caller: Caller, id: string, need: Need, chain: C | undefined): Promise<ChainGrant<C>> {
    const relation = chain?.id === id ? (await this.relations(caller, [chain])).get(chain.id) : undefined;
    if (!chain || !relation) throw notFound('Backup chain', id);
    this.check(chain, relation, need);
    return { chain, relation };
  }

  /** The chains among `ids` the caller may use for `need`: one query for the chains, one for the shares. */
  async chains(caller: Caller, ids: ReadonlySet<string>, need: Need): Promise<Set<string>> {
    if (ids.size === 0) return new Set();
    const rows = await this.db.selectFrom('chains').select(['id', 'account_id']).where('id', 'in', [...ids]).execute();
    const relations = await this.relations(caller, rows);
    return new Set([...relations].filter(([, relation]) => permits(relation, need)).map(([id]) => id));
  }

  async point(caller: Caller, id: string, need: Need): Promise<PointGrant> {
    const point = await this.db.selectFrom('points').selectAll().where('id', '=', id).executeTakeFirst();
    const chain = point && (await this.db.selectFrom('chains').selectAll().where('id', '=', point.chain_id).executeTakeFirst());
    const relation = chain && (await this.relations(caller, [chain])).get(chain.id);
    // A point the caller may not see is not found as a point, whatever hides it: no
    // chain, no share, or (to a recipient) a point that is not available. Only then
    // is a recipient asking to write told it may not.
    if (!point || !chain || !relation || (relation === 'recipient' && !recipientSees(point))) throw notFound('Backup point', id);
    this.check(chain, relation, need);
    return { point, chain, relation };
  }

  /**
   * Several points with one need, every one checked before the caller acts on any:
   * a batch (QingCloud's DeleteSnapshots, ApplySnapshots) with one refused point
   * changes none.
   */
  async points(caller: Caller, ids: readonly string[], need: Need): Promise<PointGrant[]> {
    const grants: PointGrant[] = [];
    for (const id of ids) grants.push(await this.point(caller, id, need));
    return grants;
  }

  /** A recipient that sees the chain but asks to change it is told why not. */
  private check(chain: Pick<ChainTable, 'id'>, relation: Relation, need: Need): void {
    if (!permits(relation, need)) throw forbidden(`Backup chain ${chain.id} is shared with you read-only; only its owner can change it.`);
  }

  /**
   * The caller's relation to each chain; chains it has none with are left out.
   * Ownership is read off the rows; recipients take one query, whatever the number of chains.
   */
  private async relations(caller: Caller, chains: readonly Pick<ChainTable, 'id' | 'account_id'>[]): Promise<Map<string, Relation>> {
    const out = new Map<string, Relation>();
    const others: string[] = [];
    for (const c of chains) {
      if (c.account_id === caller.accountId) out.set(c.id, 'owner');
      else others.push(c.id);
    }
    // An agent backs up and rolls back its own account's resources: chains shared with the account are not its business.
    if (others.length && caller.scope !== 'agent') {
      const shared = await this.db
        .selectFrom('shares')
        .select('shares.chain_id')
        .where('shares.chain_id', 'in', others)
        .where('shares.recipient_id', '=', caller.accountId)
        .where(liveShare('shares', nowIso()))
        .execute();
      for (const s of shared) out.set(s.chain_id, 'recipient');
    }
    return out;
  }
}
