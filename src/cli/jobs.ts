import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { CairnError } from '../domain/errors.js';
import { resolveClient } from './config-file.js';
import { ServerUnreachableError, type Job, type JobStatus } from './http-client.js';
import { addPageOptions, globalsOf, pageQuery, parseSeconds, type PageFlags } from './options.js';
import { formatBytes, formatTime, printJson, printList, printObject, type Cell, type Column } from './output.js';

const STATUSES: JobStatus[] = ['pending', 'working', 'successful', 'failed'];

export function jobProgress(j: Job): string {
  const bytes = j.bytes_total > 0 ? ` (${formatBytes(j.bytes_done)} of ${formatBytes(j.bytes_total)})` : '';
  return `${j.progress}%${bytes}`;
}

export function jobRows(j: Job): [string, Cell][] {
  return [
    ['ID', j.id],
    ['Action', j.action],
    ['Status', j.status],
    ['Progress', jobProgress(j)],
    ['Resource', j.resource_id],
    ['Target', j.target_id],
    ['Runner', j.runner],
    ['Error', j.error],
    ['Result', j.result === null || j.result === undefined ? null : JSON.stringify(j.result)],
    ['Created', formatTime(j.created_at, { relative: true })],
    ['Started', formatTime(j.started_at)],
    ['Finished', formatTime(j.finished_at)],
  ];
}

const jobColumns: Column<Job>[] = [
  { header: 'ID', value: (j) => j.id },
  { header: 'Action', value: (j) => j.action },
  { header: 'Status', value: (j) => j.status },
  { header: 'Progress', value: (j) => `${j.progress}%`, align: 'right' },
  { header: 'Resource', value: (j) => j.resource_id },
  { header: 'Created', value: (j) => formatTime(j.created_at) },
  { header: 'Finished', value: (j) => formatTime(j.finished_at) },
];

export const isFinished = (j: Job) => j.status === 'successful' || j.status === 'failed';

export interface WaitOptions {
  /** Give up after this long; undefined waits as long as the job takes. */
  timeoutMs?: number;
  intervalMs?: number;
  /** How long the server may stay unreachable (a restart, say) before waiting stops. */
  outageMs?: number;
  onPoll?: (job: Job) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export class JobWaitTimeout extends Error {
  constructor(readonly job: Job, seconds: number) {
    super(`job ${job.id} is still ${job.status} (${jobProgress(job)}) after ${seconds} s; wait again with \`cairn job wait ${job.id}\``);
    this.name = 'JobWaitTimeout';
  }
}

/** Polls until the job is successful or failed; reused by commands that start jobs. */
export async function waitForJob(getJob: (id: string) => Promise<{ job: Job }>, id: string, opts: WaitOptions = {}): Promise<Job> {
  const now = opts.now ?? Date.now;
  const pause = opts.sleep ?? sleep;
  const interval = opts.intervalMs ?? 1000;
  const outage = opts.outageMs ?? 60_000;
  const start = now();
  let downSince: number | null = null;
  let last: Job | null = null;
  for (;;) {
    try {
      last = (await getJob(id)).job;
      downSince = null;
      opts.onPoll?.(last);
      if (isFinished(last)) return last;
    } catch (err) {
      const transient = err instanceof ServerUnreachableError || (err instanceof CairnError && err.status >= 500);
      if (!transient) throw err;
      downSince ??= now();
      if (now() - downSince >= outage) throw err;
    }
    if (opts.timeoutMs !== undefined && now() - start >= opts.timeoutMs) {
      if (last) throw new JobWaitTimeout(last, opts.timeoutMs / 1000);
      throw new CairnError(504, 'timeout', `job ${id} could not be read within ${opts.timeoutMs / 1000} s; the server is unreachable or failing.`);
    }
    const left = opts.timeoutMs === undefined ? interval : Math.max(0, Math.min(interval, start + opts.timeoutMs - now()));
    await pause(left);
  }
}

interface ListFlags extends PageFlags {
  status?: JobStatus;
  resource?: string;
}

export function jobCommands(program: Command): void {
  const job = program.command('job').description('Long operations (backups, images, restores) and their progress');

  addPageOptions(
    job
      .command('list')
      .description('List your jobs, newest first')
      .addOption(new Option('--status <status>', 'only jobs in this status').choices(STATUSES))
      .option('--resource <id>', 'only jobs of this resource (vol-… or i-…)'),
  ).action(async (_opts: ListFlags, cmd: Command) => {
    const o = globalsOf<ListFlags>(cmd);
    const page = pageQuery(o);
    const res = await (await resolveClient(o)).listJobs({ ...page, status: o.status, resource_id: o.resource });
    printList(res, jobColumns, { ...o, offset: page.offset, noun: 'jobs' });
  });

  job
    .command('show')
    .description('Show a job, its progress and its error if it failed')
    .argument('<id>', 'a j-… ID')
    .action(async (id: string, _opts: object, cmd: Command) => {
      const o = globalsOf(cmd);
      const res = await (await resolveClient(o)).getJob(id);
      printObject(res, jobRows(res.job), o);
    });

  job
    .command('wait')
    .description('Wait until a job is successful or failed; exits non-zero if it failed or the timeout passed')
    .argument('<id>', 'a j-… ID')
    .option('--timeout <seconds>', 'give up after this many seconds (default: wait as long as it takes)')
    .option('--interval <seconds>', 'seconds between polls', '1')
    .action(async (id: string, _opts: { timeout?: string; interval: string }, cmd: Command) => {
      const o = globalsOf<{ timeout?: string; interval: string }>(cmd);
      const timeout = parseSeconds(o.timeout, '--timeout');
      const interval = parseSeconds(o.interval, '--interval') ?? 1;
      const client = await resolveClient(o);
      // A live progress line only where a person watches; pipes and --json get just the result.
      const live = !o.json && process.stderr.isTTY === true;
      let shown = '';
      const onPoll = live
        ? (j: Job) => {
            const line = `${j.id} ${j.status} ${jobProgress(j)}`;
            if (line !== shown) process.stderr.write(`\r\x1b[K${line}`);
            shown = line;
          }
        : undefined;
      let final: Job;
      try {
        final = await waitForJob((jobId) => client.getJob(jobId), id, { timeoutMs: timeout && timeout * 1000, intervalMs: interval * 1000, onPoll });
      } catch (err) {
        if (live) process.stderr.write('\r\x1b[K');
        if (err instanceof JobWaitTimeout && o.json) printJson({ job: err.job });
        throw err;
      }
      if (live) process.stderr.write('\r\x1b[K');
      printObject({ job: final }, jobRows(final), o);
      if (final.status === 'failed') throw new Error(`job ${final.id} failed: ${final.error ?? 'the server recorded no reason'}`);
    });
}
