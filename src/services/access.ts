import type { Db } from '../db/connect.js';
import type { AccountTable, ChainTable, JobTable, PointTable, ResourceTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { CairnError, forbidden, notFound } from '../domain/errors.js';

/**
 * The one place that decides what a caller may do with an ID. Services ask here
 * before they read or change anything; an ID the caller may not see is reported
 * as not found, so its existence is never revealed.
 *
 * Relations: `owner` (the account that made it). Sharing adds `recipient` for
 * chains (and their points), which grants `read` and `use` but never `write`.
 */
export type Need = 'read' | 'write' | 'use';
export type Relation = 'owner' | 'recipient';

export interface RecipientRelation {
  /** Whether `accountId` currently holds a live share of `chainId`. */
  isRecipient(accountId: string, chainId: string): Promise<boolean>;
}

export class Access {
  private recipients: RecipientRelation | null = null;

  constructor(private readonly db: Db) {}

  /** Sharing plugs its relation in here; nothing else needs to change. */
  useRecipientRelation(relation: RecipientRelation): void {
    this.recipients = relation;
  }

  requireAdmin(caller: Caller): void {
    if (!caller.isAdmin) throw forbidden('Only a server administrator can do this.');
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
    // Resources are never shared: only the owner sees them.
    if (!row || row.account_id !== caller.accountId) throw notFound('Resource', id);
    return row;
  }

  async job(caller: Caller, id: string): Promise<JobTable> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.account_id !== caller.accountId) throw notFound('Job', id);
    return row;
  }

  async chain(caller: Caller, id: string, need: Need): Promise<{ chain: ChainTable; relation: Relation }> {
    const chain = await this.db.selectFrom('chains').selectAll().where('id', '=', id).executeTakeFirst();
    if (!chain) throw notFound('Backup chain', id);
    const relation = await this.relationTo(caller, chain);
    if (!relation) throw notFound('Backup chain', id);
    if (relation === 'recipient' && need === 'write')
      throw forbidden(`Backup chain ${id} is shared with you read-only; only its owner can change it.`);
    return { chain, relation };
  }

  async point(caller: Caller, id: string, need: Need): Promise<{ point: PointTable; chain: ChainTable; relation: Relation }> {
    const point = await this.db.selectFrom('points').selectAll().where('id', '=', id).executeTakeFirst();
    if (!point) throw notFound('Backup point', id);
    try {
      const { chain, relation } = await this.chain(caller, point.chain_id, need);
      return { point, chain, relation };
    } catch (err) {
      if (err instanceof CairnError && err.status === 404) throw notFound('Backup point', id);
      throw err;
    }
  }

  private async relationTo(caller: Caller, chain: ChainTable): Promise<Relation | null> {
    if (chain.account_id === caller.accountId) return 'owner';
    if (this.recipients && (await this.recipients.isRecipient(caller.accountId, chain.id))) return 'recipient';
    return null;
  }
}
