import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, mkdtemp, open, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------
// Seeded randomness: test data must be the same on every run and machine so a
// failure can be reproduced from its seed.

export interface Prng {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** Uniform integer in [0, bound). */
  int(bound: number): number;
  bytes(length: number): Buffer;
}

function hashSeed(seed: number | string): number {
  // FNV-1a over the seed's text, so nearby seeds (1, 2, 3) still diverge at once.
  let h = 0x811c9dc5;
  for (const ch of String(seed)) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: tiny, fast, and good enough for test data (not for anything secret). */
export function seededRandom(seed: number | string): Prng {
  let state = hashSeed(seed);
  const u32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    u32,
    int(bound: number): number {
      if (!Number.isInteger(bound) || bound < 1) throw new RangeError(`bound must be a positive integer, got ${bound}`);
      // Two draws give 53 bits, enough for offsets into multi-GiB images.
      const value = u32() * 2 ** 21 + (u32() >>> 11);
      return value % bound;
    },
    bytes(length: number): Buffer {
      const buf = Buffer.allocUnsafe(length);
      let i = 0;
      for (; i + 4 <= length; i += 4) buf.writeUInt32LE(u32(), i);
      if (i < length) {
        const last = u32();
        for (let k = 0; i < length; i++, k++) buf[i] = (last >>> (8 * k)) & 0xff;
      }
      return buf;
    },
  };
}

// ---------------------------------------------------------------------------
// Temporary directories.

export async function makeTempDir(prefix = 'cairn-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeTempDir(dir: string): Promise<void> {
  // Guard against a bug handing us '' or '/' and wiping something real.
  const full = resolve(dir);
  if (!full.startsWith(resolve(tmpdir()) + sep)) {
    throw new Error(`refusing to remove ${full}: not under ${tmpdir()}`);
  }
  await rm(full, { recursive: true, force: true });
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await removeTempDir(dir);
  }
}

// ---------------------------------------------------------------------------
// External tools.

const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** e2fsprogs lives in sbin, which a non-login or CI PATH may leave out. */
async function findTool(name: string, pkg = 'e2fsprogs'): Promise<string> {
  const dirs = [...(process.env['PATH'] ?? '').split(':').filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} not found in PATH or ${SBIN_DIRS.join(', ')}; install it with: apt-get install -y ${pkg}`);
}

interface RunResult {
  code: number;
  output: string;
}

async function run(tool: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  const file = await findTool(tool);
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { maxBuffer: 16 * 1024 * 1024, ...(env ? { env } : {}) });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err; // spawn failure, not an exit status
    return { code: e.code, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

// ---------------------------------------------------------------------------
// ext4 images.

export type ImageFiles = Record<string, string | Buffer>;

export interface Ext4FromFiles {
  sizeMiB: number;
  files: ImageFiles;
  /** Seeds the filesystem UUID; defaults to 0. */
  seed?: number;
  /** Image file name inside `dir`; defaults to a fresh `disk-N.img`. */
  name?: string;
}

export interface Ext4FromSeed {
  sizeMiB: number;
  seed: number;
  /** Approximate MiB of file data to generate; defaults to a quarter of the image. */
  dataMiB?: number;
  name?: string;
}

const FIXED_TIME = new Date('2024-01-01T00:00:00Z');
let imageCounter = 0;

/**
 * Files for a seeded image: a small tree mixing incompressible data,
 * compressible text and a duplicated file, so compression, raw storage and
 * dedup are all exercised.
 */
export function seededFiles(seed: number, dataMiB: number): ImageFiles {
  const rng = seededRandom(`files:${seed}`);
  const files: ImageFiles = {};
  const budget = Math.max(1, Math.round(dataMiB * 1024 * 1024));
  let used = 0;
  for (let n = 0; used < budget; n++) {
    const dir = `dir${rng.int(4)}`;
    const size = Math.min(budget - used, 4096 + rng.int(1024 * 1024));
    if (n % 3 === 2) {
      const line = `line ${n} of seed ${seed}: the quick brown fox jumps over the lazy dog\n`;
      files[`${dir}/text-${n}.txt`] = line.repeat(Math.ceil(size / line.length)).slice(0, size);
    } else {
      files[`${dir}/blob-${n}.bin`] = rng.bytes(size);
    }
    used += size;
  }
  const first = Object.entries(files).find(([path]) => path.endsWith('.bin'));
  if (first) files['copies/duplicate.bin'] = first[1];
  return files;
}

function uuidFromSeed(seed: number): string {
  const hex = seededRandom(`uuid:${seed}`).bytes(16).toString('hex');
  // Version 4 / RFC 4122 variant bits, which mke2fs expects of a UUID.
  const v = `4${hex.slice(13, 16)}`;
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${v}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Builds a real ext4 image with mke2fs -d and returns its path. File contents,
 * UUID and hash seed follow the seed; the image bytes are not fully identical
 * across runs because mke2fs 1.47.0 copies the source files' ctimes.
 */
export async function makeExt4Image(dir: string, options: Ext4FromFiles | Ext4FromSeed): Promise<string> {
  const { sizeMiB } = options;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 2) throw new RangeError(`sizeMiB must be an integer >= 2, got ${sizeMiB}`);
  const seed = options.seed ?? 0;
  const files = 'files' in options ? options.files : seededFiles(seed, options.dataMiB ?? sizeMiB / 4);
  const image = join(dir, options.name ?? `disk-${++imageCounter}.img`);
  const srcDir = resolve(await mkdtemp(join(dir, 'src-')));
  try {
    for (const [path, contents] of Object.entries(files)) {
      const full = resolve(srcDir, path);
      if (!full.startsWith(srcDir + sep)) throw new Error(`image file path escapes the image: ${path}`);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, contents);
      await utimes(full, FIXED_TIME, FIXED_TIME);
    }
    const uuid = uuidFromSeed(seed);
    const result = await run(
      'mke2fs',
      ['-q', '-F', '-t', 'ext4', '-U', uuid, '-E', `hash_seed=${uuid}`, '-d', srcDir, image, `${sizeMiB}m`],
      { ...process.env, E2FSPROGS_FAKE_TIME: String(FIXED_TIME.getTime() / 1000) },
    );
    if (result.code !== 0) throw new Error(`mke2fs failed (exit ${result.code}): ${result.output.trim()}`);
  } finally {
    await rm(srcDir, { recursive: true, force: true });
  }
  return image;
}

export interface FsckReport {
  ok: boolean;
  code: number;
  output: string;
}

/** Read-only forced check; ok only for exit status 0 (no problems found). */
export async function fsckReport(image: string): Promise<FsckReport> {
  const { code, output } = await run('e2fsck', ['-fn', image]);
  return { ok: code === 0, code, output };
}

export async function fsck(image: string): Promise<boolean> {
  return (await fsckReport(image)).ok;
}

export const SCRIBBLE_REGION = 64 * 1024;

export interface ScribbleOptions {
  regions: number;
  seed: number;
}

/**
 * Overwrites `regions` distinct, 64 KiB-aligned regions with seeded random
 * bytes, as a stand-in for a disk being written to between backups. Returns the
 * offsets touched, ascending.
 */
export async function scribble(image: string, options: ScribbleOptions): Promise<number[]> {
  const { size } = await stat(image);
  const slots = Math.floor(size / SCRIBBLE_REGION);
  if (options.regions > slots) throw new RangeError(`${options.regions} regions do not fit in ${size} bytes`);
  const rng = seededRandom(`scribble:${options.seed}`);
  const offsets = new Set<number>();
  while (offsets.size < options.regions) offsets.add(rng.int(slots) * SCRIBBLE_REGION);
  const sorted = [...offsets].sort((a, b) => a - b);
  const handle = await open(image, 'r+');
  try {
    for (const offset of sorted) {
      await handle.write(rng.bytes(SCRIBBLE_REGION), 0, SCRIBBLE_REGION, offset);
    }
  } finally {
    await handle.close();
  }
  return sorted;
}

export async function filesEqual(a: string, b: string): Promise<boolean> {
  try {
    await execFileAsync('cmp', ['-s', a, b]);
    return true;
  } catch (err) {
    // cmp exits 1 for "differ" and 2 for trouble (e.g. a missing file).
    if ((err as { code?: unknown }).code === 1) return false;
    throw err;
  }
}

/** Bytes actually allocated on disk (st_blocks × 512), to observe sparseness. */
export async function allocatedBytes(path: string): Promise<number> {
  const st = await stat(path);
  return st.blocks * 512;
}

/** Bytes of the file now in the page cache, as util-linux's fincore (mincore) reports. */
export async function cachedBytes(path: string): Promise<number> {
  const { stdout } = await execFileAsync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]);
  return Number(stdout.trim());
}

/**
 * An ext4 image of a folder as it is (symlinks, hard links, sparse files,
 * modes and times kept by mke2fs -d), for tests that compare what is read
 * back with the tree it was made from.
 */
export async function makeExt4FromTree(image: string, tree: string, sizeMiB: number, type: 'ext2' | 'ext3' | 'ext4' = 'ext4'): Promise<string> {
  const result = await run('mke2fs', ['-q', '-F', '-t', type, '-d', tree, image, `${sizeMiB}m`]);
  if (result.code !== 0) throw new Error(`mke2fs failed (exit ${result.code}): ${result.output.trim()}`);
  return image;
}

/** Where byte `offset` of `path` inside an ext image lies, in file-system blocks, and the block size (debugfs stats and bmap). */
export async function physicalBlockOf(image: string, path: string, offset = 0): Promise<{ block: number; blockSize: number }> {
  const stats = await run('debugfs', ['-R', 'stats', image]);
  const size = Number(/Block size:\s+(\d+)/.exec(stats.output)?.[1]);
  const bmap = await run('debugfs', ['-R', `bmap ${path} ${Math.floor(offset / size)}`, image]);
  const block = Number(/^\d+$/m.exec(bmap.output)?.[0]);
  const blockSize = size;
  if (!block || !blockSize) throw new Error(`debugfs could not map ${path} in ${image}: ${bmap.output} ${stats.output.slice(0, 200)}`);
  return { block, blockSize };
}

/**
 * Writes a GPT onto an existing disk file of 512-byte sectors with util-linux's
 * sfdisk (Debian's fdisk package, which the test command installs): only the
 * label's sectors are written, so data put in place for the partitions stays.
 */
export async function writeGpt(disk: string, partitions: { firstLba: number; lastLba: number; name: string; type?: string }[]): Promise<void> {
  const LINUX_DATA = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
  const script = ['label: gpt', ...partitions.map((p) => `start=${p.firstLba}, size=${p.lastLba - p.firstLba + 1}, type=${p.type ?? LINUX_DATA}, name="${p.name}"`)].join('\n');
  const sfdisk = await findTool('sfdisk', 'fdisk');
  const child = spawn(sfdisk, ['--quiet', '--wipe', 'never', '--wipe-partitions', 'never', '--no-reread', '--no-tell-kernel', disk], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(`${script}\n`);
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`sfdisk could not write a GPT on ${disk} (exit ${code}): ${output}`);
}
