import { Option, type Command } from 'commander';
import { resolveClient } from './config-file.js';
import type { Account, ApiToken } from './http-client.js';
import { addPageOptions, globalsOf, pageQuery, requireYes, type PageFlags } from './options.js';
import { formatTime, printJson, printList, printMessage, printObject, type Cell, type Column } from './output.js';
import { readSecret } from './secrets.js';

export function accountRows(a: Account): [string, Cell][] {
  return [
    ['ID', a.id],
    ['Email', a.email],
    ['Status', a.status],
    ['Administrator', a.is_admin],
    ['Parent account', a.parent_id],
    ['Language', a.language],
    ['Time zone', a.timezone],
    ['Created', formatTime(a.created_at, { relative: true })],
  ];
}

const accountColumns: Column<Account>[] = [
  { header: 'ID', value: (a) => a.id },
  { header: 'Email', value: (a) => a.email },
  { header: 'Status', value: (a) => a.status },
  { header: 'Admin', value: (a) => a.is_admin },
  { header: 'Parent', value: (a) => a.parent_id },
  { header: 'Created', value: (a) => formatTime(a.created_at) },
];

const tokenColumns: Column<ApiToken>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'Name', value: (t) => t.name },
  { header: 'Scope', value: (t) => t.scope },
  { header: 'Created', value: (t) => formatTime(t.created_at) },
  { header: 'Last used', value: (t) => formatTime(t.last_used_at) },
  { header: 'Revoked', value: (t) => formatTime(t.revoked_at) },
];

interface Credentials {
  email: string;
  password?: string;
}

export function accountCommands(program: Command): void {
  const account = program.command('account').description('Your account; administrators also manage every account');

  account
    .command('show')
    .description('Show the account you are logged in as')
    .action(async (_opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).me();
      printObject(res, accountRows(res.account), o);
    });

  account
    .command('set')
    .description("Change your account's language (of its mails) or time zone (its backup policies' default)")
    .addOption(new Option('--language <lang>', 'zh or en').choices(['zh', 'en']))
    .option('--timezone <zone>', 'an IANA time zone, e.g. Asia/Shanghai')
    .action(async (opts: { language?: 'zh' | 'en'; timezone?: string }, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).patch<{ account: Account }>('/api/v1/account', { language: opts.language, timezone: opts.timezone });
      printObject(res, accountRows(res.account), o);
    });

  account
    .command('lookup')
    .description('Find an active account by registered email or ID (as when sharing with it)')
    .argument('<email-or-id>', 'an email address or a usr-… ID')
    .action(async (query: string, _opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).lookupAccount(query);
      printObject(res, [['ID', res.account.id], ['Email', res.account.email ?? '(shown once you share with it or type it)']], o);
    });

  addPageOptions(account.command('list').description('List every account on the server (administrators only)')).action(
    async (_opts: PageFlags, cmd: Command) => {
      const o = globalsOf<PageFlags>(cmd);
      const page = pageQuery(o);
      const res = await (await resolveClient(o)).listAllAccounts(page);
      printList(res, accountColumns, { ...o, offset: page.offset, noun: 'accounts' });
    },
  );

  for (const [verb, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    account
      .command(verb)
      .description(verb === 'disable' ? 'Disable an account and sign it out everywhere (administrators only)' : 'Enable a disabled account again (administrators only)')
      .argument('<id>', 'the account\'s usr-… ID')
      .action(async (id: string, _opts: object, cmd: Command) => {
        const o = globalsOf(cmd);
        const res = await (await resolveClient(o)).setAccountStatus(id, status);
        printObject(res, accountRows(res.account), o);
      });
  }

  subaccountCommands(program);
  tokenCommands(program);
}

function subaccountCommands(program: Command): void {
  const sub = program.command('subaccount').description('Sub-accounts: full accounts listed under yours');

  sub
    .command('create')
    .description('Create a sub-account under yours')
    .requiredOption('--email <email>', 'the sub-account\'s email')
    .option('--password <password>', 'its password, 8 characters or more (or CAIRN_PASSWORD, or standard input)')
    .action(async (_opts: Credentials, cmd: Command) => {
      const o = globalsOf<Credentials>(cmd);
      const password = await readSecret(o.password, 'password');
      const res = await (await resolveClient(o)).createSubaccount(o.email, password);
      printObject(res, accountRows(res.account), o);
    });

  addPageOptions(sub.command('list').description('List your sub-accounts')).action(async (_opts: PageFlags, cmd: Command) => {
    const o = globalsOf<PageFlags>(cmd);
    const page = pageQuery(o);
    const res = await (await resolveClient(o)).listSubaccounts(page);
    printList(res, accountColumns.filter((c) => c.header !== 'Admin' && c.header !== 'Parent'), { ...o, offset: page.offset, noun: 'sub-accounts' });
  });

  for (const [verb, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    sub
      .command(verb)
      .description(verb === 'disable' ? 'Disable a sub-account and sign it out everywhere' : 'Enable a disabled sub-account again')
      .argument('<id>', 'the sub-account\'s usr-… ID')
      .action(async (id: string, _opts: object, cmd: Command) => {
        const o = globalsOf(cmd);
        const res = await (await resolveClient(o)).setSubaccountStatus(id, status);
        printObject(res, accountRows(res.account), o);
      });
  }

  sub
    .command('delete')
    .description('Delete a sub-account for good')
    .argument('<id>', 'the sub-account\'s usr-… ID')
    .option('--yes', 'confirm the deletion (required)')
    .action(async (id: string, _opts: { yes?: boolean }, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `sub-account ${id}`, 'the account and its sign-in are removed for good and cannot be restored.');
      await (await resolveClient(o)).deleteSubaccount(id);
      if (o.json) return printJson({ deleted: true, id });
      printMessage(`Deleted sub-account ${id}.`);
    });
}

function tokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens, for programs and for this CLI');

  token
    .command('create')
    .description('Create an API token; its secret is shown only this once')
    .requiredOption('--name <name>', 'what the token is for, 1 to 128 characters')
    .option('--agent', 'good only for `cairn agent`\'s work (register, back up and roll back its resources), as the console\'s "Add an agent" makes')
    .action(async (_opts: { name: string; agent?: boolean }, cmd: Command) => {
      const o = globalsOf<{ name: string; agent?: boolean }>(cmd);
      const res = await (await resolveClient(o)).createToken(o.name, o.agent ? 'agent' : undefined);
      const t = res.token;
      printObject(res, [['ID', t.id], ['Name', t.name], ['Scope', t.scope], ['Created', formatTime(t.created_at)], ['Token', t.token]], o);
      // On stderr so that stdout stays just the answer, even with --json.
      process.stderr.write(`cairn: this token is shown only once and cannot be retrieved later: store it now (e.g. as CAIRN_TOKEN). Revoke it with \`cairn token revoke ${t.id}\`.\n`);
    });

  addPageOptions(token.command('list').description('List your API tokens (their secrets are never shown again)')).action(
    async (_opts: PageFlags, cmd: Command) => {
      const o = globalsOf<PageFlags>(cmd);
      const page = pageQuery(o);
      const res = await (await resolveClient(o)).listTokens(page);
      printList(res, tokenColumns, { ...o, offset: page.offset, noun: 'tokens' });
    },
  );

  token
    .command('revoke')
    .description('Revoke an API token at once; programs using it are refused from then on')
    .argument('<id>', 'the token\'s tok-… ID')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).revokeToken(id);
      const t = res.token;
      printObject(res, [['ID', t.id], ['Name', t.name], ['Created', formatTime(t.created_at)], ['Last used', formatTime(t.last_used_at)], ['Revoked', formatTime(t.revoked_at)]], o);
    });
}
