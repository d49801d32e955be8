// Files from a backup, against restoring the whole disk (issue 33), once:
//
//   npm run build:server && node dist/bench/files.js [--seed S] [--keep]
//
// On the 2 GiB bench disk (bench/disk-image.ts, cached under bench/.cache) with
// a 100 MB file added (debugfs write, no mount), one Cairn server backs the disk
// up, then, page cache dropped before each step where allowed (root): restores
// the whole disk (the yardstick), lists the root with `cairn files ls`, and takes
// the 100 MB file out with `cairn files get`, checking its bytes. Printed, and
// written to bench/results/files-<time>.json: each step's wall time, its ratio
// to the restore, and peak memory of client and server. Targets: listing < 0.05×
// the restore, the file ≤ 0.2×.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureImage, PRESETS } from './disk-image.js';
import { cleanupTimeDir, dropCaches, run } from './measure.js';
import { ByteStream } from './prng.js';
import { Cairn, snapshotBuild, type StepCost } from './tools.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BENCH = join(ROOT, 'bench');
const MB = 1e6;
const FILE_BYTES = 100 * MB;
const TARGETS = { list: 0.05, file: 0.2 };

const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    for await (const piece of fh.createReadStream({ highWaterMark: 4 * 2 ** 20 })) hash.update(piece as Buffer);
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

function describe(step: string, cost: StepCost, restore?: number): string {
  const ratio = restore ? `, ${(cost.client.wall / restore).toFixed(3)}× the restore` : '';
  const server = cost.server ? `; server ${(cost.server.peakRss / MB).toFixed(0)} MB peak` : '';
  return `${step}: ${cost.client.wall.toFixed(2)} s${ratio}; client ${(cost.client.peakRss / MB).toFixed(0)} MB peak${server}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seed: { type: 'string' }, keep: { type: 'boolean' }, work: { type: 'string' } } });
  const seed = values.seed ?? '1';
  const preset = PRESETS.standard;
  const image = await ensureImage(preset, seed, join(BENCH, '.cache'), log);
  const work = await mkdtemp(join(values.work ?? tmpdir(), 'cairn-bench-files-'));
  try {
    const build = await snapshotBuild(ROOT, join(work, 'build'));
    const disk = join(work, 'disk.img');
    await copyFile(image.path, disk);
    const big = join(work, 'big.bin');
    const bytes = new ByteStream(seed, 'files-bench-big');
    const fh = await open(big, 'w');
    for (let at = 0; at < FILE_BYTES; at += 2 ** 20) await fh.write(bytes.next(Math.min(2 ** 20, FILE_BYTES - at)));
    await fh.close();
    await run('debugfs', ['-w', '-R', `write ${big} big.bin`, disk]);
    log(`disk: ${disk} (${preset.size / 2 ** 20} MiB, ${image.files} files and a ${FILE_BYTES / MB} MB /big.bin)`);

    const cairn = new Cairn({ root: build, diskSize: preset.size });
    await cairn.setup(work);
    try {
      const backup = await cairn.backup('full', disk);
      log(describe('full backup', backup));
      const dropped = await dropCaches();
      const restore = await cairn.restore(join(work, 'restore'));
      log(describe('restore of the whole disk', restore));
      await rm(restore.restored, { force: true });

      await dropCaches();
      const list = await cairn.command(['--json', 'files', 'ls', cairn.point, '/']);
      const names = (JSON.parse(list.stdout) as { entries: { name: string }[] }).entries.map((e) => e.name);
      if (!names.includes('big.bin')) throw new Error(`the root listing lacks big.bin: ${names.join(', ')}`);
      log(describe(`listing the root (${names.length} entries)`, list, restore.client.wall));

      await dropCaches();
      const out = join(work, 'big.out');
      const file = await cairn.command(['files', 'get', cairn.point, '/big.bin', '-o', out]);
      const same = (await sha256(out)) === (await sha256(big));
      if (!same) throw new Error('the file taken out differs from the one written into the disk');
      log(describe(`reading /big.bin (${FILE_BYTES / MB} MB, verified)`, file, restore.client.wall));

      const result = {
        date: new Date().toISOString(),
        disk: { preset: preset.name, size: preset.size, seed, files: image.files + 1 },
        cachesDropped: dropped,
        restore: restore.client.wall,
        steps: {
          restore: { client: restore.client, server: restore.server },
          list: { client: list.client, server: list.server, ratio: list.client.wall / restore.client.wall, target: TARGETS.list },
          file: { client: file.client, server: file.server, ratio: file.client.wall / restore.client.wall, target: TARGETS.file, bytes: FILE_BYTES },
        },
      };
      const met = result.steps.list.ratio < TARGETS.list && result.steps.file.ratio <= TARGETS.file;
      log(`targets (listing < ${TARGETS.list}×, file ≤ ${TARGETS.file}×): ${met ? 'met' : 'NOT met'}; page cache ${dropped ? 'dropped before each step' : 'warm (not root)'}`);
      await mkdir(join(BENCH, 'results'), { recursive: true });
      const file_ = join(BENCH, 'results', `files-${result.date.replace(/[:.]/g, '-')}.json`);
      await writeFile(file_, `${JSON.stringify(result, null, 2)}\n`);
      log(`written to ${file_}`);
    } finally {
      await cairn.close();
    }
  } finally {
    cleanupTimeDir();
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

await main();
