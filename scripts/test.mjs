#!/usr/bin/env node
// Typecheck and build, lint, then run the compiled test suite once per metadata
// engine (SQLite and PostgreSQL), and close on one plain "N passed, N failed" line.
//
//   npm test                          everything, both engines
//   npm test -- --engine sqlite       one engine (repeat the flag, or use a comma list)
//   npm test -- test/api              only test files under this path prefix
//   npm test -- test/api/authz.test.ts --engine postgres
//   npm test -- --node current,24     on this Node, then on Node 24 (scripts/with-node.mjs)
//   npm test -- --node 24 test/io     only on Node 24
//
// Environment: CI=true makes an unreachable PostgreSQL a failure instead of a loud skip;
// CAIRN_TEST_PG_URL names the server (an admin URL: each test makes and drops its own database);
// CAIRN_TEST_CONCURRENCY overrides how many test files run at once.
//
//   npm test -- test/e2e/backups.test.ts --store s3   the servers keep their chunks in Ceph RGW
//   npm test -- --store folder                        no end-to-end run on RGW
// Without --store, the end-to-end tests (test/e2e) run a third time, on PostgreSQL with the
// servers' chunks in Ceph RGW: the scale-out pair (on the Node running npm test only).
// That axis, a test file that imports test/helpers/s3.js, or --store s3, makes the run start
// Ceph RGW with scripts/ceph-rgw.sh (and stop it after, if this run started it); CI=true makes
// an RGW that cannot start a failure instead of a loud skip.
//
// Run as root on Debian, it first installs the Debian packages the tests call that are missing
// (TEST_PACKAGES: e2fsprogs, fdisk, chromium, fonts-noto-cjk, nginx). A test file that imports
// test/helpers/balancer.js (servers behind nginx) needs nginx; CI=true makes a missing nginx a
// failure instead of a loud skip.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepare, resolveVersion } from './with-node.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENGINES = ['sqlite', 'postgres'];
const PG_URL = process.env.CAIRN_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CI = /^(1|true|yes)$/i.test(process.env.CI ?? '');
// Test files mostly wait on child servers, sockets and scrypt (which runs off the main
// thread), so two at a time fills two cores without making timings flaky.
const CONCURRENCY = Number(process.env.CAIRN_TEST_CONCURRENCY) || Math.max(2, Math.min(4, availableParallelism()));
// Node 20 applies this to each test file as a whole, not only to each test, so it must
// outlast the slowest file: it is there to stop a hang, not to judge speed.
const TEST_TIMEOUT_MS = 600_000;

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);
const red = (s) => (process.stdout.isTTY ? `\x1b[31m${s}\x1b[39m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

function usage(code) {
  say('usage: npm test -- [--engine sqlite|postgres]... [--node current|24]... [--store folder|s3] [path-prefix]...');
  say('  path prefixes are matched against test/…/*.test.ts (dist/ paths and .js also work)');
  say(`  --node: the Node versions to run on (comma list); "current" is this one (${process.version}), the default`);
  process.exit(code);
}

function parseArgs(argv) {
  const engines = [];
  const nodes = [];
  const prefixes = [];
  let store = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage(0);
    else if (a === '--store' || a.startsWith('--store=')) {
      store = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (store !== 'folder' && store !== 's3') usage(2);
    }
    else if (a === '--engine' || a.startsWith('--engine=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) usage(2);
      for (const e of v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
        if (!ENGINES.includes(e)) {
          say(`unknown engine "${e}"; use one of: ${ENGINES.join(', ')}`);
          process.exit(2);
        }
        if (!engines.includes(e)) engines.push(e);
      }
    } else if (a === '--node' || a.startsWith('--node=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) usage(2);
      for (const n of v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
        let version = 'current';
        if (n !== 'current') {
          try {
            version = resolveVersion(n);
          } catch (err) {
            say(err.message);
            process.exit(2);
          }
        }
        // The pinned version may be the one running this script.
        if (`v${version}` === process.version) version = 'current';
        if (!nodes.includes(version)) nodes.push(version);
      }
    } else if (a.startsWith('-')) {
      say(`unknown option ${a}`);
      usage(2);
    } else prefixes.push(normalizePrefix(a));
  }
  return { engines: engines.length ? engines : ENGINES, nodes: nodes.length ? nodes : ['current'], prefixes, store };
}

/** `./dist/test/api/x.test.js` and `test/api/x.test.ts` name the same test. */
function normalizePrefix(p) {
  let s = p.replaceAll('\\', '/').replace(/^\.\//, '');
  if (s.startsWith('dist/')) s = s.slice('dist/'.length);
  return s.replace(/\.js$/, '.ts');
}

/**
 * The sources decide which tests exist: a compiled file whose .ts was deleted
 * would otherwise keep running from a stale dist/.
 */
function findTests(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(full));
    else if (entry.name.endsWith('.test.ts')) out.push(relative(ROOT, full).split(sep).join('/'));
  }
  return out.sort();
}

/** Runs a command with its output buffered, so two can run side by side without mixing. */
function capture(cmd, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => resolve({ code: 127, output: String(err), ms: Date.now() - started }));
    child.on('close', (code) => resolve({ code: code ?? 1, output, ms: Date.now() - started }));
  });
}

async function postgresReachable() {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drops the databases of this run that a killed test process could not drop itself. */
async function dropLeftoverDatabases(runId) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    const { rows } = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`cairn_test_${runId}_%`]);
    for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    return rows.length;
  } catch (err) {
    say(red(`could not sweep test databases: ${err instanceof Error ? err.message : err}`));
    return 0;
  } finally {
    await client.end().catch(() => {});
  }
}

function parseTap(file) {
  const counts = { pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
  if (!existsSync(file)) return counts;
  const text = readFileSync(file, 'utf8');
  for (const key of Object.keys(counts)) {
    // The run's summary is unindented and last; subtests never print these lines.
    const all = [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
    if (all.length) counts[key] = Number(all.at(-1)[1]);
  }
  return counts;
}

// ── Ceph RGW for the S3 chunk store (scripts/ceph-rgw.sh) ──

const CEPH = join(ROOT, 'scripts', 'ceph-rgw.sh');

/** Starts RGW unless it runs; its settings for the tests, whether this run started it, or why it could not. */
async function startRgw() {
  const up = (await capture('bash', [CEPH, 'status'])).code === 0;
  const r = await capture('bash', [CEPH, up ? 'env' : 'start']);
  if (r.code !== 0) return { error: r.output.trim().split('\n').slice(-15).join('\n') };
  const vars = Object.fromEntries([...r.output.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return {
    started: !up,
    env: {
      CAIRN_TEST_S3_ENDPOINT: vars.CAIRN_S3_ENDPOINT,
      CAIRN_TEST_S3_BUCKET: vars.CAIRN_CHUNK_STORE?.replace(/^s3:\/\//, ''),
      AWS_ACCESS_KEY_ID: vars.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: vars.AWS_SECRET_ACCESS_KEY,
      AWS_REGION: vars.AWS_REGION,
    },
  };
}

/** Whether the chosen tests need RGW for themselves: tests of the S3 store. */
const needsRgw = (sources) => sources.some((f) => readFileSync(join(ROOT, f), 'utf8').includes('helpers/s3.js'));

// ── Debian packages the tests call ──

/**
 * mke2fs, e2fsck and debugfs make and check the ext4 disk images (e2fsprogs); sfdisk writes
 * partition tables (fdisk); the console's browser tests drive chromium, whose Chinese pages
 * need a CJK font; nginx balances several servers. Ceph comes with scripts/ceph-rgw.sh.
 */
const TEST_PACKAGES = ['e2fsprogs', 'fdisk', 'chromium', 'fonts-noto-cjk', 'nginx'];

/** Installs the packages of TEST_PACKAGES that are missing, when this runs as root on Debian; else names them. */
async function ensureTestPackages() {
  if (!existsSync('/usr/bin/dpkg-query')) return;
  const missing = [];
  for (const p of TEST_PACKAGES) if (!/install ok installed/.test((await capture('dpkg-query', ['-W', '-f=${Status}', p])).output)) missing.push(p);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    say(red(bold(`!!! Debian packages the tests call are missing: ${missing.join(' ')}; install them (apt-get install -y ${missing.join(' ')}) or run the tests as root`)));
    return;
  }
  say(`apt-get install ${missing.join(' ')}`);
  process.env.DEBIAN_FRONTEND ??= 'noninteractive';
  const install = () => capture('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  let r = await install();
  if (r.code !== 0) {
    // A fresh machine's package lists may be stale or empty.
    await capture('apt-get', ['update', '-qq']);
    r = await install();
  }
  if (r.code !== 0) say(red(bold(`!!! apt-get install ${missing.join(' ')} failed:\n${r.output.trim().split('\n').slice(-10).join('\n')}`)));
}

// ── nginx for the tests of several servers behind a load balancer (test/helpers/balancer.ts) ──

const needsNginx = (engines, sources) => engines.includes('postgres') && sources.some((f) => readFileSync(join(ROOT, f), 'utf8').includes('helpers/balancer.js'));
const nginxPath = () => [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin'].map((d) => join(d, 'nginx')).find((p) => existsSync(p)) ?? null;

/** nginx's path (ensureTestPackages installed it when it could), or why it is missing. */
function ensureNginx() {
  const found = nginxPath();
  if (found) return { path: found };
  return { error: process.getuid?.() === 0 ? 'nginx is not installed, and apt-get install nginx did not install it (see above)' : 'nginx is not installed, and only root can install it: apt-get install -y nginx' };
}

let current = null;
let interrupted = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    // The test runner is in its own process group (so that stray servers can be
    // reaped after it); a Ctrl-C on the terminal does not reach it by itself.
    // The run on another Node is not (its own runner makes that group).
    if (current) {
      try {
        if (current.spawnargs.includes('--test')) process.kill(-current.pid, signal);
        else current.kill(signal);
      } catch {
        /* already gone */
      }
    }
    interrupted = signal;
  });
}

function runNodeTest(engine, files, runId, runTmp, extraEnv = {}) {
  const tap = join(runTmp, `${engine}.tap`);
  const args = [
    '--test',
    `--test-concurrency=${CONCURRENCY}`,
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ];
  const env = {
    ...process.env,
    CAIRN_TEST_DB: engine,
    CAIRN_TEST_PG_URL: PG_URL,
    CAIRN_TEST_RUN_ID: runId,
    ...extraEnv,
    // Temporary files of every test land under one folder that is removed after the run.
    TMPDIR: runTmp,
  };
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], env, detached: true });
    current = child;
    child.on('close', (code, signal) => {
      current = null;
      // Servers a test process failed to stop share the group: end them before
      // their databases are dropped and their folders removed.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* nothing left */
      }
      resolve({ code: code ?? 1, signal, ms: Date.now() - started, ...parseTap(tap) });
    });
  });
}

/**
 * Builds, lints and runs `sources` on the Node running this script, once per
 * engine, the servers' chunks in `store`; with no store chosen, the end-to-end
 * tests run once more on PostgreSQL with their chunks in Ceph RGW, the
 * scale-out pair. Returns the counts.
 */
async function runHere(engines, sources, chosenStore) {
  const store = chosenStore ?? 'folder';
  const files = sources.map((f) => join('dist', f.replace(/\.ts$/, '.js')));
  const axes = engines.map((engine) => ({ name: engine, engine, files, store }));
  const e2e = files.filter((f) => f.startsWith(join('dist', 'test', 'e2e') + sep));
  if (chosenStore === null && engines.includes('postgres') && e2e.length) axes.push({ name: 'postgres + s3', engine: 'postgres', files: e2e, store: 's3' });

  await ensureTestPackages();
  // The browser tests drive the console as the server serves it (web/dist): it is built from web/ first.
  const browser = files.some((f) => f.startsWith(join('dist', 'test', 'browser') + sep));
  say(bold(`▶ typecheck + build (tsc, then the CLI bundle${browser ? ', the console' : ''}) and lint (eslint)`));
  const [npx, npm] = process.platform === 'win32' ? ['npx.cmd', 'npm.cmd'] : ['npx', 'npm'];
  // The end-to-end tests run bin/cairn.js, which is the bundle: it is remade from what tsc just built.
  const build = async () => {
    const tsc = await capture(npx, ['tsc', '-p', 'tsconfig.json']);
    return tsc.code === 0 ? { tsc, bundle: await capture(process.execPath, ['scripts/bundle-cli.mjs']) } : { tsc };
  };
  const buildWeb = async () => (browser ? capture(npm, ['run', 'build:web']) : null);
  const [{ tsc, bundle }, lint, web] = await Promise.all([build(), capture(npx, ['eslint', '.']), buildWeb()]);
  const quiet = (o) => o.split('\n').filter((l) => !/^npm warn /.test(l)).join('\n').trim();
  if (quiet(tsc.output)) say(quiet(tsc.output));
  say(`typecheck: ${tsc.code === 0 ? 'ok' : red('FAILED')} (${seconds(tsc.ms)})`);
  if (bundle && quiet(bundle.output)) say(quiet(bundle.output));
  if (bundle) say(`CLI bundle: ${bundle.code === 0 ? 'ok' : red('FAILED')} (${seconds(bundle.ms)})`);
  if (quiet(lint.output)) say(quiet(lint.output));
  say(`lint: ${lint.code === 0 ? 'ok' : red('FAILED')} (${seconds(lint.ms)})`);
  if (web && web.code !== 0) say(quiet(web.output));
  if (web) say(`console build: ${web.code === 0 ? 'ok' : red('FAILED')} (${seconds(web.ms)})`);
  if (tsc.code !== 0 || bundle?.code !== 0 || (web && web.code !== 0)) {
    say(red('The build failed, so no test ran.'));
    return { pass: 0, fail: 1, skipped: 0 };
  }
  const missing = files.filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length) {
    say(red(`tsc did not produce: ${missing.join(', ')}`));
    return { pass: 0, fail: 1, skipped: 0 };
  }

  const runId = randomBytes(4).toString('hex');
  const results = [];
  let rgw = null;
  if (axes.some((a) => a.store === 's3') || needsRgw(sources)) {
    say('');
    say(bold('▶ Ceph RGW for the S3 chunk store (scripts/ceph-rgw.sh)'));
    rgw = await startRgw();
    if (rgw.error) {
      say(rgw.error);
      say(red(bold(`!!! Ceph RGW could not be started — ${store === 's3' ? 'no test' : 'the S3 store tests'} can run on it`)));
      say(red(bold(CI ? '!!! CI=true: this counts as a failure.' : '!!! See docs/ceph-rgw.md (its packages are installed by a first start as root).')));
      if (CI || store === 's3') results.push({ name: 'ceph-rgw', notRun: true, failedRun: CI, why: 'Ceph RGW did not start' });
    } else say(`RGW at ${rgw.env.CAIRN_TEST_S3_ENDPOINT}, bucket ${rgw.env.CAIRN_TEST_S3_BUCKET}${rgw.started ? '' : ' (already running: left running)'}`);
  }
  if (needsNginx(engines, sources)) {
    const nginx = ensureNginx();
    if (nginx.error) {
      say('');
      say(nginx.error);
      say(red(bold('!!! nginx is missing — the tests of servers behind a load balancer are NOT run')));
      say(red(bold(CI ? '!!! CI=true: this counts as a failure.' : '!!! Install it (apt-get install -y nginx), or run the tests as root.')));
      if (CI) results.push({ name: 'nginx', notRun: true, failedRun: true, why: 'nginx is not installed' });
    }
  }
  for (const axis of axes) {
    if (interrupted) break;
    if (axis.store === 's3' && !rgw?.env) {
      // Under CI the failed start is already counted, once.
      if (axis.store !== store && !CI) results.push({ name: axis.name, notRun: true, failedRun: false, why: 'Ceph RGW did not start' });
      continue;
    }
    if (axis.engine === 'postgres') {
      const why = await postgresReachable();
      if (why) {
        say('');
        say(red(bold(`!!! PostgreSQL is not reachable at ${PG_URL} (${why}) — ${axis.name} tests NOT run`)));
        say(red(bold(CI ? '!!! CI=true: this counts as a failure.' : '!!! Start it (see .ci/run) or set CAIRN_TEST_PG_URL.')));
        results.push({ name: axis.name, notRun: true, failedRun: CI });
        continue;
      }
    }
    say('');
    say(bold(`▶ tests on ${axis.name} (${axis.files.length} files, ${CONCURRENCY} at a time)`));
    const runTmp = mkdtempSync(join(tmpdir(), `cairn-test-${axis.name.replace(/\W+/g, '-')}-`));
    try {
      const env = { ...(rgw?.env ?? {}), ...(axis.store === 's3' ? { CAIRN_TEST_STORE: 's3' } : {}) };
      const r = await runNodeTest(axis.engine, axis.files, runId, runTmp, env);
      if (axis.engine === 'postgres') {
        const swept = await dropLeftoverDatabases(runId);
        if (swept) say(red(`warning: ${swept} test database(s) were left behind by a test and dropped now.`));
      }
      const leftovers = readdirSync(runTmp).filter((f) => !f.endsWith('.tap'));
      if (leftovers.length) say(red(`warning: tests left ${leftovers.length} temporary file(s)/folder(s) behind: ${leftovers.slice(0, 5).join(', ')}`));
      results.push({ name: axis.name, ...r });
    } finally {
      rmSync(runTmp, { recursive: true, force: true });
    }
  }

  if (rgw?.started) {
    const stopped = await capture('bash', [CEPH, 'stop']);
    if (stopped.code !== 0) say(red(`scripts/ceph-rgw.sh stop failed:\n${stopped.output}`));
  }

  say('');
  say(bold('── summary ──'));
  say(`typecheck: ${tsc.code === 0 ? 'ok' : 'FAILED'}`);
  say(`lint: ${lint.code === 0 ? 'ok' : 'FAILED'}`);
  const total = { pass: 0, fail: 0, skipped: 0, todo: 0 };
  // A failed step outside the tests (lint, an engine that could not run under CI, a crashed
  // runner) counts as one failure, so that the closing line never reads "0 failed" on a red run.
  if (lint.code !== 0) total.fail += 1;
  for (const r of results) {
    if (r.notRun) {
      say(`${r.name}: NOT RUN (${r.why ?? 'PostgreSQL unreachable'})${r.failedRun ? ' — a failure under CI' : ''}`);
      if (r.failedRun) total.fail += 1;
      continue;
    }
    const failed = r.fail + r.cancelled;
    const skipped = r.skipped + r.todo;
    total.pass += r.pass;
    total.fail += failed;
    total.skipped += skipped;
    total.todo += r.todo;
    say(`${r.name}: ${r.pass} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
    if (r.code !== 0 && failed === 0) {
      // The runner failed without a failing test to show for it (a file that did not load, a signal).
      say(red(`${r.name}: node --test exited with ${r.signal ?? `code ${r.code}`}`));
      total.fail += 1;
    }
  }
  if (total.todo) say(`(skipped includes ${total.todo} todo: tests of known bugs, see their # TODO notes)`);
  return total;
}

/**
 * Runs this script, with the same engines and paths, in the copy of the checkout that
 * scripts/with-node.mjs installs and builds for Node `version`, and reads its closing line.
 */
async function runOnNode(version, engines, prefixes, store) {
  say('');
  say(bold(`▶ Node ${version}`));
  let ready;
  try {
    ready = prepare(version);
  } catch (err) {
    say(red(`Node ${version} could not be set up: ${err instanceof Error ? err.message : err}`));
    return { pass: 0, fail: 1, skipped: 0 };
  }
  // The end-to-end tests on RGW run once, on the Node running npm test; another Node's run keeps to the folder store.
  const args = ['scripts/test.mjs', '--engine', engines.join(','), '--store', store ?? 'folder', ...prefixes];
  const node = join(ready.nodeDir, 'bin', 'node');
  const started = Date.now();
  const { code, closing } = await new Promise((resolve) => {
    const child = spawn(node, args, { cwd: ready.checkout, env: ready.env, stdio: ['ignore', 'pipe', 'inherit'] });
    current = child;
    let tail = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tail = (tail + d).slice(-4096);
    });
    child.on('error', (err) => say(red(`could not start ${node}: ${err.message}`)));
    child.on('close', (code, signal) => {
      current = null;
      const lines = [...tail.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)];
      resolve({ code: code ?? (signal ? 1 : 0), closing: lines.at(-1) });
    });
  });
  const r = closing ? { pass: Number(closing[1]), fail: Number(closing[2]), skipped: Number(closing[3] ?? 0) } : { pass: 0, fail: 1, skipped: 0 };
  if (!closing) say(red(`Node ${version}: the test run closed without its "N passed, N failed" line`));
  else if (code !== 0 && r.fail === 0) r.fail = 1;
  r.ms = Date.now() - started;
  r.setup = ready.times;
  return r;
}

async function main() {
  const started = Date.now();
  const { engines, nodes, prefixes, store } = parseArgs(process.argv.slice(2));
  const all = findTests(join(ROOT, 'test'));
  const sources = prefixes.length ? all.filter((f) => prefixes.some((p) => f.startsWith(p))) : all;
  if (sources.length === 0) {
    say(red(prefixes.length ? `No test file matches ${prefixes.join(', ')}.` : 'No test files (test/**/*.test.ts) found.'));
    say('0 passed, 1 failed');
    process.exit(1);
  }
  const byNode = [];
  for (const node of nodes) {
    if (interrupted) break;
    if (node === 'current' && nodes.length > 1) say(bold(`▶ Node ${process.version.slice(1)} (the one running npm test)`));
    const r = node === 'current' ? await runHere(engines, sources, store) : await runOnNode(node, engines, prefixes, store);
    byNode.push({ node: node === 'current' ? process.version.slice(1) : node, ...r });
  }
  const total = { pass: 0, fail: 0, skipped: 0 };
  if (byNode.length > 1) {
    say('');
    say(bold('── summary by Node version ──'));
  }
  for (const r of byNode) {
    total.pass += r.pass;
    total.fail += r.fail;
    total.skipped += r.skipped;
    if (byNode.length > 1) {
      const setup = r.setup ? ` (set up in ${seconds(r.setup.install + r.setup.copy + r.setup.npm)}, tests ${seconds(r.ms)})` : '';
      say(`Node ${r.node}: ${r.pass} passed, ${r.fail} failed${r.skipped ? `, ${r.skipped} skipped` : ''}${setup}`);
    }
  }
  if (interrupted) {
    say(red(`interrupted by ${interrupted}`));
    total.fail += 1;
  }
  if (total.pass === 0 && total.fail === 0) {
    say(red('No test ran.'));
    total.fail += 1;
  }
  say(`time: ${seconds(Date.now() - started)}`);
  say(`${total.pass} passed, ${total.fail} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
  process.exit(total.fail > 0 ? 1 : 0);
}

main().catch((err) => {
  say(red(`scripts/test.mjs: ${err?.stack ?? err}`));
  say('0 passed, 1 failed');
  process.exit(1);
});
