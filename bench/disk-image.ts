import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './measure.js';
import { ByteStream, Rng, seededUuid } from './prng.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/**
 * Bumped whenever the generator's output changes, so that a cached image built
 * by an older generator is never mistaken for the current one.
 */
const GENERATOR_VERSION = 1;

/** Every generated file and folder gets this time, so mke2fs copies the same inode times each build. */
const FIXED_TIME = 1_700_000_000;

export interface DiskPreset {
  name: 'quick' | 'standard' | 'large';
  size: number;
  /** Bytes of files put on the disk, in three equal parts; the rest is free space. */
  dataBytes: number;
}

// 1.2 GiB of 2 GiB, and the same proportion for the other sizes.
const DATA_FRACTION = 0.6;

export const PRESETS: Record<DiskPreset['name'], DiskPreset> = {
  quick: { name: 'quick', size: 256 * MiB, dataBytes: Math.round(256 * MiB * DATA_FRACTION) },
  standard: { name: 'standard', size: 2 * GiB, dataBytes: Math.round(2 * GiB * DATA_FRACTION) },
  large: { name: 'large', size: 8 * GiB, dataBytes: Math.round(8 * GiB * DATA_FRACTION) },
};

export interface DiskImage {
  path: string;
  preset: DiskPreset;
  seed: string;
  sha256: string;
  files: number;
  bytesByKind: Record<FileKind, number>;
  generatorVersion: number;
  mke2fs: string;
  /** Seconds taken to build it, or 0 when it came from the cache. */
  builtIn: number;
}

type FileKind = 'random' | 'text' | 'pages';

const PIECE = 1 * MiB;

async function writeGenerated(path: string, size: number, next: (n: number) => Buffer): Promise<void> {
  const fh = await open(path, 'w', 0o644);
  try {
    for (let at = 0; at < size; at += PIECE) {
      const piece = next(Math.min(PIECE, size - at));
      await fh.write(piece, 0, piece.length, at);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Words drawn Zipf-like from a fixed vocabulary: zstd squeezes it a few times
 * over, roughly like logs and source text, while no two files are alike.
 */
class TextGenerator {
  private readonly words: Buffer[];

  constructor(seed: string) {
    const rng = new Rng(seed, 'vocabulary');
    // Letters by rough English frequency, so common letters dominate as in real text.
    const letters = 'etaoinshrdlcumwfgypbvkjxqz';
    this.words = [];
    for (let i = 0; i < 8192; i++) {
      const length = 1 + Math.floor(11 * rng.float() ** 1.5);
      let w = '';
      for (let k = 0; k < length; k++) w += letters[Math.floor(26 * rng.float() ** 2)];
      this.words.push(Buffer.from(w, 'latin1'));
    }
  }

  fill(rng: Rng, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    const n = this.words.length;
    let at = 0;
    while (at < length) {
      const u = rng.float();
      const word = this.words[Math.floor(n * u * u * u)]!;
      for (let k = 0; k < word.length && at < length; k++) out[at++] = word[k]!;
      if (at >= length) break;
      const r = rng.next32() % 100;
      out[at++] = r < 7 ? 10 : r < 14 ? 46 : 32;
    }
    return out;
  }
}

const PAGE = 4 * KiB;
const PAGE_POOL = 2048;

/**
 * Files made of 4 KiB pages taken from a small shared pool (think VM swap,
 * sparse databases, zero-ish records): each file repeats a few dozen distinct
 * pages, and many files share pages with each other.
 */
class PageGenerator {
  private readonly pool: Buffer;

  constructor(seed: string) {
    this.pool = new ByteStream(seed, 'page-pool').next(PAGE_POOL * PAGE);
  }

  palette(rng: Rng): Buffer[] {
    const count = 4 + rng.int(61);
    return Array.from({ length: count }, () => {
      const p = rng.int(PAGE_POOL);
      return this.pool.subarray(p * PAGE, (p + 1) * PAGE);
    });
  }

  fill(rng: Rng, palette: Buffer[], length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let at = 0; at < length; at += PAGE) palette[rng.int(palette.length)]!.copy(out, at, 0, Math.min(PAGE, length - at));
    return out;
  }
}

/** Sizes drawn log-uniformly until they add up to exactly `budget`. */
function fileSizes(rng: Rng, budget: number, min: number, max: number, align: number): number[] {
  const sizes: number[] = [];
  let left = budget;
  while (left > 0) {
    let size = Math.max(align, Math.round(rng.logUniform(min, max) / align) * align);
    if (size > left) size = left;
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

async function generateTree(root: string, preset: DiskPreset, seed: string): Promise<{ files: number; bytesByKind: Record<FileKind, number> }> {
  const third = Math.floor(preset.dataBytes / 3);
  const bytesByKind: Record<FileKind, number> = { random: third, text: third, pages: preset.dataBytes - 2 * third };
  const layoutRng = new Rng(seed, 'layout');
  const dirs: string[] = [];
  let files = 0;

  const randomSizes = fileSizes(layoutRng, bytesByKind.random, 64 * KiB, 32 * MiB, 1);
  await mkdir(join(root, 'random'), { recursive: true });
  dirs.push(join(root, 'random'));
  for (const [i, size] of randomSizes.entries()) {
    const bytes = new ByteStream(seed, `random:${i}`);
    await writeGenerated(join(root, 'random', `${String(i).padStart(5, '0')}.bin`), size, (n) => bytes.next(n));
    files++;
  }

  const text = new TextGenerator(seed);
  const textSizes = fileSizes(layoutRng, bytesByKind.text, 4 * KiB, 4 * MiB, 1);
  for (const [i, size] of textSizes.entries()) {
    // Folders of 64 files each: the walk of a real tree, not one huge directory.
    const dir = join(root, 'text', String(Math.floor(i / 64)).padStart(3, '0'));
    if (i % 64 === 0) {
      await mkdir(dir, { recursive: true });
      dirs.push(dir);
    }
    const rng = new Rng(seed, `text:${i}`);
    await writeGenerated(join(dir, `${String(i).padStart(5, '0')}.txt`), size, (n) => text.fill(rng, n));
    files++;
  }
  dirs.push(join(root, 'text'));

  const pages = new PageGenerator(seed);
  const pageSizes = fileSizes(layoutRng, bytesByKind.pages, 256 * KiB, 16 * MiB, PAGE);
  await mkdir(join(root, 'pages'), { recursive: true });
  dirs.push(join(root, 'pages'));
  for (const [i, size] of pageSizes.entries()) {
    const rng = new Rng(seed, `pages:${i}`);
    const palette = pages.palette(rng);
    await writeGenerated(join(root, 'pages', `${String(i).padStart(5, '0')}.dat`), size, (n) => pages.fill(rng, palette, n));
    files++;
  }

  // Files first, folders after: writing a file bumps its folder's mtime.
  for (const dir of dirs) {
    for (const name of await readdir(dir)) {
      const p = join(dir, name);
      if ((await stat(p)).isFile()) await utimes(p, FIXED_TIME, FIXED_TIME);
    }
  }
  for (const dir of [...dirs, root]) await utimes(dir, FIXED_TIME, FIXED_TIME);
  return { files, bytesByKind };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(piece as Buffer);
  return hash.digest('hex');
}

/**
 * mke2fs copies each file's ctime, which no one can set on the source tree;
 * debugfs overwrites it afterwards so that two builds are byte-identical.
 */
async function pinChangeTimes(src: string, img: string): Promise<void> {
  const entries = (await readdir(src, { recursive: true })).map((p) => `/${p}`);
  const commands = ['/', ...entries].map((p) => `sif "${p}" ctime @${FIXED_TIME}`).join('\n');
  const file = `${img}.debugfs`;
  await writeFile(file, `${commands}\n`);
  try {
    await run('debugfs', ['-w', '-f', file, img], { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXED_TIME) } });
  } finally {
    await rm(file, { force: true });
  }
}

function cacheKey(preset: DiskPreset, seed: string): string {
  const slug = /^[A-Za-z0-9._-]{1,40}$/.test(seed) ? seed : createHash('sha256').update(seed).digest('hex').slice(0, 16);
  return `disk-${preset.name}-${preset.size / MiB}M-seed-${slug}-g${GENERATOR_VERSION}`;
}

/**
 * The benchmark disk for `preset` and `seed`, built once and then taken from
 * `cacheDir`: generating and formatting it costs far more than any one backup.
 */
export async function ensureImage(preset: DiskPreset, seed: string, cacheDir: string, log: (line: string) => void): Promise<DiskImage> {
  await mkdir(cacheDir, { recursive: true });
  const key = cacheKey(preset, seed);
  const img = join(cacheDir, `${key}.img`);
  const metaPath = join(cacheDir, `${key}.json`);
  // The metadata is written last, so its presence means the image is complete.
  try {
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as DiskImage;
    const st = await stat(img);
    if (st.size === preset.size && meta.generatorVersion === GENERATOR_VERSION) return { ...meta, path: img, builtIn: 0 };
  } catch {
    // Not cached (or only partly): build it below.
  }

  const started = performance.now();
  const src = join(cacheDir, `${key}.src.tmp`);
  const tmpImg = `${img}.tmp`;
  await rm(src, { recursive: true, force: true });
  await rm(tmpImg, { force: true });
  log(`building ${preset.name} disk (${preset.size / MiB} MiB, ${(preset.dataBytes / MiB).toFixed(0)} MiB of files) from seed "${seed}" …`);
  const tree = await generateTree(src, preset, seed);
  const mke2fsVersion = (await run('mke2fs', ['-V'])).stderr.split('\n')[0]?.trim() ?? 'unknown';
  await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-U', seededUuid(seed, 'fs-uuid'), '-E', `hash_seed=${seededUuid(seed, 'hash-seed')},root_owner=0:0`, '-d', src, tmpImg, `${preset.size / KiB}k`], {
    // Makes mke2fs stamp the superblock with a fixed time instead of now.
    env: { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXED_TIME) },
  });
  await pinChangeTimes(src, tmpImg);
  await rm(src, { recursive: true, force: true });
  const size = (await stat(tmpImg)).size;
  if (size !== preset.size) throw new Error(`mke2fs made a ${size}-byte image, expected ${preset.size}`);
  const sha256 = await sha256File(tmpImg);
  await rename(tmpImg, img);
  const image: DiskImage = {
    path: img,
    preset,
    seed,
    sha256,
    files: tree.files,
    bytesByKind: tree.bytesByKind,
    generatorVersion: GENERATOR_VERSION,
    mke2fs: mke2fsVersion,
    builtIn: (performance.now() - started) / 1000,
  };
  await writeFile(metaPath, `${JSON.stringify(image, null, 2)}\n`);
  log(`built ${img} in ${image.builtIn.toFixed(1)} s (sha256 ${sha256.slice(0, 16)}…)`);
  return image;
}

export const REGION_SIZE = 4 * MiB;
export const CHANGE_SIZE = 64 * KiB;
export const CHANGED_FRACTION = 0.02;

export interface DiskChange {
  offset: number;
  length: number;
}

/**
 * The change between the full and the incremental backup: 2% of the 4 MiB
 * regions each get one 64 KiB write, at 4 KiB-aligned offsets as a filesystem
 * would write. Depends only on seed, disk size and round.
 */
export function planChanges(size: number, seed: string, round: number): DiskChange[] {
  const regions = Math.ceil(size / REGION_SIZE);
  const count = Math.max(1, Math.round(regions * CHANGED_FRACTION));
  const rng = new Rng(seed, `changes:${round}`);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(rng.int(regions));
  return [...chosen]
    .sort((a, b) => a - b)
    .map((region) => {
      const regionLength = Math.min(REGION_SIZE, size - region * REGION_SIZE);
      const slots = Math.max(1, Math.floor((regionLength - CHANGE_SIZE) / PAGE) + 1);
      return { offset: region * REGION_SIZE + rng.int(slots) * PAGE, length: Math.min(CHANGE_SIZE, regionLength) };
    });
}

export async function applyChanges(path: string, changes: DiskChange[], seed: string, round: number): Promise<void> {
  const bytes = new ByteStream(seed, `change-data:${round}`);
  const fh = await open(path, 'r+');
  try {
    for (const c of changes) await fh.write(bytes.next(c.length), 0, c.length, c.offset);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
