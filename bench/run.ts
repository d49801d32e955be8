import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatProfile, summarizeDir } from './cpu-profile.js';
import { applyChanges, ensureImage, planChanges, type DiskImage } from './disk-image.js';
import { DISK_FLAGS, readDiskFlags, type DiskFlags } from './disk-flags.js';
import { cleanupTimeDir, dropCaches, machineCpu, run, timeSync } from './measure.js';
import { cairnPeaks, checkTargets, formatRatios, formatSummary, formatTargets, ratios, summarize, type Sample, type Summary } from './report.js';
import { formatTimeline, Timeline, TIMELINE_INTERVAL_MS, type TimelineSample } from './timeline.js';
import { benchS3FromEnv, rawThroughput, storeDaemonsCpu, type BenchS3, type RawPhase } from './s3.js';
import { Borg, Cairn, Restic, snapshotBuild, STEPS, TOOL_NAMES, type CairnOptions, type StepCost, type StepName, type Tool, type ToolName } from './tools.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BENCH = join(ROOT, 'bench');
const CACHE = join(BENCH, '.cache');
const RESULTS = join(BENCH, 'results');

const USAGE = `usage: npm run bench -- [flags]

  --quick           256 MiB disk, 1 round: checks the harness in a minute or two
  --large           8 GiB disk (4.8 GiB of files), for the memory targets
  --rounds N        rounds of (full, incremental, restore) per tool (default 3; 1 with --quick)
  --seed S          seed of the disk and of the changes (default "1")
  --tools LIST      comma-separated subset of cairn,restic,borg (default all)
  --no-drop-caches  keep the page cache between steps (default: drop it, when root)
  --profile         profile Cairn instead: client and server under node --cpu-prof, one
                    round, each step summarised; profiles under bench/results/profile-*/
  --timeline        Cairn alone, one round: each step sampled every 100 ms (cores busy and
                    stolen, client and server CPU, disk reads and writes), printed and
                    written as JSON under bench/results/timeline-*.json
  --cairn DIR       measure the Cairn build in DIR (bin/ and dist/src/, e.g. another worktree)
                    instead of this checkout's
  --work DIR        where repositories and copies of the disk go (default: the temp dir)
  --keep            keep the work folder afterwards, for a look at the repositories
  --store s3        Cairn alone, its chunks in the S3 bucket of CAIRN_CHUNK_STORE / CAIRN_S3_ENDPOINT
                    (eval "$(scripts/ceph-rgw.sh start)" first); then the store's raw PUT and GET
                    throughput for as many objects of the same size, at the server's concurrency,
                    with the same client, and Cairn's rates as ratios of them
`;

interface Flags extends DiskFlags {
  tools: ToolName[];
  profile: boolean;
  timeline: boolean;
  keep: boolean;
  s3?: BenchS3;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...DISK_FLAGS,
      tools: { type: 'string' },
      profile: { type: 'boolean' },
      timeline: { type: 'boolean' },
      keep: { type: 'boolean' },
      store: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (values.profile && values.timeline) throw new Error('--profile and --timeline exclude each other: a profiled process runs slower');
  const alone = Boolean(values.profile || values.timeline);
  const disk = readDiskFlags(values, ROOT, alone ? 1 : 3);
  if (values.store !== undefined && values.store !== 'folder' && values.store !== 's3') throw new Error(`--store wants folder or s3, got "${values.store}"`);
  const s3 = values.store === 's3' ? benchS3FromEnv() : undefined;
  const tools = alone || s3 ? (['cairn'] as ToolName[]) : ((values.tools ?? TOOL_NAMES.join(',')).split(',').map((t) => t.trim()) as ToolName[]);
  for (const t of tools) if (!TOOL_NAMES.includes(t)) throw new Error(`unknown tool "${t}" in --tools; choose from ${TOOL_NAMES.join(', ')}`);
  return {
    ...disk,
    tools: TOOL_NAMES.filter((t) => tools.includes(t)),
    profile: Boolean(values.profile),
    timeline: Boolean(values.timeline),
    keep: Boolean(values.keep),
    ...(s3 ? { s3 } : {}),
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function commandExists(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v "$0"`, cmd]);
    return true;
  } catch {
    return false;
  }
}

async function checkPrerequisites(flags: Flags): Promise<void> {
  const needed: [string, string][] = [
    ['mke2fs', 'e2fsprogs'],
    ['/usr/bin/time', 'time'],
    ['cmp', 'diffutils'],
  ];
  if (flags.tools.includes('restic')) needed.push(['restic', 'restic']);
  if (flags.tools.includes('borg')) needed.push(['borg', 'borgbackup']);
  const missing: string[] = [];
  for (const [cmd, pkg] of needed) if (!(await commandExists(cmd))) missing.push(pkg);
  if (missing.length) throw new Error(`missing ${missing.join(', ')}: install with \`apt-get install ${missing.join(' ')}\` (or leave a tool out with --tools)`);
  try {
    await readFile(join(flags.cairnRoot, 'dist', 'src', 'cli', 'cairn.bundle.js'));
  } catch {
    throw new Error(`${join(flags.cairnRoot, 'dist/src/cli/cairn.bundle.js')} is missing: build first with \`npm run build\` (npm ci does it)`);
  }
}

function makeTool(name: ToolName, build: string, diskSize: number, s3?: BenchS3): Tool {
  if (name === 'restic') return new Restic();
  if (name === 'borg') return new Borg();
  return newCairn(build, diskSize, s3);
}

/** Cairn on the build in `root`; with `s3`, its chunks under a prefix of its own in the bucket. */
function newCairn(root: string, diskSize: number, s3?: BenchS3, more: Pick<CairnOptions, 'profileDir'> = {}): Cairn {
  return new Cairn({ root, diskSize, ...(s3 ? { s3: { bench: s3, prefix: `bench-${randomBytes(4).toString('hex')}/` } } : {}), ...more });
}

const MB = 1e6;

function describe(tool: ToolName, step: string, cost: StepCost, stored?: number): string {
  const c = cost.client;
  let line = `${tool.padEnd(6)} ${step.padEnd(11)} ${c.wall.toFixed(2).padStart(7)} s wall, ${c.user.toFixed(2)} s user, ${c.sys.toFixed(2)} s sys, ${(c.peakRss / MB).toFixed(0)} MB peak`;
  if (cost.server) line += `; server ${cost.server.user.toFixed(2)} s user, ${cost.server.sys.toFixed(2)} s sys, ${(cost.server.peakRss / MB).toFixed(0)} MB peak`;
  if (stored !== undefined) line += `; stored ${(stored / MB).toFixed(0)} MB`;
  return line;
}

/**
 * CPU the rest of the machine used while a step ran: what the step's own
 * processes do not account for; and of it, what the hypervisor took (steal).
 */
function othersUsed(before: { busy: number; steal: number }, cost: StepCost): { otherCpu: number; steal: number } {
  const now = machineCpu();
  const own = cost.client.user + cost.client.sys + (cost.server ? cost.server.user + cost.server.sys : 0);
  return { otherCpu: Math.max(0, now.busy - before.busy - own), steal: now.steal - before.steal };
}

const othersText = ({ otherCpu, steal }: { otherCpu: number; steal: number }): string => `others ${otherCpu.toFixed(1)} cpu s (steal ${steal.toFixed(1)} s)`;

async function identical(a: string, b: string): Promise<boolean> {
  try {
    await run('cmp', ['--silent', a, b]);
    return true;
  } catch {
    return false;
  }
}

/** Copies the pristine disk for a round: the change step writes into the copy, never the cached image. */
async function copyImage(image: DiskImage, to: string): Promise<void> {
  await run('cp', ['--sparse=always', image.path, to]);
}

const live = new Set<Tool>();

async function benchmark(flags: Flags, image: DiskImage, work: string, build: string): Promise<{ samples: Sample[]; cachesDropped: boolean; versions: Record<string, string> }> {
  const samples: Sample[] = [];
  let cachesDropped = flags.dropCaches;
  const drop = async () => {
    if (cachesDropped && !(await dropCaches())) {
      cachesDropped = false;
      log('note: cannot drop the page cache (not root?); caches are warm for all tools alike');
    }
  };
  /** One step, cold: its cost, the CPU the rest of the machine used meanwhile, and the writes it left to the kernel. */
  const measured = async <T extends StepCost>(step: () => Promise<T>): Promise<{ cost: T; others: ReturnType<typeof othersUsed> & { storeCpu?: number }; flush: number }> => {
    await drop();
    const store = flags.s3 ? storeDaemonsCpu() : 0;
    const before = machineCpu();
    const cost = await step();
    const others = othersUsed(before, cost);
    return { cost, others: flags.s3 ? { ...others, storeCpu: storeDaemonsCpu() - store } : others, flush: await timeSync() };
  };
  const versions: Record<string, string> = {};
  for (const name of flags.tools) versions[name] = await makeTool(name, build, image.preset.size).version();

  for (let round = 1; round <= flags.rounds; round++) {
    const roundDir = join(work, `round-${round}`);
    const disk = join(roundDir, 'disk.img');
    await mkdir(roundDir, { recursive: true });
    await copyImage(image, disk);
    const tools = flags.tools.map((n) => makeTool(n, build, image.preset.size, flags.s3));
    try {
      for (const t of tools) {
        live.add(t);
        await mkdir(join(roundDir, t.name), { recursive: true });
        await t.setup(join(roundDir, t.name));
      }
      const prefix = `[round ${round}/${flags.rounds}]`;
      // Each round starts with another tool: whoever reads first after the cache is
      // dropped can pay for the kernel reclaiming memory (seen here as seconds of
      // system time on an otherwise equal read), and no tool should always be it.
      const order = tools.map((_, i) => tools[(i + round - 1) % tools.length]!);
      // Step by step across tools: one copy of the disk serves all, at the same path
      // for every backup (restic picks its parent snapshot by path).
      for (const step of ['full', 'incremental'] as const) {
        if (step === 'incremental') await applyChanges(disk, planChanges(image.preset.size, flags.seed, round), flags.seed, round);
        for (const t of order) {
          const { cost, others, flush } = await measured(() => t.backup(step, disk));
          const stored = await t.stored();
          samples.push({ round, tool: t.name, step, ...cost, stored, flush, ...others });
          log(`${prefix} ${describe(t.name, step, cost, stored)}; sync ${flush.toFixed(2)} s; ${othersText(others)}`);
        }
      }
      for (const t of order) {
        const out = join(roundDir, t.name, 'restore');
        const { cost, others, flush } = await measured(() => t.restore(out, disk));
        const verified = await identical(cost.restored, disk);
        samples.push({ round, tool: t.name, step: 'restore', client: cost.client, ...(cost.server ? { server: cost.server } : {}), verified, flush, ...others });
        log(`${prefix} ${describe(t.name, 'restore', cost)}; sync ${flush.toFixed(2)} s; ${othersText(others)}${verified ? '' : '; RESTORED IMAGE DIFFERS'}`);
        await rm(out, { recursive: true, force: true });
      }
    } finally {
      for (const t of tools) {
        await t.close();
        live.delete(t);
      }
      if (!flags.keep) await rm(roundDir, { recursive: true, force: true });
    }
  }
  return { samples, cachesDropped, versions };
}

/**
 * Cairn alone, one round, with a server of its own for each step: under
 * --profile, client and server run under `node --cpu-prof` and each step's
 * profiles are summarised; under --timeline, each step is sampled every 100 ms
 * (timeline.ts) and the samples printed and written as JSON.
 */
async function inspect(flags: Flags, image: DiskImage, work: string, build: string, stamp: string): Promise<void> {
  const dir = join(RESULTS, `${flags.profile ? 'profile' : 'timeline'}-${stamp}`);
  let step: StepName | undefined;
  const profileDir = (who: 'client' | 'server') => (step ? join(dir, step, who) : undefined);
  const cairn = newCairn(build, image.preset.size, flags.s3, flags.profile ? { profileDir } : {});
  live.add(cairn);
  const disk = join(work, 'disk.img');
  await copyImage(image, disk);
  const timelines: Partial<Record<StepName, TimelineSample[]>> = {};
  try {
    // Set up on an unprofiled server, so that registration is not in the profiles.
    await cairn.setup(join(work, 'cairn'));
    for (const s of STEPS) {
      if (s === 'incremental') await applyChanges(disk, planChanges(image.preset.size, flags.seed, 1), flags.seed, 1);
      step = s;
      // A server per step, stopped with SIGINT after it: each profile covers one step.
      await cairn.startServer();
      if (flags.dropCaches) await dropCaches();
      const timeline = flags.timeline ? new Timeline(cairn.serverPid, work) : undefined;
      timeline?.start();
      const cost = s === 'restore' ? await cairn.restore(join(work, 'restore')) : await cairn.backup(s, disk);
      const samples = timeline?.stop();
      await cairn.stopServer();
      step = undefined;
      log(describe('cairn', s, cost));
      if (s === 'restore') await rm(join(work, 'restore'), { recursive: true, force: true });
      if (samples) {
        timelines[s] = samples;
        const every = Math.max(1, Math.round(samples.length / 40)); // about 40 rows a step, whatever the disk
        process.stdout.write(`\n${s}, ${((every * TIMELINE_INTERVAL_MS) / 1000).toFixed(1)} s a row:\n${formatTimeline(samples, every)}\n`);
      }
      if (flags.profile) {
        for (const who of ['client', 'server'] as const) {
          for (const summary of await summarizeDir(join(dir, s, who), `${s} ${who}`)) process.stdout.write(`\n${formatProfile(summary)}`);
        }
      }
    }
  } finally {
    await cairn.close();
    live.delete(cairn);
  }
  if (flags.profile) log(`profiles in ${dir} (open them in Chrome DevTools, or: node dist/bench/cpu-profile.js DIR)`);
  else {
    await mkdir(RESULTS, { recursive: true });
    const file = `${dir}.json`;
    await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), disk: image.preset.name, intervalMs: TIMELINE_INTERVAL_MS, timelines }, null, 2)}\n`);
    log(`timelines in ${file}`);
  }
}

/**
 * Cairn's peaks in the newest run on the 2 GiB disk of the same build (same
 * commit) with the same tools, for the "+10%" half of the memory target. The
 * tools matter: between Cairn's steps the server idles while the others run,
 * and a server that idled peaked 20–40 MB lower in its next step than one
 * that went straight on (Cairn alone).
 */
async function standardBaseline(flags: Flags, source: { commit: string } | undefined): Promise<{ file: string; peaks: { client: number; server: number } } | undefined> {
  let names: string[];
  try {
    // Only this script's results, named <time>-<disk>.json: bench/pair.ts writes <name>-<time>-<disk>.json, of another shape.
    names = (await readdir(RESULTS)).filter((n) => /^\d{4}-.*-standard\.json$/.test(n)).sort();
  } catch {
    return undefined;
  }
  for (const name of names.reverse()) {
    const result = JSON.parse(await readFile(join(RESULTS, name), 'utf8')) as { summary: Summary[]; flags: { cairnRoot?: string; tools?: string[] }; source?: { commit: string } };
    if ((result.flags.cairnRoot ?? ROOT) !== flags.cairnRoot || result.source?.commit !== source?.commit) continue;
    if ([...(result.flags.tools ?? [])].sort().join() !== [...flags.tools].sort().join()) continue;
    const peaks = cairnPeaks(result.summary);
    if (peaks) return { file: name, peaks };
  }
  return undefined;
}

/** Which source was measured: the commit, and whether src/ had uncommitted changes. */
async function sourceState(root: string): Promise<{ commit: string; srcDirty: boolean } | undefined> {
  try {
    const commit = (await run('git', ['-C', root, 'rev-parse', 'HEAD'])).stdout.trim();
    const dirty = (await run('git', ['-C', root, 'status', '--porcelain', '--', 'src'])).stdout.trim() !== '';
    return { commit, srcDirty: dirty };
  } catch {
    return undefined;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};

/**
 * Cairn's full backup and restore against the store's raw throughput: as many
 * objects as the full backup stored, of their mean size, written and read by the
 * same client at the server's concurrency (3 upload batches of up to 16 chunks;
 * 3 read batches of 4). Restore bytes are what the bucket holds after the
 * incremental, slightly more than the restored point reads.
 */
async function s3Comparison(s3: BenchS3, samples: Sample[]): Promise<string> {
  const full = samples.filter((x) => x.tool === 'cairn' && x.step === 'full');
  const incr = samples.filter((x) => x.tool === 'cairn' && x.step === 'incremental');
  const restore = samples.filter((x) => x.tool === 'cairn' && x.step === 'restore');
  const fullBytes = median(full.map((x) => x.stored ?? 0));
  const allBytes = median(incr.map((x) => x.stored ?? 0));
  const backupRate = median(full.map((x) => (x.stored ?? 0) / 1e6 / x.client.wall));
  const restoreRate = median(restore.map((x) => allBytes / 1e6 / x.client.wall));
  const objects = Math.max(1, Math.round(fullBytes / (4 * 2 ** 20)));
  const size = Math.max(1, Math.round(fullBytes / objects));
  log(`raw S3 throughput: ${objects} objects of ${(size / 2 ** 20).toFixed(2)} MiB`);
  const writes = await rawThroughput(s3, objects, size, 48);
  const reads = await rawThroughput(s3, objects, size, 12);
  const row = (what: string, cairn: number, raw: number, rawWhat: string) =>
    `| ${what} | ${cairn.toFixed(0)} | ${raw.toFixed(0)} (${rawWhat}) | ${(cairn / raw).toFixed(2)} |`;
  // Where client, server and the store share the cores, a step cannot take less wall time than
  // the CPU that it and the store need, spread over all of them: the best ratio this machine allows.
  const cores = availableParallelism();
  const budget = (what: string, steps: Sample[], raw: RawPhase, rawWhat: string) => {
    const own = median(steps.map((x) => x.client.user + x.client.sys + (x.server ? x.server.user + x.server.sys : 0)));
    const store = median(steps.map((x) => x.storeCpu ?? 0));
    const wall = median(steps.map((x) => x.client.wall));
    return `| ${what} | ${own.toFixed(1)} + ${store.toFixed(1)} = ${(own + store).toFixed(1)} (${wall.toFixed(1)} s) | ${raw.clientCpu.toFixed(1)} + ${raw.storeCpu.toFixed(1)} (${rawWhat}, ${raw.wall.toFixed(1)} s) | ${(raw.wall / ((own + store) / cores)).toFixed(2)} |`;
  };
  return [
    `S3 store at ${s3.settings.endpoint ?? 'AWS'}, bucket ${s3.settings.bucket} (MB/s of bytes stored / read; medians):`,
    '| step | Cairn MB/s | raw MB/s | ratio (target >= 0.8) |',
    '| --- | --- | --- | --- |',
    row('full backup', backupRate, writes.put.rate, 'PUT, 48 at a time'),
    row('restore', restoreRate, reads.get.rate, 'GET, 12 at a time'),
    `(raw GET at 48: ${writes.get.rate.toFixed(0)} MB/s; raw PUT at 12: ${reads.put.rate.toFixed(0)} MB/s)`,
    '',
    `CPU seconds: Cairn's (client + server) + the store's daemons' (radosgw, ceph-osd, ceph-mon) during each; the best ratio ${cores} cores allow is the raw wall time over (Cairn's + the store's CPU) / ${cores}:`,
    '| step | Cairn + store cpu s (wall) | raw client + store cpu s | best ratio on these cores |',
    '| --- | --- | --- | --- |',
    budget('full backup', full, writes.put, 'PUT'),
    budget('restore', restore, reads.get, 'GET'),
  ].join('\n');
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  await checkPrerequisites(flags);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const image = await ensureImage(flags.preset, flags.seed, CACHE, log);
  const work = await mkdtemp(join(flags.work, 'cairn-bench-'));
  const build = await snapshotBuild(flags.cairnRoot, join(work, 'build'));
  const source = await sourceState(flags.cairnRoot);
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    void Promise.all([...live].map((t) => t.close()))
      .then(() => (flags.keep ? undefined : rm(work, { recursive: true, force: true })))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (flags.profile || flags.timeline) return await inspect(flags, image, work, build, stamp);
    log(`disk: ${image.path} (${flags.preset.size / 2 ** 20} MiB, ${image.files} files); ${flags.rounds} round(s) of ${flags.tools.join(', ')}; work in ${work}`);
    const { samples, cachesDropped, versions } = await benchmark(flags, image, work, build);
    const summary = summarize(samples, flags.tools);
    const ratioList = ratios(summary);
    const baseline = flags.preset.name === 'large' ? await standardBaseline(flags, source) : undefined;
    if (flags.preset.name === 'large') {
      log(baseline ? `memory compared with ${baseline.file}` : `no 2 GiB run of this commit with ${flags.tools.join(', ')} in ${RESULTS}: only the 250 MB bound is judged (run \`npm run bench\` with the same --tools first)`);
    }
    const targets = checkTargets(summary, flags.preset.name === 'large', baseline?.peaks);
    const text = [
      `Medians of ${flags.rounds} round(s), ${flags.preset.name} disk (${flags.preset.size / 2 ** 30} GiB); page cache ${cachesDropped ? 'dropped before each step' : 'warm'}. MB = 10^6 bytes; "srv" = the Cairn server; "sync s" = a sync right after the step, i.e. writes the tool left to the kernel; "other cpu s" = CPU used by other processes during the step (above ~1 s, the machine was shared and wall times suffer); "steal s" = of that, time the hypervisor ran something else on this VM's cores.`,
      formatSummary(summary),
      '',
      formatRatios(ratioList),
      '',
      formatTargets(targets),
    ].join('\n');
    process.stdout.write(`\n${text}\n`);
    if (flags.s3) process.stdout.write(`\n${await s3Comparison(flags.s3, samples)}\n`);
    await mkdir(RESULTS, { recursive: true });
    const file = join(RESULTS, `${stamp}-${flags.preset.name}.json`);
    const result = {
      date: new Date().toISOString(),
      flags: { ...flags, preset: flags.preset.name },
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memory: totalmem(), node: process.version },
      versions,
      source,
      disk: { ...image, path: undefined },
      cachesDropped,
      samples,
      summary,
      ratios: ratioList,
      targets,
    };
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`results in ${file}`);
  } finally {
    if (!flags.keep) await rm(work, { recursive: true, force: true });
    else log(`work folder kept: ${work}`);
    cleanupTimeDir();
  }
}

main().catch((err: unknown) => {
  log(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
