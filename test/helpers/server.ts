import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer as startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Services } from '../../src/services/index.js';
import { testDatabaseUrl, type TestDatabase } from './db.js';
import { emptyPrefix, S3_BUCKET, S3_ENDPOINT, serverPrefix, serverStoreEnv, TEST_STORE } from './s3.js';

/** dist/test/helpers/ → the repository root, where bin/ is. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CAIRN_BIN = join(ROOT, 'bin', 'cairn.js');

// Generous: on a loaded two-core machine a start takes seconds; these only catch a hang.
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

// A test process that dies (assertion in a hook, timeout, uncaught error) must not
// leave servers behind holding ports, files and database connections.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * The environment for a cairn child process: the developer's own CAIRN_* settings
 * are dropped so that only what a test passes configures the server.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CAIRN_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  }
  return { ...env, ...extra };
}

export interface ServerOptions {
  /** Share a database with the test (for seeding rows or a restart); it is then not dropped by stop(). */
  database?: TestDatabase;
  /** Likewise a data directory; by default a temporary one is made and removed. */
  dataDir?: string;
  registration?: 'open' | 'closed';
  /** Creates or promotes this account to administrator at start (needs `adminPassword` to create it). */
  adminEmail?: string;
  adminPassword?: string;
  /** More `cairn serve` flags. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Keeps all the server printed, not only its tail (for tests that read the whole log). */
  wholeOutput?: boolean;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TestServer {
  url: string;
  dataDir: string;
  database: TestDatabase;
  pid: number;
  /** What the server printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves when the process has exited, however it ended. */
  exited: Promise<Exit>;
  /** Sends a signal and waits for the exit; leaves the data dir and database for a restart. */
  kill(signal?: NodeJS.Signals): Promise<Exit>;
  /**
   * SIGTERM, wait (SIGKILL after 30 s), then remove what this server owns. Safe
   * to call twice and after kill(). Rejects if a SIGTERM stop was not clean.
   */
  stop(): Promise<void>;
}

/** Runs `cairn` with a clean environment and returns its exit code and output. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<Exit & { stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAIRN_BIN, ...args], { cwd: ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      // 'exit' may come before the pipes are drained (a command's last words on stderr lost); 'close' follows once they are.
      child.once('close', () => resolve({ code, signal, stdout, stderr }));
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Starts `cairn serve --port 0` in a child process and waits until it listens. */
export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const ownsDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'cairn-test-data-')));
  const ownsDb = !opts.database;
  let database: TestDatabase;
  try {
    database = opts.database ?? (await testDatabaseUrl());
  } catch (err) {
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const cleanup = async () => {
    if (ownsDb) await database.drop();
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    // The run's store axis (npm test -- --store s3): the server's chunks went to the bucket, under a prefix of its own.
    if (ownsDir && TEST_STORE === 's3') await emptyPrefix(serverPrefix(dataDir));
  };

  const args = [CAIRN_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--database', database.url, '--log-level', 'warn'];
  if (opts.registration) args.push('--registration', opts.registration);
  if (opts.adminEmail) args.push('--admin-email', opts.adminEmail);
  args.push(...(opts.args ?? []));
  const env = childEnv({ ...(TEST_STORE === 's3' ? serverStoreEnv(dataDir) : {}), ...(opts.adminPassword ? { CAIRN_ADMIN_PASSWORD: opts.adminPassword } : {}), ...opts.env });
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);

  let output = '';
  const keep = (d: string) => {
    // The tail is what explains a failure; a chatty server must not grow memory without bound.
    output = opts.wholeOutput ? output + d : (output + d).slice(-64 * 1024);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const onData = (d: string) => {
        seen += d;
        const m = /^cairn listening on (https?:\/\/\S+)$/m.exec(seen);
        if (m) {
          child.stdout!.off('data', onData);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.on('error', reject);
      void exited.then((e) => reject(new Error(`cairn serve exited (code ${e.code}, signal ${e.signal}) before listening:\n${output}`)));
      setTimeout(() => reject(new Error(`cairn serve did not listen within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS).unref();
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await cleanup();
    throw err;
  }

  const signalAndWait = async (signal: NodeJS.Signals): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  let stopping: Promise<void> | null = null;
  return {
    url,
    dataDir,
    database,
    pid: child.pid!,
    output: () => output,
    exited,
    kill: (signal = 'SIGTERM') => signalAndWait(signal),
    stop() {
      stopping ??= (async () => {
        const wasRunning = child.exitCode === null && child.signalCode === null;
        const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        const exit = await signalAndWait('SIGTERM');
        clearTimeout(force);
        await cleanup();
        if (wasRunning && exit.code !== 0)
          throw new Error(`cairn serve did not stop cleanly on SIGTERM (code ${exit.code}, signal ${exit.signal}):\n${output}`);
      })();
      return stopping;
    },
  };
}

export interface InProcessServer {
  url: string;
  dataDir: string;
  database: TestDatabase;
  /** The server's own services, for arranging what no route can create yet (jobs). */
  services: Services;
  stop(): Promise<void>;
}

/**
 * The same server inside the test process: faster to start and its services are
 * at hand, but it shares the test's process, so crash and restart tests use startServer.
 */
export async function startInProcessServer(opts: Omit<ServerOptions, 'args' | 'env'> = {}): Promise<InProcessServer> {
  const ownsDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'cairn-test-data-')));
  const ownsDb = !opts.database;
  const database = opts.database ?? (await testDatabaseUrl());
  const cleanup = async () => {
    if (ownsDb) await database.drop();
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    // The run's store axis (npm test -- --store s3): the server's chunks went to the bucket, under a prefix of its own.
    if (ownsDir && TEST_STORE === 's3') await emptyPrefix(serverPrefix(dataDir));
  };
  const previousPassword = process.env.CAIRN_ADMIN_PASSWORD;
  let running: Awaited<ReturnType<typeof startApp>>;
  try {
    // startServer reads the administrator's password from the environment, as the CLI does.
    if (opts.adminPassword) process.env.CAIRN_ADMIN_PASSWORD = opts.adminPassword;
    const config = loadConfig(
      {
        host: '127.0.0.1',
        port: 0,
        dataDir,
        database: database.url,
        registration: opts.registration,
        adminEmail: opts.adminEmail,
        logLevel: 'warn',
        ...(TEST_STORE === 's3' ? { chunkStore: `s3://${S3_BUCKET}/${serverPrefix(dataDir)}`, s3Endpoint: S3_ENDPOINT ?? '', s3PathStyle: true } : {}),
      },
      TEST_STORE === 's3' ? { AWS_REGION: process.env.AWS_REGION } : {},
    );
    running = await startApp(config);
  } catch (err) {
    await cleanup();
    throw err;
  } finally {
    if (previousPassword === undefined) delete process.env.CAIRN_ADMIN_PASSWORD;
    else process.env.CAIRN_ADMIN_PASSWORD = previousPassword;
  }
  let stopping: Promise<void> | null = null;
  return {
    url: running.url,
    dataDir,
    database,
    services: running.services,
    stop() {
      stopping ??= (async () => {
        try {
          await running.close();
        } finally {
          await cleanup();
        }
      })();
      return stopping;
    },
  };
}
