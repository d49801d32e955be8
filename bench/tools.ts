import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ProcessMeter, run, storedBytes, timed, type Usage } from './measure.js';
import { emptyPrefix, prefixContents, type BenchS3 } from './s3.js';

export type ToolName = 'cairn' | 'restic' | 'borg';
export const TOOL_NAMES: ToolName[] = ['cairn', 'restic', 'borg'];

export type StepName = 'full' | 'incremental' | 'restore';
export const STEPS: StepName[] = ['full', 'incremental', 'restore'];

/** Server-side cost of a step; only Cairn has a server. */
export interface ServerUsage {
  user: number;
  sys: number;
  peakRss: number;
  /** False when the kernel would not reset the peak: it is then the peak since the server started. */
  peakPerStep: boolean;
}

export interface StepCost {
  client: Usage;
  server?: ServerUsage;
}

export interface Tool {
  readonly name: ToolName;
  version(): Promise<string>;
  /** Untimed: a fresh, empty repository (or server) in `dir`. */
  setup(dir: string): Promise<void>;
  backup(kind: 'full' | 'incremental', image: string): Promise<StepCost>;
  /** Restores the latest backup of `image` under `outDir`; returns where the restored image landed. */
  restore(outDir: string, image: string): Promise<StepCost & { restored: string }>;
  /** Bytes the repository takes on disk. */
  stored(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Node's own settings, which an operator's environment may carry but the
 * measured setup does not use. NODE_EXTRA_CA_CERTS makes every node process
 * read and parse the CA bundle it names before it runs anything: on our test
 * VM, whose environment names the system bundle, `node -e 0` took 0.08 s
 * instead of 0.03, on every step of Cairn's and no other tool's. Cairn's
 * client talks plain HTTP to a server on loopback here, where no CA is ever asked.
 */
const NODE_SETTINGS = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];

/** The environment without CAIRN_* (and the like), so an operator's settings cannot leak into the measured setup. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CAIRN_') && !k.startsWith('RESTIC_') && !k.startsWith('BORG_') && !NODE_SETTINGS.includes(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

export class Restic implements Tool {
  readonly name = 'restic';
  private env: NodeJS.ProcessEnv = {};
  private repo = '';

  async version(): Promise<string> {
    return (await run('restic', ['version'])).stdout.trim();
  }

  async setup(dir: string): Promise<void> {
    this.repo = join(dir, 'repo');
    // The cache is restic's default behaviour, but kept out of the measured repository and out of $HOME.
    this.env = cleanEnv({ RESTIC_REPOSITORY: this.repo, RESTIC_PASSWORD: 'cairn-bench', RESTIC_CACHE_DIR: join(dir, 'cache') });
    await run('restic', ['init'], { env: this.env });
  }

  async backup(_kind: 'full' | 'incremental', image: string): Promise<StepCost> {
    return { client: (await timed('restic', ['backup', '--quiet', image], { env: this.env })).usage };
  }

  async restore(outDir: string, image: string): Promise<StepCost & { restored: string }> {
    const r = await timed('restic', ['restore', 'latest', '--target', outDir], { env: this.env });
    // restic recreates the absolute path of what it backed up under the target.
    return { client: r.usage, restored: join(outDir, image) };
  }

  stored(): Promise<number> {
    return storedBytes(this.repo);
  }

  async close(): Promise<void> {}
}

export class Borg implements Tool {
  readonly name = 'borg';
  private env: NodeJS.ProcessEnv = {};
  private repo = '';
  private last = '';

  async version(): Promise<string> {
    return (await run('borg', ['--version'])).stdout.trim();
  }

  async setup(dir: string): Promise<void> {
    this.repo = join(dir, 'repo');
    this.env = cleanEnv({
      BORG_BASE_DIR: join(dir, 'base'),
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
      BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
    });
    await run('borg', ['init', '--encryption', 'none', this.repo], { env: this.env });
  }

  async backup(kind: 'full' | 'incremental', image: string): Promise<StepCost> {
    this.last = kind === 'full' ? 'a' : 'b';
    return { client: (await timed('borg', ['create', '--compression', 'zstd,3', `${this.repo}::${this.last}`, image], { env: this.env })).usage };
  }

  async restore(outDir: string, image: string): Promise<StepCost & { restored: string }> {
    await mkdir(outDir, { recursive: true });
    const r = await timed('borg', ['extract', `${this.repo}::${this.last}`], { env: this.env, cwd: outDir });
    // borg stores paths without their leading "/" and extracts into the working directory.
    return { client: r.usage, restored: join(outDir, image.replace(/^\/+/, '')) };
  }

  stored(): Promise<number> {
    return storedBytes(this.repo);
  }

  async close(): Promise<void> {}
}

/** A build's native helpers (disk I/O; BLAKE3 and the chunk jobs; malloc tuning), which dist/ finds relative to itself. */
const NATIVE_HELPERS = ['disk_io', 'chunk', 'malloc_tuning'] as const;
const nativeHelper = (root: string, name: (typeof NATIVE_HELPERS)[number]): string => join(root, 'build', 'Release', `${name}.node`);
const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/**
 * A private copy of the built CLI and server (dist/src, bin, package.json, the native helpers) for
 * the run: the tree may be rebuilt by someone else while a run takes minutes,
 * and a half-written dist/ would fail or skew the steps that start after it.
 */
export async function snapshotBuild(root: string, into: string): Promise<string> {
  await mkdir(into, { recursive: true });
  await cp(join(root, 'dist', 'src'), join(into, 'dist', 'src'), { recursive: true });
  await cp(join(root, 'bin'), join(into, 'bin'), { recursive: true });
  await cp(join(root, 'package.json'), join(into, 'package.json'));
  for (const name of NATIVE_HELPERS) if (await exists(nativeHelper(root, name))) await cp(nativeHelper(root, name), nativeHelper(into, name));
  // A build copied without its own node_modules resolves its packages from the checkout's.
  const modules = (await exists(join(root, 'node_modules'))) ? join(root, 'node_modules') : join(fileURLToPath(new URL('../..', import.meta.url)), 'node_modules');
  await symlink(modules, join(into, 'node_modules'));
  return into;
}

export interface CairnOptions {
  /** Root of a built tree holding bin/cairn.js. */
  root: string;
  /** The volume is registered with exactly the image's size, as the server insists. */
  diskSize: number;
  /** When set, client and server run under `node --cpu-prof` and write profiles under here. */
  profileDir?: (who: 'client' | 'server') => string | undefined;
  /** Chunks in this bucket, under `prefix` (`--store s3`), instead of the data folder. */
  s3?: { bench: BenchS3; prefix: string };
  /** HTTPS: the server serves this certificate and key, the CLI trusts this CA (bench/tls.ts). */
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** The server seals chunks, manifests and secrets under this key file (`--master-key-file`). */
  masterKeyFile?: string;
}

export class Cairn implements Tool {
  readonly name = 'cairn';
  private server: ChildProcess | undefined;
  private meter: ProcessMeter | undefined;
  private url = '';
  private dataDir = '';
  private env: NodeJS.ProcessEnv = {};
  private volume = '';
  private lastPoint = '';
  private serverLog: string[] = [];

  constructor(private readonly opts: CairnOptions) {}

  private get bin(): string {
    return join(this.opts.root, 'bin', 'cairn.js');
  }

  private nodeArgs(who: 'client' | 'server'): string[] {
    const dir = this.opts.profileDir?.(who);
    return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
  }

  async version(): Promise<string> {
    const missing: string[] = [];
    if (!(await exists(nativeHelper(this.opts.root, 'disk_io')))) missing.push('disk I/O');
    // The chunk addon builds without BLAKE3 or zstd when their sources are missing: ask the build what it runs
    // (builds from before the chunk jobs have no native-pool.js).
    // (builds from before the rooms of issue 26 kept both in dist/src/engine/.)
    const module = (room: string, name: string) => {
      const dir = existsSync(join(this.opts.root, 'dist', 'src', room)) ? room : 'engine';
      return JSON.stringify(pathToFileURL(join(this.opts.root, 'dist', 'src', dir, name)).href);
    };
    const probe = `Promise.all([import(${module('format', 'chunk-hash.js')}), import(${module('compute', 'native-pool.js')}).catch(() => ({ nativeChunkJobs: false }))]).then(([h, p]) => console.log(h.blake3Implementation, p.nativeChunkJobs))`;
    const [blake3, jobs] = (await run(process.execPath, ['-e', probe])).stdout.trim().split(' ');
    if (blake3 !== 'native') missing.push('BLAKE3');
    if (jobs !== 'true') missing.push('chunk jobs');
    const helpers = missing.length ? `WITHOUT its native ${missing.join(', ')} helpers` : 'with its native helpers';
    return `cairn ${(await run(process.execPath, [this.bin, '--version'])).stdout.trim()} on node ${process.version}, ${helpers}`;
  }

  async setup(dir: string): Promise<void> {
    this.dataDir = join(dir, 'data');
    await this.startServer();
    this.env = cleanEnv({ CAIRN_CONFIG: join(dir, 'cli-config.json'), CAIRN_SERVER: this.url, ...(this.opts.tls ? { CAIRN_CA: this.opts.tls.caFile } : {}) });
    const cli = (...args: string[]) => run(process.execPath, [this.bin, ...args], { env: this.env });
    const email = 'bench@example.com';
    const password = 'cairn-bench-password';
    await cli('register', '--email', email, '--password', password);
    await cli('login', '--email', email, '--password', password);
    const created = await cli('--json', 'resource', 'create', '--kind', 'volume', '--name', 'bench', '--disk', `root:${this.opts.diskSize}`);
    this.volume = (JSON.parse(created.stdout) as { resource: { id: string } }).resource.id;
  }

  /** Starts (or restarts, on the same data) the server; with profiling, each start writes its own profile. */
  async startServer(): Promise<void> {
    if (this.server) await this.stopServer();
    // A restart keeps the port: the CLI's stored login is valid only for the URL it was made against.
    const port = this.url ? new URL(this.url).port : '0';
    const store = [...(this.opts.s3 ? this.opts.s3.bench.serveArgs(this.opts.s3.prefix) : []), ...(this.opts.masterKeyFile ? ['--master-key-file', this.opts.masterKeyFile] : [])];
    const tls = this.opts.tls ? ['--tls-cert', this.opts.tls.certFile, '--tls-key', this.opts.tls.keyFile] : [];
    const child = spawn(process.execPath, [...this.nodeArgs('server'), this.bin, 'serve', '--port', port, '--host', '127.0.0.1', '--data-dir', this.dataDir, ...store, ...tls], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.server = child;
    this.serverLog = [];
    const keep = (d: string) => {
      // Only the tail is kept, for error reports; the request log is drained, never buffered whole.
      this.serverLog.push(d);
      if (this.serverLog.length > 50) this.serverLog.shift();
    };
    child.stderr!.setEncoding('utf8').on('data', keep);
    this.url = await new Promise<string>((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => reject(new Error(`cairn serve printed no address within 30 s: ${this.serverLog.join('').slice(-2000)}`)), 30_000);
      const onData = (d: string) => {
        keep(d);
        pending += d;
        const m = /cairn listening on (\S+)/.exec(pending);
        if (m) {
          clearTimeout(timer);
          pending = '';
          resolve(m[1]!);
        } else if (pending.length > 1e6) pending = pending.slice(-1000);
      };
      child.stdout!.setEncoding('utf8').on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`cairn serve exited with ${code} before listening: ${this.serverLog.join('').slice(-2000)}`));
      });
    });
    this.meter = new ProcessMeter(child.pid!);
  }

  /** The running server's process. */
  get serverPid(): number {
    if (!this.server?.pid) throw new Error('cairn server is not running');
    return this.server.pid;
  }

  /** SIGINT, as Ctrl-C would: the server shuts down cleanly, and --cpu-prof writes its profile on the way out. */
  async stopServer(): Promise<void> {
    const child = this.server;
    if (!child) return;
    this.server = undefined;
    this.meter = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  /** The point the last backup made. */
  get point(): string {
    return this.lastPoint;
  }

  /** Any CLI command, measured as the steps are (client under GNU time, the server's CPU and peak memory). */
  command(args: string[]): Promise<StepCost & { stdout: string }> {
    return this.measured(args);
  }

  private async measured(args: string[]): Promise<StepCost & { stdout: string }> {
    const meter = this.meter;
    if (!meter) throw new Error('cairn server is not running');
    meter.resetPeak();
    const before = meter.cpu();
    let r;
    try {
      r = await timed(process.execPath, [...this.nodeArgs('client'), this.bin, ...args], { env: this.env });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nserver log tail:\n${this.serverLog.join('').slice(-3000)}`);
    }
    const after = meter.cpu();
    return {
      stdout: r.stdout,
      client: r.usage,
      server: { user: after.user - before.user, sys: after.sys - before.sys, peakRss: meter.peakRss(), peakPerStep: meter.resettable },
    };
  }

  async backup(kind: 'full' | 'incremental', image: string): Promise<StepCost> {
    const r = await this.measured(['--json', 'backup', this.volume, '--disk', image, ...(kind === 'full' ? ['--full'] : []), '--quiet']);
    this.lastPoint = (JSON.parse(r.stdout) as { point: { id: string } }).point.id;
    return { client: r.client, ...(r.server ? { server: r.server } : {}) };
  }

  async restore(outDir: string): Promise<StepCost & { restored: string }> {
    await mkdir(outDir, { recursive: true });
    const restored = join(outDir, 'disk.img');
    const r = await this.measured(['restore', this.lastPoint, '--to', restored, '--quiet']);
    return { client: r.client, ...(r.server ? { server: r.server } : {}), restored };
  }

  async stored(): Promise<number> {
    if (this.opts.s3) return (await prefixContents(this.opts.s3.bench, this.opts.s3.prefix)).bytes;
    return storedBytes(this.dataDir);
  }

  async close(): Promise<void> {
    await this.stopServer();
    // Memstore (scripts/ceph-rgw.sh) holds every object in RAM: a round's chunks go with it.
    if (this.opts.s3) await emptyPrefix(this.opts.s3.bench, this.opts.s3.prefix);
  }
}
