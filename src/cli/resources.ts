import { Option, type Command } from 'commander';
import { badRequest } from '../domain/errors.js';
import { resolveClient } from './config-file.js';
import type { Resource, ResourceKind } from './http-client.js';
import { addPageOptions, collect, globalsOf, pageQuery, parseDisk, requireYes, type PageFlags } from './options.js';
import { formatBytes, formatTime, printJson, printList, printMessage, printObject, renderTable, type Cell, type Column } from './output.js';

const KINDS: ResourceKind[] = ['volume', 'instance'];

export function resourceRows(r: Resource): [string, Cell][] {
  const disks = renderTable(
    [],
    r.disks.map((d) => [d.name, formatBytes(d.size), d.role]),
  ).trimEnd();
  return [
    ['ID', r.id],
    ['Kind', r.kind],
    ['Name', r.name],
    ['Disks', disks],
    ['Total size', formatBytes(totalSize(r))],
    ['Agent', r.agent_id],
    ['Created', formatTime(r.created_at, { relative: true })],
  ];
}

const totalSize = (r: Resource) => r.disks.reduce((sum, d) => sum + d.size, 0);

const resourceColumns: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'Kind', value: (r) => r.kind },
  { header: 'Name', value: (r) => r.name },
  { header: 'Disks', value: (r) => r.disks.length, align: 'right' },
  { header: 'Size', value: (r) => formatBytes(totalSize(r)), align: 'right' },
  { header: 'Created', value: (r) => formatTime(r.created_at) },
];

interface CreateFlags {
  kind: ResourceKind;
  name: string;
  disk?: string[];
}

export function resourceCommands(program: Command): void {
  const resource = program.command('resource').description('Resources to back up: volumes (one disk) and instances (a system disk and data disks)');

  resource
    .command('create')
    .description('Declare a volume or an instance and its disks')
    .addOption(new Option('--kind <kind>', 'volume or instance').choices(KINDS).makeOptionMandatory())
    .requiredOption('--name <name>', 'a name, 1 to 128 characters')
    .option(
      '--disk <name:size>',
      'a disk and its size in bytes or with K/M/G/T (powers of 1024); repeat it, the first is the system disk, e.g. --disk root:20G --disk data:100G',
      collect,
    )
    .action(async (_opts: CreateFlags, cmd: Command) => {
      const o = globalsOf<CreateFlags>(cmd);
      if (!o.disk?.length) throw badRequest('Give at least one --disk name:size, e.g. --disk root:20G.', 'disk');
      const disks = o.disk.map(parseDisk);
      const res = await (await resolveClient(o)).createResource({ kind: o.kind, name: o.name, disks });
      printObject(res, resourceRows(res.resource), o);
    });

  addPageOptions(
    resource
      .command('list')
      .description('List your resources, newest first')
      .addOption(new Option('--kind <kind>', 'only volumes or only instances').choices(KINDS))
      .option('--search <text>', 'only those whose name or ID contains this text'),
  ).action(async (_opts: PageFlags & { kind?: ResourceKind; search?: string }, cmd: Command) => {
    const o = globalsOf<PageFlags & { kind?: ResourceKind; search?: string }>(cmd);
    const page = pageQuery(o);
    const res = await (await resolveClient(o)).listResources({ ...page, kind: o.kind, search: o.search });
    printList(res, resourceColumns, { ...o, offset: page.offset, noun: 'resources' });
  });

  resource
    .command('show')
    .description('Show a resource and its disks')
    .argument('<id>', 'a vol-… or i-… ID')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).getResource(id);
      printObject(res, resourceRows(res.resource), o);
    });

  resource
    .command('rename')
    .description('Give a resource a new name')
    .argument('<id>', 'a vol-… or i-… ID')
    .requiredOption('--name <name>', 'the new name, 1 to 128 characters')
    .action(async (id: string, _opts: { name: string }, cmd: Command) => {
      const o = globalsOf<{ name: string }>(cmd);
      const res = await (await resolveClient(o)).renameResource(id, o.name);
      printObject(res, resourceRows(res.resource), o);
    });

  resource
    .command('delete')
    .description('Delete a resource (its backups stay)')
    .argument('<id>', 'a vol-… or i-… ID')
    .option('--yes', 'confirm the deletion (required)')
    .action(async (id: string, _opts: { yes?: boolean }, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `resource ${id}`, 'it cannot be restored, though its backups stay.');
      await (await resolveClient(o)).deleteResource(id);
      if (o.json) return printJson({ deleted: true, id });
      printMessage(`Deleted resource ${id}; its backups, if any, are kept.`);
    });
}
