import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testDatabaseUrl, testEngine, type TestDatabase } from './db.js';
import { CI } from './ci.js';
import { freePort } from './ports.js';
import { emptyPrefix, serverPrefix, serverStoreEnv, TEST_STORE } from './s3.js';
import { ROOT, startServer, type ServerOptions, type TestServer } from './server.js';

/**
 * nginx as the load balancer in front of several `cairn serve` processes, run
 * from the configuration docs/deploy.md points operators to. A test file that
 * imports this helper makes the test command install nginx when it is missing
 * (scripts/test.mjs, as root).
 */
export const NGINX_TEMPLATE = join(ROOT, 'scripts', 'nginx-balancer.conf');
const START_TIMEOUT_MS = 30_000;

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function findNginx(): Promise<string | null> {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin']) {
    const candidate = join(dir, 'nginx');
    if (await access(candidate, fsConstants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}

/**
 * Whether this run can put servers behind a balancer: nginx is installed, and the
 * servers share PostgreSQL (several servers on one SQLite file is not a deployment
 * Cairn supports). A missing nginx fails under CI=true, as PostgreSQL does.
 */
export async function needBalancer(t: TestContext): Promise<boolean> {
  if (testEngine() !== 'postgres') {
    t.skip('several servers behind a balancer run on PostgreSQL only');
    return false;
  }
  if (await findNginx()) return true;
  if (CI) throw new Error('nginx is not installed: `apt-get install -y nginx` (scripts/test.mjs does it when run as root; .ci/run installs it).');
  t.skip('nginx is not installed (apt-get install -y nginx; `npm test` as root installs it)');
  return false;
}

export interface Balancer {
  url: string;
  /** nginx's folder: its configuration, logs and temporary files. */
  dir: string;
  /** The access log so far: one line per request, with the server that took it. */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

/** The configuration the tests run: scripts/nginx-balancer.conf with its fields filled in. */
export async function nginxConfig(dir: string, listen: string, upstreams: string[]): Promise<string> {
  const servers = upstreams.map((u) => `server ${new URL(u).host} max_fails=1 fail_timeout=10s;`).join('\n    ');
  const template = await readFile(NGINX_TEMPLATE, 'utf8');
  return template.replaceAll('@PREFIX@', dir).replaceAll('@LISTEN@', listen).replaceAll('@SERVERS@', servers);
}

/** Starts nginx in the foreground on a free 127.0.0.1 port, round-robin over `upstreams` (http://host:port). */
export async function startBalancer(upstreams: string[]): Promise<Balancer> {
  const nginx = await findNginx();
  if (!nginx) throw new Error('nginx is not installed: apt-get install -y nginx');
  const dir = await mkdtemp(join(tmpdir(), 'cairn-test-nginx-'));
  // The 'exit' of an nginx that could not bind (another program took the port in between) is retried on a new port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(join(dir, 'nginx.conf'), await nginxConfig(dir, `127.0.0.1:${port}`, upstreams));
    // As root, nginx's workers would drop to `nobody`, who cannot enter this run's private temporary folder.
    const globals = `daemon off;${process.getuid?.() === 0 ? ' user root;' : ''}`;
    const child = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', globals], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<void>((resolve) => child.on('exit', () => (live.delete(child), resolve())));
    const listening = await waitForPort(port, () => child.exitCode !== null || child.signalCode !== null);
    if (listening) {
      return {
        url: `http://127.0.0.1:${port}`,
        dir,
        accessLog: () => readFile(join(dir, 'access.log'), 'utf8').catch(() => ''),
        async stop() {
          // Fast shutdown: a graceful one would wait for open chunk streams.
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(force);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    if (attempt >= 3 || !/Address already in use/.test(log + output)) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start on 127.0.0.1:${port}:\n${output}${log}`);
    }
  }
}

async function waitForPort(port: number, gone: () => boolean): Promise<boolean> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !gone()) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await sleep(50);
  }
  return false;
}

export interface Cluster {
  /** The balancer's address: what clients are given. */
  url: string;
  servers: TestServer[];
  balancer: Balancer;
  database: TestDatabase;
  /** The one chunk folder (or, with --store s3, the one bucket prefix) every server uses. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * `count` servers on one new database and one chunk store, behind nginx: the
 * scale-out deployment of docs/deploy.md. They trust the balancer's
 * X-Forwarded-For, as the deployment's servers do.
 */
export async function startCluster(count: number, opts: Omit<ServerOptions, 'database' | 'dataDir'> = {}): Promise<Cluster> {
  const database = await testDatabaseUrl();
  const dataDir = await mkdtemp(join(tmpdir(), 'cairn-test-shared-'));
  const servers: TestServer[] = [];
  let balancer: Balancer | undefined;
  const stop = async () => {
    try {
      await balancer?.stop();
      await Promise.all(servers.map((s) => s.stop()));
    } finally {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
      if (TEST_STORE === 's3') await emptyPrefix(serverPrefix(dataDir));
    }
  };
  try {
    // One after the other: the first migrates the new database, the next find it done.
    for (let i = 0; i < count; i++) {
      servers.push(
        await startServer({
          ...opts,
          database,
          dataDir,
          args: ['--trust-proxy', '127.0.0.1', ...(opts.args ?? [])],
          // startServer gives each data folder a bucket prefix of its own; these share one.
          env: { ...(TEST_STORE === 's3' ? serverStoreEnv(dataDir) : {}), ...opts.env },
        }),
      );
    }
    balancer = await startBalancer(servers.map((s) => s.url));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: balancer.url, servers, balancer, database, dataDir, stop };
}
