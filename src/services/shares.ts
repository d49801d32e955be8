import type { SelectQueryBuilder } from 'kysely';
import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import { inOrderOf, keysetPage } from '../db/keyset.js';
import { liveShare } from '../db/live-share.js';
import { keptTextContains, shareSearchText } from '../db/search.js';
import type { ShareTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { badRequest, CairnError, conflict, notFound } from '../domain/errors.js';
import { isId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { nowIso } from '../domain/time.js';
import type { Access } from './access.js';
import type { ChainRow, ChainsService } from './chains.js';
import type { EventsService } from './events.js';
import type { SharedChainDetailView, SharedChainView, ShareView } from '../contract/index.js';

export interface ShareSettings {
  maxRecipientsPerChain: number;
  maxSharesPerAccount: number;
}

/**
 * Sharing chains with other accounts (共享备份). A share is read-only: while it
 * is live Access gives its recipient the `recipient` relation, which grants reading the
 * chain and making images from it, and nothing else. Ending a share (cancel,
 * expiry, the recipient's delete) removes only that relation.
 */
export class SharesService {
  constructor(
    private readonly db: Db,
    private readonly access: Access,
    private readonly chains: ChainsService,
    private readonly events: EventsService,
    private readonly settings: ShareSettings,
  ) {}

  /** Shares a chain with several accounts in one request: all or none. */
  async share(caller: Caller, chainId: string, input: { recipients: string[]; expires_at?: string; note?: string }): Promise<ShareView[]> {
    const { chain } = await this.access.chain(caller, chainId, 'write');
    if (chain.status !== 'available') throw conflict(`Backup chain ${chainId} is deleted; restore it from the recycle bin before sharing it.`);
    if (input.recipients.length === 0) throw badRequest('Name at least one recipient by registered email or account ID.', 'recipients');
    if (input.expires_at !== undefined && !(Date.parse(input.expires_at) > Date.now()))
      throw badRequest(`The expiry time ${input.expires_at} is not in the future.`, 'expires_at');
    const note = (input.note ?? '').trim();
    if (note.length > 1000) throw badRequest('A note has at most 1000 characters.', 'note');

    const problems: { item: string; code: string; message: string }[] = [];
    const resolved: { id: string; email: string; asked: string }[] = [];
    for (const asked of input.recipients) {
      const q = asked.trim().toLowerCase();
      const acct = q
        ? await this.db.selectFrom('accounts').select(['id', 'email', 'status']).where(isId('account', q) ? 'id' : 'email', '=', q).executeTakeFirst()
        : undefined;
      if (!acct || acct.status !== 'active') problems.push({ item: asked, code: 'unknown_recipient', message: `No active account is registered with the email or ID "${asked}".` });
      else if (acct.id === caller.accountId) problems.push({ item: asked, code: 'self', message: 'You cannot share a chain with yourself.' });
      else if (resolved.some((r) => r.id === acct.id)) problems.push({ item: asked, code: 'duplicate', message: `${asked} is named twice in this request.` });
      else resolved.push({ id: acct.id, email: acct.email, asked });
    }
    const live = await this.liveList(chainId);
    for (const r of resolved)
      if (live.some((s) => s.recipient.id === r.id)) problems.push({ item: r.asked, code: 'already_shared', message: `Chain ${chainId} is already shared with ${r.email}.` });
    if (problems.length) {
      const status = problems.every((p) => p.code === 'already_shared') ? 409 : 400;
      throw new CairnError(status, problems.length === 1 ? problems[0]!.code : 'invalid_recipients', problems.map((p) => `${p.item}: ${p.message}`).join(' '), 'recipients', problems);
    }
    if (live.length + resolved.length > this.settings.maxRecipientsPerChain)
      throw conflict(`A chain can be shared with at most ${this.settings.maxRecipientsPerChain} accounts; it has ${live.length}. Cancel some shares first.`, 'too_many_recipients');
    const owned = await countRows(
      this.db
        .selectFrom('shares')
        .select('chain_id')
        .where('owner_id', '=', caller.accountId)
        .where(liveShare('shares', nowIso())),
    );
    if (owned + resolved.length > this.settings.maxSharesPerAccount)
      throw conflict(`An account can hold at most ${this.settings.maxSharesPerAccount} active shares; you have ${owned}.`, 'too_many_shares');

    const now = nowIso();
    const owner = await this.db.selectFrom('accounts').select('email').where('id', '=', chain.account_id).executeTakeFirstOrThrow();
    const search_text = shareSearchText(chain, owner.email);
    await this.db.transaction().execute(async (tx) => {
      for (const r of resolved) {
        const row: ShareTable = { chain_id: chainId, recipient_id: r.id, owner_id: caller.accountId, note, expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null, status: 'active', created_at: now, ended_at: null, search_text };
        // A share that ended earlier is started afresh.
        await tx.deleteFrom('shares').where('chain_id', '=', chainId).where('recipient_id', '=', r.id).execute();
        await tx.insertInto('shares').values(row).execute();
        await this.events.record({ type: 'share.created', chainId, ownerId: caller.accountId, recipientId: r.id, actorId: caller.accountId, data: { chain_name: chain.name, note, expires_at: row.expires_at }, notify: true }, tx);
      }
    });
    return resolved.map((r) => ({ chain_id: chainId, recipient: { id: r.id, email: r.email }, note, shared_at: now, expires_at: input.expires_at ? new Date(input.expires_at).toISOString() : null }));
  }

  async list(caller: Caller, chainId: string): Promise<ShareView[]> {
    await this.access.chain(caller, chainId, 'write');
    return this.liveList(chainId);
  }

  /** 取消共享: ends the named shares (or all). Nothing else changes. */
  async cancel(caller: Caller, chainId: string, input: { recipients?: string[]; all?: boolean }): Promise<ShareView[]> {
    const { chain } = await this.access.chain(caller, chainId, 'write');
    const live = await this.liveList(chainId);
    let ending: ShareView[];
    if (input.all) ending = live;
    else {
      if (!input.recipients?.length) throw badRequest('Name the recipients whose share to cancel, or ask for all.', 'recipients');
      const problems: { item: string; code: string; message: string }[] = [];
      ending = [];
      for (const asked of input.recipients) {
        const q = asked.trim().toLowerCase();
        const s = live.find((x) => x.recipient.id === q || x.recipient.email === q);
        if (!s) problems.push({ item: asked, code: 'not_shared', message: `Chain ${chainId} is not shared with "${asked}".` });
        else if (!ending.includes(s)) ending.push(s);
      }
      if (problems.length) throw new CairnError(400, 'not_shared', problems.map((p) => p.message).join(' '), 'recipients', problems);
    }
    const now = nowIso();
    await this.db.transaction().execute(async (tx) => {
      for (const s of ending) {
        await tx.updateTable('shares').set({ status: 'cancelled', ended_at: now }).where('chain_id', '=', chainId).where('recipient_id', '=', s.recipient.id).where('status', '=', 'active').execute();
        await this.events.record({ type: 'share.cancelled', chainId, ownerId: chain.account_id, recipientId: s.recipient.id, actorId: caller.accountId, data: { chain_name: chain.name }, notify: true }, tx);
      }
    });
    return ending;
  }

  /** 共享备份: chains shared with the caller, deleted ones shown as such while they are in the recycle bin. */
  async received(caller: Caller, page: PageRequest, filter: { search?: string } = {}): Promise<Page<SharedChainView>> {
    // The page is found on the caller's shares alone, in index order (shares_recipient_list); only its
    // rows are joined to their chains. A live share always has its chain: purging a chain ends its shares first.
    const mine = this.db.selectFrom('shares').select(['shares.chain_id', 'shares.created_at']).where('shares.recipient_id', '=', caller.accountId).where(liveShare('shares', nowIso()));
    // A search tests the text kept on each share (shareSearchText), which the list's index carries:
    // the caller's shares are read from that index alone, with no chain or owner looked up per share.
    const found = filter.search ? mine.where(keptTextContains('shares.search_text', filter.search)) : mine;
    return this.receivedPage(caller, found, page);
  }

  private async receivedPage<DB, TB extends keyof DB>(caller: Caller, q: SelectQueryBuilder<DB, TB, { chain_id: string; created_at: string }>, page: PageRequest): Promise<Page<SharedChainView>> {
    // The total is counted beside the page: on PostgreSQL on a connection and a core of its own.
    const [{ rows: keys, next_cursor }, total_count] = await Promise.all([keysetPage(q, [['shares.created_at', 'desc'], ['shares.chain_id', 'asc']], page, (r) => [r.created_at, r.chain_id]), countRows(q)]);
    const ids = keys.map((k) => k.chain_id);
    const rows = ids.length ? inOrderOf(ids, await this.receivedQuery(caller).where('chains.id', 'in', ids).execute()) : [];
    return { total_count, items: rows.map((r) => this.sharedView(r)), next_cursor };
  }

  async receivedOne(caller: Caller, chainId: string): Promise<SharedChainDetailView> {
    const { chain, relation } = await this.access.chain(caller, chainId, 'read');
    if (relation !== 'recipient') throw notFound('Shared backup chain', chainId);
    const row = await this.receivedQuery(caller).where('chains.id', '=', chainId).executeTakeFirst();
    if (!row) throw notFound('Shared backup chain', chainId);
    return { ...this.sharedView(row), points: await this.chains.points(chain, 'recipient') };
  }

  private receivedQuery(caller: Caller) {
    return this.chains
      .chainsQuery()
      .innerJoin('shares', 'shares.chain_id', 'chains.id')
      .innerJoin('accounts as owner', 'owner.id', 'chains.account_id')
      .select(['shares.created_at as shared_at', 'shares.expires_at', 'shares.note', 'owner.email as owner_email'])
      .where('shares.recipient_id', '=', caller.accountId)
      .where(liveShare('shares', nowIso()));
  }

  private sharedView(r: ChainRow & { shared_at: string; expires_at: string | null; note: string; owner_email: string }): SharedChainView {
    return {
      ...this.chains.chainView(r, 'recipient'),
      owner: { id: r.account_id, email: r.owner_email },
      shared_at: r.shared_at,
      expires_at: r.expires_at,
      note: r.note,
    };
  }

  /** 删除 on the recipient's side: the chain leaves its list; nothing else changes. */
  async removeReceived(caller: Caller, chainId: string): Promise<void> {
    const { chain, relation } = await this.access.chain(caller, chainId, 'read');
    if (relation !== 'recipient') throw notFound('Shared backup chain', chainId);
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('shares').set({ status: 'removed', ended_at: nowIso() }).where('chain_id', '=', chainId).where('recipient_id', '=', caller.accountId).where('status', '=', 'active').execute();
      await this.events.record({ type: 'share.removed', chainId, ownerId: chain.account_id, recipientId: caller.accountId, actorId: caller.accountId, data: { chain_name: chain.name } }, tx);
    });
  }

  /** Marks shares past their expiry and tells both sides. */
  async expireDue(): Promise<number> {
    const now = nowIso();
    const due = await this.db
      .selectFrom('shares')
      .innerJoin('chains', 'chains.id', 'shares.chain_id')
      .select(['shares.chain_id', 'shares.recipient_id', 'shares.owner_id', 'chains.name'])
      .where('shares.status', '=', 'active')
      .where('shares.expires_at', '<=', now)
      .execute();
    for (const s of due) {
      await this.db.transaction().execute(async (tx) => {
        const r = await tx.updateTable('shares').set({ status: 'expired', ended_at: now }).where('chain_id', '=', s.chain_id).where('recipient_id', '=', s.recipient_id).where('status', '=', 'active').executeTakeFirst();
        if (Number(r.numUpdatedRows) === 1)
          await this.events.record({ type: 'share.expired', chainId: s.chain_id, ownerId: s.owner_id, recipientId: s.recipient_id, data: { chain_name: s.name }, notify: true }, tx);
      });
    }
    return due.length;
  }

  /** The chain's live shares with their recipients, oldest first. */
  private async liveList(chainId: string): Promise<ShareView[]> {
    const rows = await this.db
      .selectFrom('shares')
      .innerJoin('accounts', 'accounts.id', 'shares.recipient_id')
      .selectAll('shares')
      .select('accounts.email')
      .where('shares.chain_id', '=', chainId)
      .where(liveShare('shares', nowIso()))
      .orderBy('shares.created_at')
      .execute();
    return rows.map((r) => ({ chain_id: r.chain_id, recipient: { id: r.recipient_id, email: r.email }, note: r.note, shared_at: r.created_at, expires_at: r.expires_at }));
  }
}
