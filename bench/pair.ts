import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DISK_FLAGS, readDiskFlags } from './disk-flags.js';
import { ensureImage } from './disk-image.js';
import { cleanupTimeDir, dropCaches, run } from './measure.js';
import { median, renderTable } from './report.js';
import { Cairn, snapshotBuild, type CairnOptions, type StepCost } from './tools.js';

/**
 * One Cairn build measured two ways on the same disk in one run (bench:tls,
 * bench:encryption): in each round each variant gets a fresh server, does a
 * full backup and a restore checked byte for byte against the disk, page cache
 * dropped before each step where allowed (root); the two take turns at going
 * first. Prints the medians and the ratio of the second variant to the first,
 * of wall time (judged against `target`) and of CPU (client and server), and
 * writes them to bench/results/<results>-<time>-<disk>.json.
 */
export interface PairOptions<V extends string> {
  /** What is measured, for the heading: "Cairn over HTTPS against plain HTTP". */
  title: string;
  /** The results file's prefix and the npm script's name after `bench:`. */
  results: string;
  /** The yardstick first, then the variant measured against it. */
  variants: readonly [V, V];
  /** The most the second may take, as a ratio of the first's wall time. */
  target: number;
  /** Once, in the run's work folder, with the build measured: each variant's server and CLI settings. */
  prepare(work: string, build: string): Promise<Record<V, Partial<CairnOptions>>>;
  /**
   * What the second variant's mechanism costs on its own, without Cairn, for
   * the bytes each step moves (the chunks stored), measured after the rounds:
   * the CPU it adds to the first variant's is then split into the mechanism's
   * share and Cairn's, and the first's CPU plus that share is the best CPU
   * ratio the mechanism allows.
   */
  ownCost?(bytes: number): Promise<{ what: string; cpu: number }>;
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CACHE = join(ROOT, 'bench', '.cache');
const RESULTS = join(ROOT, 'bench', 'results');

type Step = 'full' | 'restore';
interface Sample {
  round: number;
  variant: string;
  step: Step;
  wall: number;
  /** Client and server CPU seconds, user and system. */
  cpu: number;
  /** After a full backup: the bytes of the chunks it stored, which the restore brings back. */
  stored?: number;
  verified?: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const cpuOf = (cost: StepCost): number => cost.client.user + cost.client.sys + (cost.server ? cost.server.user + cost.server.sys : 0);

export async function runPair<V extends string>(o: PairOptions<V>): Promise<void> {
  const usage = `usage: npm run bench:${o.results} -- [flags]

  --quick           256 MiB disk, 1 round
  --large           8 GiB disk
  --rounds N        rounds of (full backup, restore) per variant (default 3; 1 with --quick)
  --seed S          seed of the disk (default "1")
  --no-drop-caches  keep the page cache between steps (default: drop it, when root)
  --cairn DIR       measure the Cairn build in DIR (bin/ and dist/src/) instead of this checkout's
  --work DIR        where the servers' data and the restored disks go (default: the temp dir)
`;
  const { values } = parseArgs({ options: DISK_FLAGS, strict: true });
  if (values.help) return void process.stdout.write(usage);
  const { preset, rounds, seed, cairnRoot, work: workRoot, dropCaches: drop } = readDiskFlags(values, ROOT);
  let dropping = drop;
  const [first, second] = o.variants;

  const image = await ensureImage(preset, seed, CACHE, log);
  const work = await mkdtemp(join(workRoot, `cairn-bench-${o.results}-`));
  const samples: Sample[] = [];
  let stored = 0;
  let own: { what: string; cpu: number } | undefined;
  try {
    const build = await snapshotBuild(cairnRoot, join(work, 'build'));
    const settings = await o.prepare(work, build);
    log(await new Cairn({ root: build, diskSize: preset.size }).version());
    const cold = async () => {
      if (dropping && !(await dropCaches())) {
        dropping = false;
        log('note: cannot drop the page cache (not root?); both variants run warm');
      }
    };
    for (let round = 1; round <= rounds; round++) {
      for (const variant of round % 2 === 1 ? [first, second] : [second, first]) {
        const dir = join(work, `round-${round}-${variant}`);
        await mkdir(dir, { recursive: true });
        const cairn = new Cairn({ root: build, diskSize: preset.size, ...settings[variant] });
        try {
          await cairn.setup(dir);
          await cold();
          const full = await cairn.backup('full', image.path);
          samples.push({ round, variant, step: 'full', wall: full.client.wall, cpu: cpuOf(full), stored: await cairn.stored() });
          await run('sync', []);
          await cold();
          const restored = await cairn.restore(join(dir, 'restore'));
          const verified = await run('cmp', ['--silent', restored.restored, image.path]).then(() => true, () => false);
          samples.push({ round, variant, step: 'restore', wall: restored.client.wall, cpu: cpuOf(restored), verified });
          log(`[round ${round}/${rounds}] ${variant.padEnd(9)} full ${full.client.wall.toFixed(2)} s (cpu ${cpuOf(full).toFixed(2)} s), restore ${restored.client.wall.toFixed(2)} s (cpu ${cpuOf(restored).toFixed(2)} s)${verified ? '' : '; RESTORED IMAGE DIFFERS'}`);
        } finally {
          await cairn.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
    // Before the work folder goes: prepare may have left what it needs there (bench:tls, its certificate).
    stored = median(samples.flatMap((s) => (s.stored !== undefined ? [s.stored] : [])));
    own = await o.ownCost?.(stored);
  } finally {
    await rm(work, { recursive: true, force: true });
    cleanupTimeDir();
  }

  const of = (variant: V, step: Step, what: 'wall' | 'cpu') => median(samples.filter((s) => s.variant === variant && s.step === step).map((s) => s[what]));
  const rows = (['full', 'restore'] as const).map((step) => {
    const wall = of(second, step, 'wall') / of(first, step, 'wall');
    const cpu = of(second, step, 'cpu') / of(first, step, 'cpu');
    return { step, [first]: of(first, step, 'wall'), [second]: of(second, step, 'wall'), wall, cpu, pass: wall <= o.target };
  });
  const differs = samples.some((s) => s.verified === false);
  process.stdout.write(
    `\n${o.title}, ${preset.name} disk (${(preset.size / 2 ** 20).toFixed(0)} MiB), ${rounds} round${rounds > 1 ? 's' : ''}, medians:\n` +
      renderTable(
        ['step', `${first} s`, `${second} s`, `${second}/${first} wall`, `${second}/${first} cpu`, `target ≤ ${o.target}×`],
        rows.map((r) => [r.step, of(first, r.step, 'wall').toFixed(2), of(second, r.step, 'wall').toFixed(2), `${r.wall.toFixed(3)}×`, `${r.cpu.toFixed(3)}×`, r.pass ? 'pass' : 'FAIL']),
        [1, 2, 3, 4],
      ) +
      '\n' +
      (own ? ownCostTable(own, rows.map((r) => ({ step: r.step, first: of(first, r.step, 'cpu'), second: of(second, r.step, 'cpu') })), [first, second]) : '') +
      (differs ? 'A RESTORED IMAGE DIFFERED FROM THE DISK\n' : ''),
  );
  await mkdir(RESULTS, { recursive: true });
  const file = join(RESULTS, `${o.results}-${new Date().toISOString().replace(/[:.]/g, '-')}-${preset.name}.json`);
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), disk: preset.name, rounds, seed, target: o.target, ratios: rows, ...(own ? { ownCost: { bytes: stored, ...own } } : {}), samples }, null, 2)}\n`);
  log(`results in ${file}`);
  if (differs) process.exitCode = 1;
}

/** The CPU the second variant adds in each step, split into the mechanism's own share and Cairn's, and the best CPU ratio the mechanism allows. */
function ownCostTable(own: { what: string; cpu: number }, steps: { step: string; first: number; second: number }[], [first, second]: readonly [string, string]): string {
  return (
    `${own.what}\n` +
    renderTable(
      ['step', `${second} − ${first} cpu s`, 'its own', "Cairn's own", 'best cpu ratio it allows'],
      steps.map((s) => [s.step, (s.second - s.first).toFixed(2), own.cpu.toFixed(2), (s.second - s.first - own.cpu).toFixed(2), `${((s.first + own.cpu) / s.first).toFixed(3)}×`]),
      [1, 2, 3, 4],
    ) +
    '\n'
  );
}
