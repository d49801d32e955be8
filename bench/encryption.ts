// Encryption at rest against none (issue 30), in one run:
//
//   npm run bench:encryption -- [--quick] [--rounds N] [--seed S] [--cairn DIR]
//
// On the bench disk (bench/disk-image.ts, cached under bench/.cache), two Cairn
// servers on one build, one with a master key (`--master-key-file`) and one
// without, take turns (the first of each round alternates): a full backup,
// then a restore checked byte for byte, page cache dropped before each step
// where allowed (root). Prints each step's median wall time and CPU (client +
// server) for both, and encrypted ÷ plain; target ≤ 1.10× for wall time.
// Written to bench/results/encryption-<time>.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureImage, PRESETS } from './disk-image.js';
import { cleanupTimeDir, dropCaches, run } from './measure.js';
import { Cairn, snapshotBuild, type StepCost } from './tools.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BENCH = join(ROOT, 'bench');
const TARGET = 1.1;

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

type Variant = 'plain' | 'encrypted';
type Step = 'full' | 'restore';
interface Sample {
  round: number;
  variant: Variant;
  step: Step;
  wall: number;
  cpu: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cpuOf = (c: StepCost): number => c.client.user + c.client.sys + (c.server ? c.server.user + c.server.sys : 0);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean' }, rounds: { type: 'string' }, seed: { type: 'string' }, cairn: { type: 'string' }, work: { type: 'string' } },
    strict: true,
  });
  const preset = values.quick ? PRESETS.quick : PRESETS.standard;
  const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, got "${values.rounds}"`);
  const seed = values.seed ?? '1';
  const image = await ensureImage(preset, seed, join(BENCH, '.cache'), log);
  const work = await mkdtemp(join(values.work ?? tmpdir(), 'cairn-bench-enc-'));
  const samples: Sample[] = [];
  try {
    const build = await snapshotBuild(resolve(values.cairn ?? ROOT), join(work, 'build'));
    const keyFile = join(work, 'keys', 'master.key');
    await mkdir(join(work, 'keys'));
    await run(process.execPath, [join(build, 'bin', 'cairn.js'), 'admin', 'master-key', 'new', keyFile]);
    let dropped = true;
    for (let round = 1; round <= rounds; round++) {
      const order: Variant[] = round % 2 ? ['plain', 'encrypted'] : ['encrypted', 'plain'];
      for (const variant of order) {
        const dir = join(work, `${variant}-${round}`);
        await mkdir(dir, { recursive: true });
        const cairn = new Cairn({ root: build, diskSize: image.preset.size, ...(variant === 'encrypted' ? { masterKeyFile: keyFile } : {}) });
        try {
          await cairn.setup(dir);
          for (const step of ['full', 'restore'] as const) {
            dropped = dropped && (await dropCaches());
            const cost = step === 'full' ? await cairn.backup('full', image.path) : await cairn.restore(join(dir, 'restore'));
            if ('restored' in cost) {
              const same = await run('cmp', ['--silent', cost.restored as string, image.path]).then(() => true, () => false);
              if (!same) throw new Error(`the ${variant} restore differs from the disk`);
              await rm(join(dir, 'restore'), { recursive: true, force: true });
            }
            samples.push({ round, variant, step, wall: cost.client.wall, cpu: cpuOf(cost) });
            log(`[round ${round}/${rounds}] ${variant.padEnd(9)} ${step.padEnd(7)} ${cost.client.wall.toFixed(2)} s wall, ${cpuOf(cost).toFixed(2)} cpu s`);
          }
        } finally {
          await cairn.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
    if (!dropped) log('note: the page cache could not be dropped (not root?): all steps ran warm alike');
    const rows = (['full', 'restore'] as const).map((step) => {
      const of = (variant: Variant, k: 'wall' | 'cpu') => median(samples.filter((s) => s.step === step && s.variant === variant).map((s) => s[k]));
      const wall = of('encrypted', 'wall') / of('plain', 'wall');
      return { step, plainWall: of('plain', 'wall'), encryptedWall: of('encrypted', 'wall'), wallRatio: wall, cpuRatio: of('encrypted', 'cpu') / of('plain', 'cpu'), ok: wall <= TARGET };
    });
    const lines = [
      `encryption at rest, ${preset.name} disk (${preset.size / 2 ** 20} MiB), ${rounds} round(s), medians:`,
      'step      plain s  encrypted s  wall ratio  cpu ratio  target',
      ...rows.map((r) => `${r.step.padEnd(8)} ${r.plainWall.toFixed(2).padStart(8)} ${r.encryptedWall.toFixed(2).padStart(12)} ${`${r.wallRatio.toFixed(3)}×`.padStart(11)} ${`${r.cpuRatio.toFixed(3)}×`.padStart(10)}  ≤ ${TARGET.toFixed(2)}× ${r.ok ? 'ok' : 'MISSED'}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await mkdir(join(BENCH, 'results'), { recursive: true });
    const file = join(BENCH, 'results', `encryption-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify({ preset: preset.name, rounds, seed, samples, rows }, null, 2));
    log(`written to ${file}`);
  } finally {
    await rm(work, { recursive: true, force: true });
    cleanupTimeDir();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
