import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeCa, makeServerCert } from '../test/helpers/tls.js';
import { ensureImage, PRESETS, type DiskPreset } from './disk-image.js';
import { cleanupTimeDir, dropCaches, run } from './measure.js';
import { median, renderTable } from './report.js';
import { Cairn, snapshotBuild, type StepCost } from './tools.js';

/**
 * Cairn over HTTPS against Cairn over plain HTTP, in the same run on the same
 * disk: full backup and restore, each mode on a fresh server, the two taking
 * turns at going first in each round. The ratio of HTTPS to HTTP (target
 * ≤ 1.15, issue 30) is what TLS costs a transfer.
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CACHE = join(ROOT, 'bench', '.cache');
const RESULTS = join(ROOT, 'bench', 'results');
const TARGET = 1.15;

const USAGE = `usage: npm run bench:tls -- [flags]

  --quick           256 MiB disk, 1 round
  --large           8 GiB disk
  --rounds N        rounds of (full backup, restore) per mode (default 3; 1 with --quick)
  --seed S          seed of the disk (default "1")
  --no-drop-caches  keep the page cache between steps (default: drop it, when root)
  --work DIR        where the servers' data and the restored disks go (default: the temp dir)
`;

type Mode = 'http' | 'https';
type Step = 'full' | 'restore';
interface Sample {
  round: number;
  mode: Mode;
  step: Step;
  wall: number;
  /** Client and server CPU seconds, user and system. */
  cpu: number;
  verified?: boolean;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const cpuOf = (cost: StepCost): number => cost.client.user + cost.client.sys + (cost.server ? cost.server.user + cost.server.sys : 0);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      large: { type: 'boolean' },
      rounds: { type: 'string' },
      seed: { type: 'string' },
      'no-drop-caches': { type: 'boolean' },
      work: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(USAGE);
  const preset: DiskPreset = values.quick ? PRESETS.quick : values.large ? PRESETS.large : PRESETS.standard;
  const rounds = values.rounds !== undefined ? Number(values.rounds) : values.quick ? 1 : 3;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds wants a positive integer, got "${values.rounds}"`);
  const seed = values.seed ?? '1';
  let dropping = !values['no-drop-caches'];

  const image = await ensureImage(preset, seed, CACHE, log);
  const work = await mkdtemp(join(values.work ?? tmpdir(), 'cairn-bench-tls-'));
  const samples: Sample[] = [];
  try {
    const build = await snapshotBuild(ROOT, join(work, 'build'));
    // Made now, with openssl, as the tests make theirs: a CA the client is told to trust, a certificate for 127.0.0.1.
    const certs = join(work, 'certs');
    await mkdir(certs);
    const ca = await makeCa(certs, 'bench');
    const cert = await makeServerCert(certs, ca, 'server');
    const tls = { certFile: cert.certFile, keyFile: cert.keyFile, caFile: ca.certFile };
    log(await new Cairn({ root: build, diskSize: preset.size }).version());

    const cold = async () => {
      if (dropping && !(await dropCaches())) {
        dropping = false;
        log('note: cannot drop the page cache (not root?); both modes run warm');
      }
    };
    for (let round = 1; round <= rounds; round++) {
      const modes: Mode[] = round % 2 === 1 ? ['http', 'https'] : ['https', 'http'];
      for (const mode of modes) {
        const dir = join(work, `round-${round}-${mode}`);
        await mkdir(dir, { recursive: true });
        const cairn = new Cairn({ root: build, diskSize: preset.size, ...(mode === 'https' ? { tls } : {}) });
        try {
          await cairn.setup(dir);
          await cold();
          const full = await cairn.backup('full', image.path);
          samples.push({ round, mode, step: 'full', wall: full.client.wall, cpu: cpuOf(full) });
          await run('sync', []);
          await cold();
          const restored = await cairn.restore(join(dir, 'restore'));
          const verified = await run('cmp', ['--silent', restored.restored, image.path]).then(() => true, () => false);
          samples.push({ round, mode, step: 'restore', wall: restored.client.wall, cpu: cpuOf(restored), verified });
          log(`[round ${round}/${rounds}] ${mode.padEnd(5)} full ${full.client.wall.toFixed(2)} s (cpu ${cpuOf(full).toFixed(2)} s), restore ${restored.client.wall.toFixed(2)} s (cpu ${cpuOf(restored).toFixed(2)} s)${verified ? '' : '; RESTORED IMAGE DIFFERS'}`);
        } finally {
          await cairn.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
    cleanupTimeDir();
  }

  const of = (mode: Mode, step: Step, what: 'wall' | 'cpu') => median(samples.filter((s) => s.mode === mode && s.step === step).map((s) => s[what]));
  const rows = (['full', 'restore'] as const).map((step) => {
    const wall = of('https', step, 'wall') / of('http', step, 'wall');
    const cpu = of('https', step, 'cpu') / of('http', step, 'cpu');
    return { step, http: of('http', step, 'wall'), https: of('https', step, 'wall'), wall, cpu, pass: wall <= TARGET };
  });
  const differs = samples.some((s) => s.verified === false);
  process.stdout.write(
    `\nCairn over HTTPS against plain HTTP, ${preset.name} disk (${(preset.size / 2 ** 20).toFixed(0)} MiB), ${rounds} round${rounds > 1 ? 's' : ''}, medians:\n` +
      renderTable(
        ['step', 'http s', 'https s', 'https/http wall', 'https/http cpu', `target ≤ ${TARGET}×`],
        rows.map((r) => [r.step, r.http.toFixed(2), r.https.toFixed(2), `${r.wall.toFixed(3)}×`, `${r.cpu.toFixed(3)}×`, r.pass ? 'pass' : 'FAIL']),
        [1, 2, 3, 4],
      ) +
      '\n' +
      (differs ? 'A RESTORED IMAGE DIFFERED FROM THE DISK\n' : ''),
  );
  await mkdir(RESULTS, { recursive: true });
  const file = join(RESULTS, `tls-${new Date().toISOString().replace(/[:.]/g, '-')}-${preset.name}.json`);
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), disk: preset.name, rounds, seed, target: TARGET, ratios: rows, samples }, null, 2)}\n`);
  log(`results in ${file}`);
  if (differs) process.exitCode = 1;
}

await main();
