import type { Db } from '../db/connect.js';
import { countRows } from '../db/count.js';
import { keysetPage, pageSource, type SortKey } from '../db/keyset.js';
import { liveShare } from '../db/live-share.js';
import type { EventTable } from '../db/schema.js';
import type { Caller } from '../domain/caller.js';
import { notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/page.js';
import { nowIso } from '../domain/time.js';
import type { EventType, EventView, NotificationPage, NotificationsRead } from '../contract/index.js';

/**
 * The activity log of shared chains. Each event names the chain's owner and,
 * when it concerns one recipient, that recipient: each side reads the events
 * that name it, and no other.
 */
export class EventsService {
  constructor(private readonly db: Db) {}

  async record(e: { type: EventType; chainId: string | null; ownerId: string; recipientId?: string | null; actorId?: string | null; data?: Record<string, unknown>; notify?: boolean }, tx: Db = this.db): Promise<string> {
    const row: EventTable = {
      id: newId('event'),
      type: e.type,
      chain_id: e.chainId,
      owner_id: e.ownerId,
      recipient_id: e.recipientId ?? null,
      actor_id: e.actorId ?? null,
      data: JSON.stringify(e.data ?? {}),
      created_at: nowIso(),
    };
    await tx.insertInto('events').values(row).execute();
    if (e.notify && e.recipientId)
      await tx.insertInto('notifications').values({ id: newId('notification'), account_id: e.recipientId, event_id: row.id, created_at: row.created_at, read_at: null }).execute();
    return row.id;
  }

  /** A chain-wide event, told to the owner and to each recipient that holds a live share. */
  async chainEvent(type: EventType, chain: { id: string; account_id: string; name: string }, actorId: string, tx: Db = this.db): Promise<void> {
    await this.record({ type, chainId: chain.id, ownerId: chain.account_id, actorId, data: { chain_name: chain.name } }, tx);
    const recipients = await tx.selectFrom('shares').select('recipient_id').where('chain_id', '=', chain.id).where(liveShare('shares', nowIso())).execute();
    for (const r of recipients)
      await this.record({ type, chainId: chain.id, ownerId: chain.account_id, recipientId: r.recipient_id, actorId, data: { chain_name: chain.name }, notify: type === 'chain.deleted' }, tx);
  }

  /**
   * The caller's events as owner and as recipient, newest first. The two are
   * read apart, each in the order of its own index (events_owner_list,
   * events_recipient_list) and no further than the page, and merged: asked as
   * one OR, both engines fetch every event of the account and sort them all.
   */
  async list(caller: Caller, page: PageRequest, filter: { chain_id?: string; type?: string } = {}): Promise<Page<EventView>> {
    const me = caller.accountId;
    const filtered = (q: ReturnType<typeof this.eventsQuery>) => {
      let out = q;
      if (filter.chain_id) out = out.where('chain_id', '=', filter.chain_id);
      if (filter.type) out = out.where('type', '=', filter.type);
      return out;
    };
    // The owner's copy of a chain-wide event has no recipient; a recipient reads the copy addressed to it.
    // Each event falls in exactly one part: the second leaves out what the first holds.
    const asOwner = filtered(
      this.eventsQuery().where('owner_id', '=', me).where((e) => e.or([e('recipient_id', 'is', null), e('recipient_id', '=', me), e('type', 'not in', ['chain.deleted', 'chain.restored', 'chain.purged'])])),
    );
    const asRecipient = filtered(this.eventsQuery().where('recipient_id', '=', me).where('owner_id', '<>', me));
    const sort: SortKey[] = [['created_at', 'desc'], ['id', 'desc']];
    const merged = this.db
      .selectFrom(
        this.db
          .selectFrom(pageSource(asOwner, sort, page).as('o'))
          .selectAll()
          .unionAll(this.db.selectFrom(pageSource(asRecipient, sort, page).as('r')).selectAll())
          .as('e'),
      )
      .selectAll();
    // The totals are counted beside the page: on PostgreSQL on connections and cores of their own.
    const [{ rows, next_cursor }, owned, received] = await Promise.all([keysetPage(merged, sort, page, (r) => [r.created_at, r.id]), countRows(asOwner), countRows(asRecipient)]);
    return { total_count: owned + received, items: await this.views(rows), next_cursor };
  }

  private eventsQuery() {
    return this.db.selectFrom('events').selectAll();
  }

  async notifications(caller: Caller, page: PageRequest, unreadOnly = false): Promise<NotificationPage> {
    let q = this.db.selectFrom('notifications').selectAll().where('account_id', '=', caller.accountId);
    const unread = await countRows(q.where('read_at', 'is', null));
    if (unreadOnly) q = q.where('read_at', 'is', null);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').offset(page.offset).limit(page.limit).execute();
    const events = rows.length ? await this.db.selectFrom('events').selectAll().where('id', 'in', rows.map((r) => r.event_id)).execute() : [];
    const views = await this.views(events);
    return {
      total_count: await countRows(q),
      unread_count: unread,
      items: rows.map((n) => ({ id: n.id, read: n.read_at !== null, created_at: n.created_at, event: views.find((v) => v.id === n.event_id)! })).filter((n) => n.event),
    };
  }

  async markRead(caller: Caller, id: string): Promise<void> {
    const r = await this.db.updateTable('notifications').set({ read_at: nowIso() }).where('id', '=', id).where('account_id', '=', caller.accountId).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw notFound('Notification', id);
  }

  /** Every unread notification of the caller's own, at once (the console's "mark all read"). */
  async markAllRead(caller: Caller): Promise<NotificationsRead> {
    const r = await this.db.updateTable('notifications').set({ read_at: nowIso() }).where('account_id', '=', caller.accountId).where('read_at', 'is', null).executeTakeFirst();
    return { read: Number(r.numUpdatedRows) };
  }

  private async views(rows: EventTable[]): Promise<EventView[]> {
    const ids = [...new Set(rows.flatMap((r) => [r.owner_id, r.recipient_id, r.actor_id]).filter((x): x is string => !!x))];
    const accounts = ids.length ? await this.db.selectFrom('accounts').select(['id', 'email']).where('id', 'in', ids).execute() : [];
    const who = (id: string | null) => (id ? { id, email: accounts.find((a) => a.id === id)?.email ?? null } : null);
    return rows.map((r) => ({
      id: r.id,
      type: r.type as EventType,
      chain_id: r.chain_id,
      owner: who(r.owner_id)!,
      recipient: who(r.recipient_id),
      actor: who(r.actor_id),
      data: JSON.parse(r.data) as Record<string, unknown>,
      created_at: r.created_at,
    }));
  }
}
