import type { Command } from 'commander';
import { badRequest, CairnError } from '../domain/errors.js';
import type { Page } from '../domain/page.js';
import type { EventView, NotificationPage, Person, NotificationView, SharedChainDetailView, SharedChainView, ShareView } from '../contract/index.js';
import { chainRows, chainSummaryColumns, renderPointTree } from './backups.js';
import { resolveClient } from './config-file.js';
import { addPageOptions, collect, globalsOf, pageQuery, requireYes, type PageFlags } from './options.js';
import { formatTime, printJson, printList, printMessage, printObject, type Column } from './output.js';

const enc = encodeURIComponent;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--expires` as an ISO time or a duration from now ("30m", "12h", "7d", "2w").
 * A bare number is refused: seconds or days would both be a plausible guess.
 */
export function parseExpiry(text: string, now: number = Date.now()): string {
  const t = text.trim();
  const d = /^(\d+(?:\.\d+)?)\s*([smhdw])$/i.exec(t);
  if (d) {
    const ms = Number(d[1]) * UNIT_MS[d[2]!.toLowerCase()]!;
    if (!(ms > 0)) throw badRequest(`--expires "${text}" must be a duration above zero, e.g. 7d.`, 'expires');
    return new Date(now + ms).toISOString();
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(at))
    throw badRequest(`--expires "${text}" is neither a time nor a duration: give an ISO time (2030-01-31T12:00:00Z) or a duration such as 30m, 12h, 7d or 2w.`, 'expires');
  if (at <= now) throw badRequest(`--expires ${text} is in the past; give a later time or a duration such as 7d.`, 'expires');
  return new Date(at).toISOString();
}

/**
 * A request about several recipients fails as a whole; the server lists what is
 * wrong with each in `details`, which reads best one recipient per line.
 */
function withRecipientProblems(err: unknown, intro: string): unknown {
  if (!(err instanceof CairnError) || (err.status !== 400 && err.status !== 409)) return err;
  // The details come off the wire: only well-formed ones are trusted to print.
  const details = (err.details ?? []).filter((d) => typeof d?.item === 'string' && typeof d.message === 'string');
  if (!details.length) return err;
  const lines = details.map((d) => `  ${d.item}: ${d.message.startsWith(`${d.item}:`) ? d.message.slice(d.item.length + 1).trim() : d.message}`);
  return new CairnError(err.status, err.code, `${intro}\n${lines.join('\n')}`, err.field, err.details);
}

const shareColumns: Column<ShareView>[] = [
  { header: 'Recipient', value: (s) => s.recipient.email },
  { header: 'Recipient ID', value: (s) => s.recipient.id },
  { header: 'Shared at', value: (s) => formatTime(s.shared_at) },
  { header: 'Expires', value: (s) => (s.expires_at ? formatTime(s.expires_at, { relative: true }) : 'never') },
  { header: 'Note', value: (s) => s.note },
];

const sharedColumns: Column<SharedChainView>[] = [
  ...chainSummaryColumns,
  { header: 'Created', value: (c) => formatTime(c.created_at) },
  { header: 'Owner', value: (c) => `${c.owner.email} (${c.owner.id})` },
  { header: 'Shared at', value: (c) => formatTime(c.shared_at) },
  { header: 'Expires', value: (c) => (c.expires_at ? formatTime(c.expires_at) : '') },
];

/** What an event says beyond its type, chain and parties. */
function eventDetails(e: EventView): string {
  const d = e.data;
  const parts: string[] = [];
  if (typeof d.chain_name === 'string' && d.chain_name) parts.push(`chain "${d.chain_name}"`);
  if (typeof d.image_id === 'string') parts.push(`image ${d.image_id}${typeof d.image_name === 'string' ? ` "${d.image_name}"` : ''} from ${String(d.point_id ?? '?')}/${String(d.disk ?? '?')}`);
  if (typeof d.expires_at === 'string') parts.push(`expires ${formatTime(d.expires_at)}`);
  if (typeof d.note === 'string' && d.note) parts.push(`note: ${d.note}`);
  return parts.join('; ');
}

const who = (a: Person | null) => (a ? (a.email ? `${a.email} (${a.id})` : a.id) : '');

const eventColumns: Column<EventView>[] = [
  { header: 'Time', value: (e) => formatTime(e.created_at) },
  { header: 'Event', value: (e) => e.type },
  { header: 'Chain', value: (e) => e.chain_id },
  { header: 'Owner', value: (e) => who(e.owner) },
  { header: 'Recipient', value: (e) => who(e.recipient) },
  { header: 'By', value: (e) => who(e.actor) },
  { header: 'Details', value: (e) => eventDetails(e) },
];

const notificationColumns: Column<NotificationView>[] = [
  { header: 'ID', value: (n) => n.id },
  { header: 'Read', value: (n) => n.read },
  { header: 'Time', value: (n) => formatTime(n.created_at) },
  { header: 'Event', value: (n) => n.event.type },
  { header: 'Chain', value: (n) => n.event.chain_id },
  { header: 'From', value: (n) => who(n.event.actor ?? n.event.owner) },
  { header: 'Details', value: (n) => eventDetails(n.event) },
];

export function sharingCommands(program: Command): void {
  const share = program.command('share').description('Share your backup chains with other accounts, read-only (共享备份)');

  share
    .command('add <chain>')
    .description('Share a chain with one or more accounts, by registered email or account ID; all or none are added')
    .requiredOption('--to <email|id>', 'a recipient (repeat it); `cairn subaccount list` shows your sub-accounts\' IDs', collect)
    .option('--expires <time|duration>', 'the share stops by itself at this ISO time, or after this long (30m, 12h, 7d, 2w)')
    .option('--note <text>', 'a note the recipients see with the share')
    .action(async (chainId: string, _o, cmd: Command) => {
      const o = globalsOf<{ to: string[]; expires?: string; note?: string }>(cmd);
      const body = { recipients: o.to, ...(o.expires ? { expires_at: parseExpiry(o.expires) } : {}), ...(o.note !== undefined ? { note: o.note } : {}) };
      const client = await resolveClient(o, { requireToken: true });
      const r = await client
        .post<{ shares: ShareView[] }>(`/api/v1/chains/${enc(chainId)}/shares`, body)
        .catch((err: unknown) => {
          throw withRecipientProblems(err, `Chain ${chainId} was shared with nobody (a share request is all or none); fix these and run the command again:`);
        });
      if (o.json) return printJson(r);
      printMessage(`Shared ${chainId} read-only with ${r.shares.map((s) => `${s.recipient.email} (${s.recipient.id})`).join(', ')}.`);
    });

  share
    .command('list <chain>')
    .description('Who a chain of yours is shared with')
    .action(async (chainId: string, _o, cmd: Command) => {
      const o = globalsOf(cmd);
      const page = await (await resolveClient(o, { requireToken: true })).get<Page<ShareView>>(`/api/v1/chains/${enc(chainId)}/shares`);
      printList(page, shareColumns, { json: o.json, noun: 'recipients' });
    });

  share
    .command('cancel <chain>')
    .description('取消共享: stop sharing a chain with some recipients or all; the chain and images already made stay')
    .option('--to <email|id>', 'a recipient to remove (repeat it)', collect)
    .option('--all', 'remove every recipient')
    .action(async (chainId: string, _o, cmd: Command) => {
      const o = globalsOf<{ to?: string[]; all?: boolean }>(cmd);
      if (!!o.all === !!o.to?.length) throw badRequest('Name the recipients to remove with --to (repeatable), or give --all, but not both.', 'to');
      const client = await resolveClient(o, { requireToken: true });
      const r = await client
        .post<{ cancelled: ShareView[] }>(`/api/v1/chains/${enc(chainId)}/shares/cancel`, o.all ? { all: true } : { recipients: o.to })
        .catch((err: unknown) => {
          throw withRecipientProblems(err, `No share of ${chainId} was cancelled; fix these and run the command again:`);
        });
      if (o.json) return printJson(r);
      printMessage(
        r.cancelled.length
          ? `Stopped sharing ${chainId} with ${r.cancelled.map((s) => s.recipient.email).join(', ')}; images they made stay theirs.`
          : `${chainId} was not shared with anyone; nothing changed.`,
      );
    });

  const shared = program.command('shared').description('Shared backups: chains other accounts share with you, read-only (共享备份)');

  addPageOptions(shared.command('list').description('Chains shared with you, newest share first').option('--search <text>', 'by chain name or ID, resource ID or owner email')).action(
    async (_o, cmd: Command) => {
      const o = globalsOf<PageFlags & { search?: string }>(cmd);
      const page = await (await resolveClient(o, { requireToken: true })).get<Page<SharedChainView>>('/api/v1/shared', { ...pageQuery(o), search: o.search });
      printList(page, sharedColumns, { json: o.json, noun: 'shared chains', offset: pageQuery(o).offset });
    },
  );

  shared
    .command('show <chain>')
    .description('A chain shared with you and its points (read-only); make an image of one with `cairn image create`')
    .action(async (chainId: string, _o, cmd: Command) => {
      const o = globalsOf(cmd);
      const r = await (await resolveClient(o, { requireToken: true })).get<{ chain: SharedChainDetailView }>(`/api/v1/shared/${enc(chainId)}`);
      if (o.json) return printJson(r);
      const c = r.chain;
      printObject(r, [
        ...chainRows(c),
        ['Owner', `${c.owner.email} (${c.owner.id})`],
        ['Shared at', formatTime(c.shared_at)],
        ['Expires', c.expires_at ? formatTime(c.expires_at, { relative: true }) : 'never'],
        ['Note', c.note],
      ]);
      process.stdout.write(`\n${renderPointTree(c.points)}\n`);
    });

  shared
    .command('delete <chain>')
    .description('删除: remove a shared chain from your list; the owner\'s chain and images you made stay')
    .option('--yes', 'confirm')
    .action(async (chainId: string, _o, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `shared chain ${chainId}`, 'it leaves your Shared backups and only its owner can share it with you again (images you made from it stay).');
      await (await resolveClient(o, { requireToken: true })).delete(`/api/v1/shared/${enc(chainId)}`);
      if (o.json) return printJson({ removed: chainId });
      printMessage(`Removed ${chainId} from your shared backups; the owner's chain and your images are untouched.`);
    });

  addPageOptions(
    program
      .command('events')
      .description('Activity of shared chains that concerns you: shares, cancellations, expiries, removals, images made, deletions')
      .option('--chain <id>', 'only this chain\'s events')
      .option('--type <type>', 'only this type, e.g. image.created or share.created'),
  ).action(async (_o, cmd: Command) => {
    const o = globalsOf<PageFlags & { chain?: string; type?: string }>(cmd);
    const page = await (await resolveClient(o, { requireToken: true })).get<Page<EventView>>('/api/v1/events', { ...pageQuery(o), chain_id: o.chain, type: o.type });
    printList(page, eventColumns, { json: o.json, noun: 'events', offset: pageQuery(o).offset });
  });

  const notifications = program.command('notifications').description('Things shared with you, and what became of them');
  addPageOptions(notifications.command('list', { isDefault: true }).description('Your notifications, newest first (the default)').option('--unread', 'only the unread ones')).action(
    async (_o, cmd: Command) => {
      const o = globalsOf<PageFlags & { unread?: boolean }>(cmd);
      const page = await (await resolveClient(o, { requireToken: true })).get<NotificationPage>('/api/v1/notifications', { ...pageQuery(o), unread: o.unread ? true : undefined });
      printList(page, notificationColumns, { json: o.json, noun: 'notifications', offset: pageQuery(o).offset });
      if (!o.json && page.unread_count) printMessage(`${page.unread_count} unread; mark one read with \`cairn notifications read <id>\`.`);
    },
  );
  notifications
    .command('read <id>')
    .description('Mark a notification read')
    .action(async (id: string, _o, cmd: Command) => {
      const o = globalsOf(cmd);
      await (await resolveClient(o, { requireToken: true })).post(`/api/v1/notifications/${enc(id)}/read`);
      if (o.json) return printJson({ read: id });
      printMessage(`Marked ${id} read.`);
    });
}
