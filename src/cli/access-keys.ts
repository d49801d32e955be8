import type { Command } from 'commander';
import { resolveClient } from './config-file.js';
import type { AccessKey } from './http-client.js';
import { addPageOptions, globalsOf, pageQuery, type PageFlags } from './options.js';
import { formatTime, printJson, printList, printMessage, printObject, type Column } from './output.js';

const keyColumns: Column<AccessKey>[] = [
  { header: 'Access key ID', value: (k) => k.access_key_id },
  { header: 'Name', value: (k) => k.name },
  { header: 'Status', value: (k) => k.status },
  { header: 'Created', value: (k) => formatTime(k.created_at) },
  { header: 'Last used', value: (k) => formatTime(k.last_used_at) },
];

/** `cairn access-key`: API keys (API 密钥) for QingCloud's SDKs and CLI, which sign requests to /iaas/ (docs/qingcloud-api.md). */
export function accessKeyCommands(program: Command): void {
  const key = program.command('access-key').description('API keys for QingCloud\'s SDKs and qingcloud-cli (the /iaas/ endpoint)');

  key
    .command('create')
    .description('Create an access key; its secret is shown only this once')
    .option('--name <name>', 'what the key is for, 1 to 128 characters', 'API key')
    .action(async (_opts: { name: string }, cmd: Command) => {
      const o = globalsOf<{ name: string }>(cmd);
      const { access_key: k } = await (await resolveClient(o)).createAccessKey(o.name);
      // What QingCloud's tools are configured with, and nothing else, for scripts.
      if (o.json) printJson({ access_key_id: k.access_key_id, secret_access_key: k.secret_access_key });
      else printObject(null, [['Access key ID', k.access_key_id], ['Secret access key', k.secret_access_key], ['Name', k.name], ['Created', formatTime(k.created_at)]]);
      // On stderr so that stdout stays just the answer, even with --json.
      process.stderr.write(`cairn: the secret is shown only once and cannot be retrieved later: store it now (qy_secret_access_key in qingcloud-cli's config). Delete the key with \`cairn access-key delete ${k.access_key_id}\`.\n`);
    });

  addPageOptions(key.command('list').description('List your access keys (their secrets are never shown again)')).action(async (_opts: PageFlags, cmd: Command) => {
    const o = globalsOf<PageFlags>(cmd);
    const page = pageQuery(o);
    printList(await (await resolveClient(o)).listAccessKeys(page), keyColumns, { ...o, offset: page.offset, noun: 'access keys' });
  });

  for (const [name, status, what] of [
    ['disable', 'disabled', 'Disable an access key: requests it signs are refused (ret_code 1200) until it is enabled again'],
    ['enable', 'active', 'Enable a disabled access key again'],
  ] as const) {
    key
      .command(name)
      .description(what)
      .argument('<id>', 'the key\'s access_key_id')
      .action(async (id: string, _opts: object, cmd: Command) => {
        const o = globalsOf(cmd);
        const res = await (await resolveClient(o)).setAccessKeyStatus(id, status);
        printObject(res, [['Access key ID', res.access_key.access_key_id], ['Name', res.access_key.name], ['Status', res.access_key.status]], o);
      });
  }

  key
    .command('delete')
    .description('Delete an access key for good; requests it signs are refused from then on')
    .argument('<id>', 'the key\'s access_key_id')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      await (await resolveClient(o)).deleteAccessKey(id);
      if (o.json) return printJson({ deleted: true, access_key_id: id });
      printMessage(`Deleted access key ${id}.`);
    });
}
