import { Option, type Command } from 'commander';
import { badRequest } from '../domain/errors.js';
import type { Page } from '../domain/page.js';
import type { DeliveryView, NotifyEvent, PolicyView, RunView, ScheduleSpec, TaskView } from '../contract/index.js';
import { resolveClient } from './config-file.js';
import { addPageOptions, collect, globalsOf, pageQuery, parseCount, requireYes, type PageFlags } from './options.js';
import { formatTime, printJson, printList, printMessage, printObject, type Cell, type Column } from './output.js';

const enc = encodeURIComponent;
const list = (text: string) => text.split(',').map((x) => x.trim()).filter(Boolean);
const days = (text: string, flag: string) => list(text).map((d) => parseCount(d, flag, { min: 1, max: 31 })!);

interface ScheduleFlags {
  daily?: string;
  weekly?: string;
  monthly?: string;
  at?: string;
  everyHours?: string;
  cron?: string;
}

/** The one schedule the flags name, or null when none is given (an update that keeps it). */
export function scheduleOf(o: ScheduleFlags): ScheduleSpec | null {
  const given = [o.daily, o.weekly, o.monthly, o.everyHours, o.cron].filter((x) => x !== undefined).length;
  if (given > 1) throw badRequest('Give one of --daily, --weekly, --monthly, --every-hours or --cron.', 'schedule');
  if (o.daily !== undefined) return { kind: 'daily', times: list(o.daily) };
  if ((o.weekly !== undefined || o.monthly !== undefined) && !o.at) throw badRequest('--weekly and --monthly need --at HH:MM[,HH:MM…].', 'at');
  if (o.weekly !== undefined) return { kind: 'weekly', days: days(o.weekly, '--weekly'), times: list(o.at!) };
  if (o.monthly !== undefined) return { kind: 'monthly', days: days(o.monthly, '--monthly'), times: list(o.at!) };
  if (o.everyHours !== undefined) return { kind: 'hourly', every_hours: parseCount(o.everyHours, '--every-hours')! };
  if (o.cron !== undefined) return { kind: 'cron', expression: o.cron };
  return null;
}

function policyRows(p: PolicyView): [string, Cell][] {
  return [
    ['ID', p.id],
    ['Name', p.name],
    ['Schedule', p.description.en],
    ['计划', p.description.zh],
    ['Next runs', p.next_runs.map((t) => formatTime(t)).join(', ')],
    ['Notify on', p.notify_on.join(', ')],
    ['Emails', p.emails.join(', ')],
    ['Webhooks', p.webhooks.join(', ')],
    ['Webhook secret', p.webhook_secret],
    ['Tasks', p.task_count],
    ['Created', formatTime(p.created_at, { relative: true })],
  ];
}

const policyColumns: Column<PolicyView>[] = [
  { header: 'ID', value: (p) => p.id },
  { header: 'Name', value: (p) => p.name },
  { header: 'Schedule', value: (p) => p.description.en },
  { header: 'Next run', value: (p) => formatTime(p.next_runs[0] ?? null) },
  { header: 'Tasks', value: (p) => p.task_count, align: 'right' },
];

const keepText = (t: TaskView) => (t.keep_chains === null ? 'forever' : `newest ${t.keep_chains} automatic chains`);

function taskRows(t: TaskView): [string, Cell][] {
  return [
    ['ID', t.id],
    ['Name', t.name],
    ['Status', t.enabled ? 'enabled' : 'disabled'],
    ['Resources', t.resources.map((r) => `${r.id} (${r.name})`).join(', ')],
    ['Type', t.backup_type],
    ['Chain length', t.chain_length],
    ['Keep', keepText(t)],
    ['Policy', `${t.policy.id}: ${t.policy.description.en}`],
    ['Runs', t.run_count],
    ['Last run', t.last_run_at ? `${formatTime(t.last_run_at)} (${t.last_result})` : null],
    ['Next run', formatTime(t.next_run_at)],
    ['Created', formatTime(t.created_at, { relative: true })],
  ];
}

const taskColumns: Column<TaskView>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'Name', value: (t) => t.name },
  { header: 'Status', value: (t) => (t.enabled ? 'enabled' : 'disabled') },
  { header: 'Resources', value: (t) => t.resources.map((r) => r.id).join(',') },
  { header: 'Runs', value: (t) => t.run_count, align: 'right' },
  { header: 'Policy', value: (t) => t.policy.name },
  { header: 'Keep', value: (t) => (t.keep_chains === null ? 'forever' : t.keep_chains) },
  { header: 'Next run', value: (t) => formatTime(t.next_run_at) },
];

const runColumns: Column<RunView>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'Trigger', value: (r) => r.trigger },
  { header: 'Status', value: (r) => r.status },
  { header: 'Jobs', value: (r) => r.items.map((i) => i.job_id ?? `${i.resource_id}:${i.status}`).join(',') },
  { header: 'Started', value: (r) => formatTime(r.created_at) },
  { header: 'Finished', value: (r) => formatTime(r.finished_at) },
];

const deliveryColumns: Column<DeliveryView>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'Channel', value: (d) => d.channel },
  { header: 'Target', value: (d) => d.target },
  { header: 'Event', value: (d) => d.event },
  { header: 'Status', value: (d) => d.status },
  { header: 'Attempts', value: (d) => d.attempts, align: 'right' },
  { header: 'Error', value: (d) => d.last_error },
];

interface PolicyFlags extends ScheduleFlags {
  name?: string;
  once?: boolean;
  repeating?: boolean;
  timezone?: string;
  notify?: string;
  email?: string[];
  webhook?: string[];
}

function withPolicyOptions(cmd: Command): Command {
  return cmd
    .option('--daily <times>', 'every day at these times, e.g. 02:00 or 02:00,14:00')
    .option('--weekly <days>', 'on these days of the week, 1 (Monday) to 7 (Sunday), e.g. 1,3,5; with --at')
    .option('--monthly <days>', 'on these days of the month, 1 to 31 (past the month\'s end: its last day); with --at')
    .option('--at <times>', 'the times of day for --weekly and --monthly, e.g. 02:00')
    .option('--every-hours <n>', 'every N hours, 1 to 168, counted from now')
    .option('--cron <expression>', 'a cron expression: five fields, or six with seconds first')
    .option('--once', 'run only once, at the first time the schedule gives')
    .option('--timezone <zone>', "IANA time zone of the times, e.g. Asia/Shanghai (default: your account's, `cairn account set --timezone`)")
    .option('--notify <events>', 'success, failure or success,failure (default failure)')
    .option('--email <address>', 'mail this address when a run ends (repeat it)', collect)
    .option('--webhook <url>', 'POST a signed JSON event to this http(s) URL when a run ends (repeat it)', collect);
}

function policyBody(o: PolicyFlags) {
  return {
    name: o.name,
    repeat: o.once ? ('once' as const) : o.repeating ? ('repeating' as const) : undefined,
    schedule: scheduleOf(o) ?? undefined,
    timezone: o.timezone,
    notify_on: o.notify !== undefined ? (list(o.notify) as NotifyEvent[]) : undefined,
    emails: o.email,
    webhooks: o.webhook,
  };
}

interface TaskFlags {
  name?: string;
  policy?: string;
  resource?: string[];
  type?: 'full' | 'incremental';
  chainLength?: string;
  keep?: string;
  keepForever?: boolean;
  disabled?: boolean;
}

function withTaskOptions(cmd: Command): Command {
  return cmd
    .option('--policy <id>', 'the backup policy (bp-…) saying when it runs')
    .option('--resource <id>', 'a volume or instance to back up (repeat it)', collect)
    .addOption(new Option('--type <type>', 'full or incremental backups').choices(['full', 'incremental']))
    .option('--chain-length <n>', 'points per chain before a new full one (up to the server\'s maximum)')
    .option('--keep <n>', 'keep the newest N automatic chains per resource; older ones go to the recycle bin')
    .option('--keep-forever', 'never trim automatic chains (永久保留)');
}

function taskBody(o: TaskFlags) {
  if (o.keep !== undefined && o.keepForever) throw badRequest('Give --keep N or --keep-forever, not both.', 'keep');
  return {
    name: o.name,
    policy_id: o.policy,
    resource_ids: o.resource,
    backup_type: o.type,
    chain_length: parseCount(o.chainLength, '--chain-length'),
    // The server checks N's bounds, so that every client gets the same message.
    keep_chains: o.keepForever ? null : o.keep !== undefined ? Number(o.keep) : undefined,
  };
}

export function policyCommands(program: Command): void {
  const policy = program.command('policy').description('Backup policies (备份策略): when backup tasks run and whom to tell');

  withPolicyOptions(policy.command('create').description('Make a backup policy').requiredOption('--name <name>', 'a name, 1 to 128 characters')).action(async (_o: object, cmd: Command) => {
    const o = globalsOf<PolicyFlags>(cmd);
    if (!scheduleOf(o)) throw badRequest('Say when: --daily, --weekly … --at, --monthly … --at, --every-hours or --cron.', 'schedule');
    const res = await (await resolveClient(o)).post<{ policy: PolicyView }>('/api/v1/policies', policyBody(o));
    printObject(res, policyRows(res.policy), o);
  });

  addPageOptions(policy.command('list').description('List your backup policies, newest first')).action(async (_o: object, cmd: Command) => {
    const o = globalsOf<PageFlags>(cmd);
    const page = pageQuery(o);
    printList(await (await resolveClient(o)).get<Page<PolicyView>>('/api/v1/policies', { ...page }), policyColumns, { ...o, offset: page.offset, noun: 'policies' });
  });

  policy
    .command('show')
    .description('Show a policy, its schedule in words and its next three runs')
    .argument('<id>', 'a bp-… ID')
    .action(async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).get<{ policy: PolicyView }>(`/api/v1/policies/${enc(id)}`);
      printObject(res, policyRows(res.policy), o);
    });

  withPolicyOptions(policy.command('update').description('Change a policy; what is not given stays').argument('<id>', 'a bp-… ID').option('--name <name>', 'a new name').option('--repeating', 'run on every time the schedule gives'))
    .action(async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf<PolicyFlags>(cmd);
      const res = await (await resolveClient(o)).patch<{ policy: PolicyView }>(`/api/v1/policies/${enc(id)}`, policyBody(o));
      printObject(res, policyRows(res.policy), o);
    });

  policy
    .command('delete')
    .description('Delete a policy no task uses')
    .argument('<id>', 'a bp-… ID')
    .option('--yes', 'confirm the deletion (required)')
    .action(async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `policy ${id}`, 'it cannot be restored.');
      await (await resolveClient(o)).delete(`/api/v1/policies/${enc(id)}`);
      if (o.json) return printJson({ deleted: true, id });
      printMessage(`Deleted policy ${id}.`);
    });

  addPageOptions(policy.command('deliveries').description('The mails and webhook calls a policy made, newest first, with their outcome').argument('<id>', 'a bp-… ID')).action(
    async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf<PageFlags>(cmd);
      const page = pageQuery(o);
      printList(await (await resolveClient(o)).get<Page<DeliveryView>>(`/api/v1/policies/${enc(id)}/deliveries`, { ...page }), deliveryColumns, { ...o, offset: page.offset, noun: 'deliveries' });
    },
  );
}

export function taskCommands(program: Command): void {
  const task = program.command('task').description('Backup tasks (备份任务): resources backed up on a policy\'s schedule, with retention');

  withTaskOptions(task.command('create').description('Make a backup task').requiredOption('--name <name>', 'a name, 1 to 128 characters'))
    .option('--disabled', 'make it disabled (已禁用); it runs once enabled')
    .action(async (_o: object, cmd: Command) => {
      const o = globalsOf<TaskFlags>(cmd);
      if (!o.policy) throw badRequest('Say when it runs: --policy bp-….', 'policy');
      if (!o.resource?.length) throw badRequest('Say what it backs up: --resource vol-… (repeat it for several).', 'resource');
      const res = await (await resolveClient(o)).post<{ task: TaskView }>('/api/v1/tasks', { ...taskBody(o), enabled: !o.disabled });
      printObject(res, taskRows(res.task), o);
    });

  addPageOptions(task.command('list').description('List your backup tasks, newest first')).action(async (_o: object, cmd: Command) => {
    const o = globalsOf<PageFlags>(cmd);
    const page = pageQuery(o);
    printList(await (await resolveClient(o)).get<Page<TaskView>>('/api/v1/tasks', { ...page }), taskColumns, { ...o, offset: page.offset, noun: 'tasks' });
  });

  task
    .command('show')
    .description('Show a task')
    .argument('<id>', 'a bt-… ID')
    .action(async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).get<{ task: TaskView }>(`/api/v1/tasks/${enc(id)}`);
      printObject(res, taskRows(res.task), o);
    });

  withTaskOptions(task.command('update').description('Change a task; what is not given stays').argument('<id>', 'a bt-… ID').option('--name <name>', 'a new name')).action(
    async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf<TaskFlags>(cmd);
      const res = await (await resolveClient(o)).patch<{ task: TaskView }>(`/api/v1/tasks/${enc(id)}`, taskBody(o));
      printObject(res, taskRows(res.task), o);
    },
  );

  for (const [name, enabled] of [['enable', true], ['disable', false]] as const) {
    task
      .command(name)
      .description(enabled ? 'Enable a task (已启用): it runs from its next scheduled time' : 'Disable a task (已禁用): it no longer runs on schedule')
      .argument('<id>', 'a bt-… ID')
      .action(async (id: string, _o: object, cmd: Command) => {
        const o = globalsOf(cmd);
        const res = await (await resolveClient(o)).patch<{ task: TaskView }>(`/api/v1/tasks/${enc(id)}`, { enabled });
        printObject(res, taskRows(res.task), o);
      });
  }

  task
    .command('run')
    .description('Run a task now, outside its schedule')
    .argument('<id>', 'a bt-… ID')
    .action(async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).post<{ run: RunView }>(`/api/v1/tasks/${enc(id)}/runs`);
      if (o.json) return printJson(res);
      printList({ total_count: 1, items: [res.run] }, runColumns, { ...o, noun: 'runs' });
    });

  addPageOptions(task.command('runs').description('A task\'s run history, newest first').argument('<id>', 'a bt-… ID')).action(async (id: string, _o: object, cmd: Command) => {
    const o = globalsOf<PageFlags>(cmd);
    const page = pageQuery(o);
    printList(await (await resolveClient(o)).get<Page<RunView>>(`/api/v1/tasks/${enc(id)}/runs`, { ...page }), runColumns, { ...o, offset: page.offset, noun: 'runs' });
  });

  task
    .command('delete')
    .description('Delete a task and its run history (its backups stay)')
    .argument('<id>', 'a bt-… ID')
    .option('--yes', 'confirm the deletion (required)')
    .action(async (id: string, _o: object, cmd: Command) => {
      const o = globalsOf<{ yes?: boolean }>(cmd);
      requireYes(o.yes, `task ${id}`, 'it cannot be restored, though its backups stay.');
      await (await resolveClient(o)).delete(`/api/v1/tasks/${enc(id)}`);
      if (o.json) return printJson({ deleted: true, id });
      printMessage(`Deleted task ${id}; its backups are kept.`);
    });
}
