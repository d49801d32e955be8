import { badParameter } from '../errors.js';
import { sharedSnapshotItem, snapshotUserItem } from '../views.js';
import type { Action, ActionContext } from '../action.js';

/**
 * Sharing a snapshot tree (共享备份), named after QingCloud's image-sharing
 * actions (GrantImageToUsers…), which QingCloud's API has no counterpart of for
 * backups. `snapshot` names the tree: its root, or any snapshot in it.
 */
async function treeOf({ caller, params: p, s }: ActionContext): Promise<string> {
  return (await s.chains.getPoint(caller, p.required('snapshot'))).chain_id;
}

/** `expires` in QingCloud's time format, as an ISO time for the service. */
function expiryOf(ctx: ActionContext): string | undefined {
  const v = ctx.params.string('expires');
  if (v === undefined || v === '') return undefined;
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v) || Number.isNaN(Date.parse(v))) throw badParameter(`Parameter "expires" must be a UTC time like 2026-12-31T23:59:59Z; it is "${v}".`);
  return new Date(v).toISOString();
}

const GrantSnapshotToUsers: Action = async (ctx) => {
  const users = ctx.params.requiredList('users');
  const expires_at = expiryOf(ctx);
  const note = ctx.params.string('note');
  const chainId = await treeOf(ctx);
  const shares = await ctx.s.shares.share(ctx.caller, chainId, { recipients: users, ...(expires_at ? { expires_at } : {}), ...(note !== undefined ? { note } : {}) });
  return { snapshot_id: chainId, snapshot_user_set: shares.map(snapshotUserItem) };
};

const RevokeSnapshotFromUsers: Action = async (ctx) => {
  const users = ctx.params.requiredList('users');
  const chainId = await treeOf(ctx);
  const ended = await ctx.s.shares.cancel(ctx.caller, chainId, { recipients: users });
  return { snapshot_id: chainId, users: ended.map((e) => e.recipient.id) };
};

const DescribeSnapshotUsers: Action = async (ctx) => {
  const page = ctx.params.page();
  const chainId = await treeOf(ctx);
  const shares = await ctx.s.shares.list(ctx.caller, chainId);
  return { snapshot_user_set: shares.slice(page.offset, page.offset + page.limit).map(snapshotUserItem), total_count: shares.length };
};

const DescribeSharedSnapshots: Action = async ({ caller, params: p, s }) => {
  const page = p.page();
  const res = await s.shares.received(caller, page, { search: p.string('search_word') || undefined });
  return { snapshot_set: res.items.map(sharedSnapshotItem), total_count: res.total_count };
};

export const sharingActions = { GrantSnapshotToUsers, RevokeSnapshotFromUsers, DescribeSnapshotUsers, DescribeSharedSnapshots };
