import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { filesEqual, makeTempDir, removeTempDir } from './disk-images.js';
import { testDatabaseUrl, type TestDatabase } from './db.js';
import { api, PASSWORD, randomEmail, type Api, type Json } from './http.js';
import { openS3Store, rewriteServerChunk, serverObjects, serverPrefix, TEST_STORE } from './s3.js';
import { CAIRN_BIN, ROOT, childEnv, runCli, startServer, type Exit, type ServerOptions, type TestServer } from './server.js';

const execFileAsync = promisify(execFile);

export const MiB = 1024 * 1024;
export const CHUNK = 4 * MiB;

// ---------------------------------------------------------------------------
// The CLI as a user runs it: one process per command.

export interface CliResult extends Exit {
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON (commands run with --json), else null. */
  json: Json;
}

// Long-running children (agents, backups killed on purpose) must not outlive a test
// process that dies early; runCli's own children are reaped by server.ts.
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

export interface CliProcess {
  pid: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit & { stdout: string; stderr: string }>;
  /** Resolves once stdout or stderr matches, rejects if the process exits first or time runs out. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  kill(signal?: NodeJS.Signals): Promise<Exit & { stdout: string; stderr: string }>;
}

/**
 * One user of the CLI: its own config file, and its token passed in the
 * environment too, so that the same login keeps working when a restarted server
 * comes back on another port (the stored token is only sent to the server it was issued by).
 */
export class Cli {
  token: string | undefined;

  constructor(
    public server: string,
    readonly configPath: string,
    /** More environment for every command (CAIRN_CA for a server of HTTPS). */
    readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {}

  env(): NodeJS.ProcessEnv {
    return { CAIRN_SERVER: this.server, CAIRN_CONFIG: this.configPath, ...(this.token ? { CAIRN_TOKEN: this.token } : {}), ...this.extraEnv };
  }

  /** Runs `cairn --json …` and returns whatever happened. */
  async run(args: string[], opts: { timeoutMs?: number; json?: boolean } = {}): Promise<CliResult> {
    const full = opts.json === false ? args : ['--json', ...args];
    const r = await runCli(full, { env: this.env(), timeoutMs: opts.timeoutMs ?? 60_000 });
    let json: Json = null;
    try {
      json = r.stdout.trim() ? JSON.parse(r.stdout) : null;
    } catch {
      json = null;
    }
    return { ...r, json };
  }

  /** Runs a command that must succeed and returns its JSON answer. */
  async ok(args: string[], opts: { timeoutMs?: number } = {}): Promise<Json> {
    const r = await this.run(args, opts);
    assert.equal(r.code, 0, `cairn ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}${r.stdout}`);
    return r.json;
  }

  /** Runs a command that must fail with this exit code; returns the result for checking the message. */
  async fails(args: string[], code: number, opts: { timeoutMs?: number } = {}): Promise<CliResult> {
    const r = await this.run(args, opts);
    assert.equal(r.code, code, `cairn ${args.join(' ')}: expected exit ${code}, got ${r.code ?? r.signal}:\n${r.stderr}${r.stdout}`);
    assert.match(r.stderr, /^cairn: \S/m, `cairn ${args.join(' ')}: no error message on stderr`);
    return r;
  }

  /** Starts a command in the background (an agent, a backup to be killed). */
  spawn(args: string[], opts: { json?: boolean } = {}): CliProcess {
    const full = opts.json === false ? args : ['--json', ...args];
    const child = spawn(process.execPath, [CAIRN_BIN, ...full], { cwd: ROOT, env: childEnv(this.env()), stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.add(child);
    let out = '';
    let err = '';
    const waiters = new Set<() => void>();
    const poke = () => {
      for (const w of waiters) w();
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      poke();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      poke();
    });
    const exited = new Promise<Exit & { stdout: string; stderr: string }>((resolve) => {
      child.on('exit', (code, signal) => {
        spawned.delete(child);
        // 'exit' may come before the pipes are drained; 'close' follows once they are.
        child.once('close', () => resolve({ code, signal, stdout: out, stderr: err }));
        poke();
      });
    });
    let done = false;
    void exited.then(() => (done = true));
    return {
      pid: child.pid!,
      child,
      stdout: () => out,
      stderr: () => err,
      exited,
      waitFor(re, timeoutMs = 20_000) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => finish(new Error(`cairn ${args.join(' ')}: no output matching ${re} within ${timeoutMs} ms:\n${out}${err}`)), timeoutMs);
          const check = () => {
            const m = re.exec(out) ?? re.exec(err);
            if (m) finish(null, m);
            else if (done || child.exitCode !== null || child.signalCode !== null)
              finish(new Error(`cairn ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${out}${err}`));
          };
          const finish = (e: Error | null, m?: RegExpExecArray) => {
            clearTimeout(timer);
            waiters.delete(check);
            if (e) reject(e);
            else resolve(m!);
          };
          waiters.add(check);
          check();
        });
      },
      async kill(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  }
}

export interface CliUser {
  id: string;
  email: string;
  cli: Cli;
  /** The same account over HTTP, with the token the CLI stored, for polling and raw protocol checks. */
  api(): Api;
}

/** `cairn register` then `cairn login`, as a new user would. */
export async function cliUser(server: string, dir: string, tag: string, opts: { email?: string; password?: string; register?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<CliUser> {
  const email = opts.email ?? randomEmail(tag);
  const password = opts.password ?? PASSWORD;
  const cli = new Cli(server, join(dir, `${tag}-${Math.random().toString(36).slice(2, 8)}.json`), opts.env);
  if (opts.register !== false) await cli.ok(['register', '--email', email, '--password', password]);
  const login = await cli.ok(['login', '--email', email, '--password', password]);
  const config = JSON.parse(await readFile(cli.configPath, 'utf8')) as { token: string };
  cli.token = config.token;
  return { id: login.account.id, email, cli, api: () => api(cli.server).as(config.token) };
}

/** Restores each point with its owner's CLI into `dir` and checks it is, byte for byte, the disk copy kept when it was backed up. */
export async function assertRestoresBitExact(points: Iterable<[string, { user: CliUser; snapshot: string }]>, dir: string): Promise<void> {
  for (const [id, { user, snapshot }] of points) {
    const target = join(dir, `check-${id}.img`);
    await user.cli.ok(['restore', id, '--to', target]);
    assert.ok(await filesEqual(target, snapshot), `point ${id} no longer restores to its source disk`);
  }
}

// ---------------------------------------------------------------------------
// A server that can be killed and started again on the same database and data folder.

export interface RestartableServer {
  current: TestServer;
  readonly url: string;
  readonly dataDir: string;
  readonly database: TestDatabase;
  /** Starts a new process on the same database and folder (after kill or stop of the last). */
  restart(): Promise<TestServer>;
  /** Stops the running process (if any) and removes the database and folder. */
  close(): Promise<void>;
}

export async function startRestartableServer(opts: Omit<ServerOptions, 'database' | 'dataDir'> = {}): Promise<RestartableServer> {
  const database = await testDatabaseUrl();
  let dataDir: string;
  try {
    dataDir = await makeTempDir('cairn-test-data-');
  } catch (err) {
    await database.drop();
    throw err;
  }
  const start = () => startServer({ ...opts, database, dataDir });
  let current: TestServer;
  try {
    current = await start();
  } catch (err) {
    await database.drop();
    await removeTempDir(dataDir);
    throw err;
  }
  return {
    get current() {
      return current;
    },
    get url() {
      return current.url;
    },
    dataDir,
    database,
    async restart() {
      current = await start();
      return current;
    },
    async close() {
      try {
        await current.stop();
      } finally {
        await database.drop();
        await removeTempDir(dataDir);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// The server's chunk store and manifests, seen from outside.

/** Digests of the chunk blobs stored under `<dataDir>/chunks` (ab/cd/abcd… files), or in the bucket on the run's S3 axis. */
export async function storedChunks(dataDir: string): Promise<Set<string>> {
  const out = new Set<string>();
  if (TEST_STORE === 's3') {
    const store = await openS3Store(serverPrefix(dataDir));
    try {
      for await (const o of store.list()) out.add(o.key);
    } finally {
      store.close();
    }
    return out;
  }
  const root = join(dataDir, 'chunks');
  const list = async (dir: string) => readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  for (const a of await list(root))
    for (const b of await list(join(root, a))) for (const name of await list(join(root, a, b))) if (/^[0-9a-f]{64}$/.test(name)) out.add(name);
  return out;
}

export function chunkFile(dataDir: string, digest: string): string {
  return join(dataDir, 'chunks', digest.slice(0, 2), digest.slice(2, 4), digest);
}

/** Flips one bit in the middle of a stored chunk, in the folder or in the bucket (the run's store axis). */
export async function damageChunk(dataDir: string, digest: string): Promise<void> {
  if (TEST_STORE === 's3') {
    return rewriteServerChunk(dataDir, digest, (blob) => {
      blob[Math.floor(blob.length / 2)]! ^= 0x01;
      return blob;
    });
  }
  const file = chunkFile(dataDir, digest);
  const { size } = await stat(file);
  const fh = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, Math.floor(size / 2));
    byte[0] = byte[0]! ^ 0x01;
    await fh.write(byte, 0, 1, Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}

/** Every file under the chunk store (temporary ones included), or every object under the server's prefix, with its size and time. */
export async function chunkStoreFiles(dataDir: string): Promise<Map<string, string>> {
  if (TEST_STORE === 's3') return serverObjects(dataDir);
  const root = join(dataDir, 'chunks');
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const st = await stat(full);
    out.set(relative(root, full), `${st.size} bytes, modified ${st.mtimeMs}`);
  }
  return out;
}

/** Per chunk, its hex digest or null for a hole (docs/formats.md: 24-byte header, then 32 bytes a chunk). */
export function parseManifest(body: Buffer): { size: number; chunks: (string | null)[] } {
  assert.equal(body.subarray(0, 8).toString('latin1'), 'CAIRNMF1', 'manifest magic');
  const size = Number(body.readBigUInt64BE(8));
  const count = body.readUInt32BE(20);
  assert.equal(body.length, 24 + 32 * count, 'manifest length');
  const chunks: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const d = body.subarray(24 + 32 * i, 56 + 32 * i);
    chunks.push(d.every((b) => b === 0) ? null : d.toString('hex'));
  }
  return { size, chunks };
}

export async function fetchManifest(user: CliUser, pointId: string, disk: string): Promise<{ size: number; chunks: (string | null)[] }> {
  const res = await fetch(`${user.cli.server}/api/v1/points/${pointId}/disks/${encodeURIComponent(disk)}/manifest`, { headers: { authorization: `Bearer ${user.cli.token}` } });
  assert.equal(res.status, 200, `manifest of ${pointId}/${disk}: HTTP ${res.status}`);
  return parseManifest(Buffer.from(await res.arrayBuffer()));
}

/** Distinct non-hole digests of a manifest. */
export const digestsOf = (m: { chunks: (string | null)[] }): Set<string> => new Set(m.chunks.filter((d): d is string => d !== null));

// ---------------------------------------------------------------------------
// Polling.

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------
// Disk contents.

/**
 * A seeded stream of incompressible bytes. AES-256-CTR over zeros: as reproducible
 * as the helpers' PRNG and some fifteen times faster, which matters for hundreds of MiB.
 */
export function seededStream(seed: number | string): (length: number) => Buffer {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(`stream:${seed}`).digest(), Buffer.alloc(16));
  return (length) => cipher.update(Buffer.alloc(length));
}

/** Seeded random bytes written over [offset, offset+length) of a file, 4 MiB at a time. */
export async function fillRandom(path: string, offset: number, length: number, seed: number | string): Promise<void> {
  const next = seededStream(`fill:${seed}`);
  const fh = await open(path, 'r+').catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    return open(path, 'w+');
  });
  try {
    for (let done = 0; done < length; done += CHUNK) {
      const n = Math.min(CHUNK, length - done);
      await fh.write(next(n), 0, n, offset + done);
    }
  } finally {
    await fh.close();
  }
}

/** A file of `size` bytes: zeros (sparse), with `randomBytes` seeded random bytes at the start. */
export async function makeRawDisk(path: string, size: number, randomBytes: number, seed: number | string): Promise<string> {
  const fh = await open(path, 'w');
  await fh.truncate(size);
  await fh.close();
  if (randomBytes > 0) await fillRandom(path, 0, randomBytes, seed);
  return path;
}

/** How many of the 4 MiB chunks of two equal-sized files differ: what a rollback has to rewrite. */
export async function differingChunks(a: string, b: string): Promise<number> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  assert.equal(sa.size, sb.size, `${a} and ${b} differ in size`);
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.alloc(CHUNK);
    const bb = Buffer.alloc(CHUNK);
    let n = 0;
    for (let off = 0; off < sa.size; off += CHUNK) {
      const len = Math.min(CHUNK, sa.size - off);
      await fa.read(ba, 0, len, off);
      await fb.read(bb, 0, len, off);
      if (!ba.subarray(0, len).equals(bb.subarray(0, len))) n++;
    }
    return n;
  } finally {
    await fa.close();
    await fb.close();
  }
}

/** Whether [offset, offset+length) of a file reads as zeros (past the end counts as zeros). */
export async function isZeroRange(path: string, offset: number, length: number): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead).every((b) => b === 0);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------
// Changing an ext4 image while keeping it a valid filesystem.

const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

async function tool(name: string): Promise<string> {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN_DIRS]) {
    const candidate = join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} not found in PATH or ${SBIN_DIRS.join(', ')}; install it with: apt-get install -y e2fsprogs`);
}

async function debugfs(image: string, request: string, write = false): Promise<string> {
  const args = [...(write ? ['-w'] : []), '-R', request, image];
  const { stdout, stderr } = await execFileAsync(await tool('debugfs'), args, { maxBuffer: 16 * MiB });
  // debugfs exits 0 even when the request failed; its complaints go to stderr after the banner.
  const complaint = stderr.split('\n').filter((l) => l.trim() && !/^debugfs \d/.test(l) && !/^Allocated inode/.test(l));
  if (complaint.length) throw new Error(`debugfs ${args.join(' ')}: ${complaint.join('\n')}`);
  return stdout;
}

/** Copies a host file into the image (a new file in its root directory), the way the kernel would allocate it. */
export async function writeFileIntoImage(image: string, hostFile: string, name: string): Promise<void> {
  await debugfs(image, `write ${hostFile} ${name}`, true);
}

/**
 * Overwrites `bytes` bytes of a file's data inside the image, in place, with
 * seeded random bytes: its data changes, the filesystem's metadata does not, so
 * the image stays clean for e2fsck. Returns the disk offsets written.
 */
export async function overwriteFileData(image: string, path: string, opts: { bytes: number; seed: number | string; skipBytes?: number }): Promise<number[]> {
  const blockSize = Number(/Block size:\s+(\d+)/.exec(await debugfs(image, 'stats'))?.[1]);
  assert.ok(blockSize > 0, 'block size of the image');
  const blocks = (await debugfs(image, `blocks ${path}`)).trim().split(/\s+/).filter(Boolean).map(Number);
  const skip = Math.floor((opts.skipBytes ?? 0) / blockSize);
  const count = Math.ceil(opts.bytes / blockSize);
  assert.ok(blocks.length >= skip + count, `${path} has ${blocks.length} blocks, fewer than ${skip + count}`);
  const next = seededStream(`overwrite:${opts.seed}`);
  const fh = await open(image, 'r+');
  const offsets: number[] = [];
  try {
    for (const block of blocks.slice(skip, skip + count)) {
      offsets.push(block * blockSize);
      await fh.write(next(blockSize), 0, blockSize, block * blockSize);
    }
  } finally {
    await fh.close();
  }
  return offsets;
}

/** Files for an image that is mostly incompressible data (so stored bytes track changed chunks). */
export function randomFiles(seed: number, count: number, each: number): Record<string, Buffer | string> {
  const next = seededStream(`random-files:${seed}`);
  const files: Record<string, Buffer | string> = { 'README.txt': `image ${seed}: ${count} files of ${each} bytes\n` };
  for (let i = 0; i < count; i++) files[`data/file-${String(i).padStart(3, '0')}.bin`] = next(each);
  return files;
}
